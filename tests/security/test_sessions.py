"""ASVS 5.0 chapter V7 (Session management): new session at sign-in, termination at
closure, re-authentication before sensitive changes.

Idle (V7.3.1), absolute (V7.3.2) limits and logout (V7.4.1): tests/portal/test_sessions.py.
"""

import time

import pytest
from django.contrib.sessions.models import Session

from contacts.models import Contact
from customers.services import organization_set_status
from tests.conftest import PASSWORD, sign_in
from tests.customers.factories import make_staff

pytestmark = pytest.mark.django_db


def test_v7_2_4_sign_in_replaces_the_anonymous_session(client, user):
    """V7.2.4: a session that existed before sign-in (fixation attempt) is not the one
    that becomes authenticated; the old key no longer exists server-side."""
    session = client.session
    session["probe"] = "planted"
    session.save()
    planted = session.session_key
    assert Session.objects.filter(session_key=planted).exists()

    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert client.session.session_key != planted
    assert client.session["_auth_user_id"] == str(user.pk)
    assert not Session.objects.filter(session_key=planted).exists()


def test_v7_4_2_closing_an_organization_signs_its_people_out_on_the_next_request(tenants, client):
    """V7.4.2: when an account is closed, its signed-in users are signed out at once."""
    sign_in(client, tenants.bob.user)
    assert client.get("/").status_code == 200
    organization_set_status(
        organization=tenants.org_a,
        status="closed",
        staff_user=make_staff(),
        reason="Contract ended",
    )
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert "_auth_user_id" not in client.session


# --- V7.5.1 Re-authentication before sensitive changes ------------------------------------


def _stale(client, user):
    """Signed in, but the password was entered longer ago than the re-auth timeout."""
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time() - 3600, "email": user.email}
    ]
    session.save()
    return client


def test_v7_5_1_email_change_is_not_available(client, user):
    """V7.5.1: the sign-in e-mail cannot be changed from the portal (ACCOUNT_CHANGE_EMAIL
    is off and the address-management page is not routed)."""
    client.force_login(user)
    response = client.post("/accounts/email/", {"action_add": "", "email": "new@example.com"})
    assert response.status_code == 404
    user.refresh_from_db()
    assert user.email != "new@example.com"


def test_v7_5_1_activating_an_authenticator_asks_for_the_password_again(client, user):
    """V7.5.1: MFA changes (allauth) need a recent password entry."""
    _stale(client, user)
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")


def test_v7_5_1_changing_roles_asks_for_the_password_again(tenants, client):
    """V7.5.1: role changes need a recent password entry; nothing changes before it."""
    _stale(client, tenants.alice.user)
    response = client.post(
        f"/organization/users/{tenants.bob.public_id}/",
        {"roles": ["finance", "technical"], "is_admin": "on"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    bob = Contact.objects.get(pk=tenants.bob.pk)
    assert bob.roles == ["technical"] and not bob.is_admin
