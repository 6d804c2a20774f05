import factory

from contacts.models import Contact, Organization
from contacts.roles import Role
from tests.accounts.factories import UserFactory


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    account_number = factory.Sequence(lambda n: f"ACC-{n:05d}")
    currency = "USD"
    language = "en"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    roles = factory.LazyFunction(lambda: [Role.FINANCE])
    is_admin = False
