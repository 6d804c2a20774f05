import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from contacts import services
from contacts.models import ActivityEvent, Contact, Invitation
from contacts.roles import Role
from tests.accounts.factories import UserFactory
from tests.conftest import sign_in


def _invite(client, **data):
    payload = {"email": "new.person@example.com", "roles": ["finance"], **data}
    return client.post(reverse("contacts:user_invite"), payload)


def _token_from(message) -> str:
    return re.search(r"/organization/invitation/([^/\s]+)/", message.body).group(1)


@pytest.fixture
def invited(tenants, client, django_capture_on_commit_callbacks):
    sign_in(client, tenants.alice.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(client)
    assert response.status_code == 302
    return _token_from(mail.outbox[-1])


def test_invitation_is_emailed_with_a_strong_single_use_token(invited, tenants):
    invitation = Invitation.objects.get()
    assert len(invited) >= 40  # token_urlsafe(32): 256 bits.
    assert invitation.token_hash != invited  # Only the hash is stored.
    assert mail.outbox[-1].to == ["new.person@example.com"]
    assert ActivityEvent.objects.filter(verb="invited", organization=tenants.org_a).exists()


def test_new_person_signs_up_and_joins_with_the_invited_roles(invited, client, tenants):
    client.logout()
    accept_url = reverse("contacts:invitation_accept", args=[invited])
    assert client.get(accept_url).status_code == 302  # To sign-in / sign-up.
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new.person@example.com",
            "password1": "a-long-enough-test-password",
            "password2": "a-long-enough-test-password",
            "next": accept_url,
        },
    )
    assert response.status_code == 302
    response = client.post(accept_url)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    contact = Contact.objects.get(user__email="new.person@example.com")
    assert contact.organization == tenants.org_a and contact.roles == ["finance"]


def test_sign_up_with_another_address_is_refused(invited, client):
    client.logout()
    client.get(reverse("contacts:invitation_accept", args=[invited]))
    response = client.post(
        "/accounts/signup/",
        {
            "email": "intruder@example.com",
            "password1": "a-long-enough-test-password",
            "password2": "a-long-enough-test-password",
        },
    )
    assert response.status_code == 200
    assert b"invitation was sent to" in response.content
    assert not Contact.objects.filter(user__email="intruder@example.com").exists()


def test_invitation_cannot_be_used_twice(invited, tenants):
    user = UserFactory(email="new.person@example.com")
    services.invitation_accept(token=invited, user=user)
    with pytest.raises(services.ContactError):
        services.invitation_accept(token=invited, user=user)
    assert Contact.objects.filter(user=user).count() == 1


def test_expired_invitation_is_refused(invited):
    user = UserFactory(email="new.person@example.com")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
    with time_machine.travel(later), pytest.raises(services.ContactError):
        services.invitation_accept(token=invited, user=user)
    assert not Contact.objects.filter(user=user).exists()


def test_revoked_invitation_is_refused(invited, tenants, client):
    invitation = Invitation.objects.get()
    response = client.post(reverse("contacts:invitation_revoke", args=[invitation.public_id]))
    assert response.status_code == 302
    user = UserFactory(email="new.person@example.com")
    with pytest.raises(services.ContactError):
        services.invitation_accept(token=invited, user=user)
    assert not Contact.objects.filter(user=user).exists()


def test_resend_replaces_the_link(invited, client, django_capture_on_commit_callbacks):
    invitation = Invitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contacts:invitation_resend", args=[invitation.public_id]))
    new_token = _token_from(mail.outbox[-1])
    assert new_token != invited
    user = UserFactory(email="new.person@example.com")
    with pytest.raises(services.ContactError):
        services.invitation_accept(token=invited, user=user)
    services.invitation_accept(token=new_token, user=user)


def test_invitation_for_another_address_is_refused(invited):
    with pytest.raises(services.ContactError):
        services.invitation_accept(token=invited, user=UserFactory(email="other@example.com"))


def test_admin_cannot_grant_a_role_they_do_not_hold(tenants, client):
    tenants.fin.is_admin = True
    tenants.fin.save()
    sign_in(client, tenants.fin.user)
    response = _invite(client, roles=["finance", "technical"])
    assert response.status_code == 200
    assert b"only grant roles you hold" in response.content
    assert not Invitation.objects.exists()


def test_non_admin_cannot_invite(tenants, client):
    sign_in(client, tenants.bob.user)
    assert _invite(client).status_code == 403
    assert not Invitation.objects.exists()


def test_invalid_email_gets_a_clear_error(tenants, client):
    sign_in(client, tenants.alice.user)
    response = _invite(client, email="not-an-email")
    assert response.status_code == 200
    assert b"Enter a valid email address" in response.content
    assert not Invitation.objects.exists()


def test_invite_requires_recent_authentication(tenants, client):
    sign_in(client, tenants.alice.user, fresh=False)
    response = _invite(client)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not Invitation.objects.exists()


def test_removing_the_last_admin_is_refused(tenants, client):
    sign_in(client, tenants.alice.user)
    response = client.post(reverse("contacts:user_remove", args=[tenants.alice.public_id]))
    assert response.status_code == 302
    tenants.alice.refresh_from_db()
    assert tenants.alice.removed_at is None


def test_demoting_the_last_admin_is_refused(tenants):
    with pytest.raises(services.ContactError):
        services.contact_change_roles(
            actor=tenants.alice, contact=tenants.alice, roles=["finance"], is_admin=False
        )
    tenants.alice.refresh_from_db()
    assert tenants.alice.is_admin


def test_removal_ends_access_and_sessions(tenants, client, django_capture_on_commit_callbacks):
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("home")).context["current_organization"] == tenants.org_a
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_remove(actor=tenants.alice, contact=tenants.bob)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_removal_from_one_of_two_organizations_keeps_the_other(tenants, client):
    from tests.contacts.factories import ContactFactory

    ContactFactory(organization=tenants.org_b, user=tenants.bob.user, roles=["technical"])
    sign_in(client, tenants.bob.user)
    services.contact_remove(actor=tenants.alice, contact=tenants.bob)
    assert client.get(reverse("home")).context["current_organization"] == tenants.org_b


def test_role_change_is_recorded(tenants, client):
    sign_in(client, tenants.alice.user)
    response = client.post(
        reverse("contacts:user_edit", args=[tenants.bob.public_id]),
        {"roles": ["technical", "executive"]},
    )
    assert response.status_code == 302
    tenants.bob.refresh_from_db()
    assert tenants.bob.roles == [Role.TECHNICAL, Role.EXECUTIVE]
    assert ActivityEvent.objects.filter(verb="roles_changed", target=tenants.bob.user.email)


def test_posting_extra_fields_changes_nothing(tenants, client):
    sign_in(client, tenants.alice.user)
    client.post(
        reverse("contacts:user_edit", args=[tenants.bob.public_id]),
        {
            "roles": ["technical"],
            "organization": tenants.org_b.pk,
            "is_staff": "on",
            "user": tenants.charlie.user.pk,
        },
    )
    tenants.bob.refresh_from_db()
    assert tenants.bob.organization == tenants.org_a
    assert tenants.bob.user.is_staff is False


def test_closed_organization_cannot_invite(tenants, client):
    tenants.org_a.status = "closed"
    tenants.org_a.save()
    sign_in(client, tenants.alice.user)
    response = _invite(client)
    assert response.status_code == 403
    assert b"account is closed" in response.content
    assert not Invitation.objects.exists()
    # Reading still works, with the notice on the page.
    page = client.get(reverse("contacts:users"))
    assert page.status_code == 200 and b"This account is closed" in page.content
