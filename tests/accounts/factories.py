import factory

from accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", "a-long-enough-test-password")

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()
