import pytest
from django.urls import reverse

from accounts.models import User


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "phrase"),
    [("pt-br", "Painel"), ("fr", "Tableau de bord"), ("de", "Übersicht")],
)
def test_switching_language_is_saved_on_the_user(signed_in_client, user, language, phrase):
    response = signed_in_client.post(
        reverse("accounts:language"), {"language": language, "next": "/"}, follow=True
    )
    assert phrase in response.content.decode()
    assert User.objects.get(pk=user.pk).language == language


@pytest.mark.django_db
def test_unknown_language_changes_nothing(signed_in_client, user):
    signed_in_client.post(reverse("accounts:language"), {"language": "xx", "next": "/"})
    assert User.objects.get(pk=user.pk).language == "en"


@pytest.mark.django_db
def test_language_switch_refuses_open_redirect(client):
    response = client.post(
        reverse("accounts:language"), {"language": "fr", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_saved_language_follows_the_user_to_a_new_browser(client, user):
    user.language = "de"
    user.save()
    client.force_login(user)
    assert "Übersicht" in client.get("/").content.decode()


@pytest.mark.django_db
def test_profile_saves_name_and_language(signed_in_client, user):
    response = signed_in_client.post(
        reverse("accounts:profile"), {"name": "Ada Lovelace", "language": "fr"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.name, user.language) == ("Ada Lovelace", "fr")


@pytest.mark.django_db
def test_profile_ignores_privilege_fields(signed_in_client, user):
    signed_in_client.post(
        reverse("accounts:profile"),
        {"name": "X", "language": "en", "is_staff": "on", "is_superuser": "on"},
    )
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
