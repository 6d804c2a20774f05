import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.accounts.factories import UserFactory
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def _post_login(client, email, password):
    return client.post(LOGIN, {"login": email, "password": password})


@pytest.mark.django_db
def test_sign_in_with_password_lands_on_dashboard(client, user):
    response = _post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_sign_in_gives_a_new_session_id(client, user):
    client.get(LOGIN)
    client.session["probe"] = "x"
    before = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    _post_login(client, user.email, PASSWORD)
    assert client.cookies["sessionid"].value != before


@pytest.mark.django_db
def test_sixth_wrong_password_locks_even_the_right_one(client, user):
    for _ in range(5):
        response = _post_login(client, user.email, "wrong-password-123")
        assert response.status_code == 200
    response = _post_login(client, user.email, PASSWORD)
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert b"Too many failed login attempts" in response.content


@pytest.mark.django_db
def test_unknown_email_answer_matches_known_email(client, user):
    def normalised(response):
        text = response.content.decode()
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
        return text.replace(user.email, "EMAIL").replace("nobody@example.com", "EMAIL")

    known = _post_login(client, user.email, "wrong-password-123")
    unknown = _post_login(client, "nobody@example.com", "wrong-password-123")
    assert known.status_code == unknown.status_code == 200
    assert normalised(known) == normalised(unknown)


@pytest.mark.django_db
def test_sign_in_by_emailed_code(client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/login/code/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[0].body, re.M).group(1)
    response = client.post(response["Location"], {"code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_code_for_unknown_email_sends_no_code_and_looks_the_same(
    client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/accounts/login/code/", {"email": user.email})
        unknown = client.post("/accounts/login/code/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    codes = [m for m in mail.outbox if re.search(r"^\s*[A-Z0-9]{4}-[A-Z0-9]{4}\s*$", m.body, re.M)]
    assert [m.to for m in codes] == [[user.email]]


@pytest.mark.django_db
def test_there_is_no_open_sign_up(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
    from accounts.models import User

    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_email_is_case_insensitive_identity(client):
    UserFactory(email="mixed@example.com")
    assert _post_login(client, "MIXED@Example.com", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
