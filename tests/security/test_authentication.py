"""ASVS 5.0 chapter V6 (Authentication): password policy, brute-force limits, account
enumeration, e-mailed sign-in codes and MFA across password reset.

See README.md in this folder for the controls proved by tests elsewhere.
"""

import datetime as dt
import re

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError

from tests.accounts.factories import UserFactory
from tests.conftest import PASSWORD
from tests.e2e.helpers import CODE_PATTERN, totp_code

LOGIN = "/accounts/login/"
LOGIN_CODE = "/accounts/login/code/"
CONFIRM_CODE = "/accounts/login/code/confirm/"
RESET = "/accounts/password/reset/"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"

pytestmark = pytest.mark.django_db


def _login(client, email, password, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, **extra)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- V6.2 Password security ---------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["eleven-char", "password1234", "qwerty123456", "123456789012345"],
    ids=["short", "common", "common-keyboard", "numeric"],
)
def test_v6_2_1_and_v6_2_4_short_and_common_passwords_are_refused(password):
    """V6.2.1 (at least 8, here 12 characters) and V6.2.4 (common passwords refused)."""
    with pytest.raises(ValidationError):
        validate_password(password)


def test_v6_2_9_a_200_character_password_signs_in_through_the_login_form(client):
    """V6.2.9: passwords of at least 64 characters are permitted — end to end, not only
    by the validator: set, then typed into the real sign-in form."""
    password = "Long and memorable passphrase; " * 6 + "ok!!!!!!!!!!!!"
    password = password[:200]
    assert len(password) == 200
    validate_password(password)
    user = UserFactory()
    user.set_password(password)
    user.save()
    assert _login(client, user.email, password).status_code == 302
    assert _signed_in(client)
    client.logout()
    # Not truncated: the same password missing its last character is wrong.
    _login(client, user.email, password[:-1])
    assert not _signed_in(client)


# --- V6.3.1 Brute force: per e-mail and per IP -------------------------------------------


def test_v6_3_1_the_per_email_limit_holds_across_client_ips(client, user):
    """V6.3.1: five wrong passwords lock the e-mail, whatever address they came from."""
    for n in range(5):
        _login(client, user.email, "wrong-password-123", REMOTE_ADDR=f"10.9.0.{n + 1}")
    response = _login(client, user.email, PASSWORD, REMOTE_ADDR="10.9.1.1")
    assert not _signed_in(client)
    assert b"Too many failed login attempts" in response.content


def test_v6_3_1_the_per_ip_limit_is_not_reset_by_a_spoofed_x_forwarded_for(client, user):
    """V6.3.1 / V4.1.3: with TRUSTED_PROXY_COUNT=0 the per-IP limit (20 failures a minute)
    keys on REMOTE_ADDR; a different X-Forwarded-For on every request resets nothing."""
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0
    limit = 20
    for n in range(limit):
        # A new e-mail every time, so only the per-IP limit can trip.
        response = _login(
            client,
            f"guess{n}@example.com",
            "wrong-password-123",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}",
        )
        assert response.status_code == 200
    response = _login(client, user.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert not _signed_in(client)
    assert b"Too many failed login attempts" in response.content
    # Another client address is a different bucket: the limit is per IP, not global.
    assert _login(client, user.email, PASSWORD, REMOTE_ADDR="192.0.2.50").status_code == 302


# --- V6.3.8 No account enumeration --------------------------------------------------------


def _strip_volatile(text: str, *secrets: str) -> str:
    from urllib.parse import quote

    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    for secret in secrets:
        text = text.replace(secret, "EMAIL").replace(quote(secret, safe=""), "EMAIL")
    return text


def test_v6_3_8_password_reset_looks_and_mails_the_same_for_known_and_unknown(
    client, user, django_capture_on_commit_callbacks
):
    """V6.3.8: the reset answer is identical, and both addresses get one e-mail (the unknown
    one a 'no account here' notice), so the requester's mailbox tells nothing either."""
    unknown = "nobody-here@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        known_response = client.post(RESET, {"email": user.email})
        unknown_response = client.post(RESET, {"email": unknown})
    assert known_response.status_code == unknown_response.status_code == 302
    assert known_response["Location"] == unknown_response["Location"]
    done_known = client.get(known_response["Location"]).content.decode()
    assert [m.to for m in mail.outbox] == [[user.email], [unknown]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body
    assert _strip_volatile(done_known) == _strip_volatile(
        client.get(unknown_response["Location"]).content.decode()
    )


def test_v6_3_8_invitation_link_does_not_reveal_whether_the_address_has_an_account(tenants, client):
    """V6.3.8: an anonymous visitor of an invitation link for an existing person and one for
    a new person gets the same redirect and the same sign-in page (sign-up offered in both)."""
    from contacts import services

    existing = tenants.charlie.user.email  # Has an account (in org B).
    new = "brand-new-person@example.com"
    links = {}
    for email in (existing, new):
        mail.outbox.clear()
        services.invitation_create(
            inviter=tenants.alice, email=email, roles=["finance"], is_admin=False
        )
        links[email] = re.search(r"/organization/invitation/[^/\s]+/", _last_body()).group(0)

    pages = []
    for email, link in links.items():
        client.cookies.clear()
        response = client.get(link)
        assert response.status_code == 302
        location = response["Location"]
        pages.append((location.replace(link, "LINK"), email, client.get(location)))
    (location_a, email_a, page_a), (location_b, email_b, page_b) = pages
    assert location_a == location_b
    assert page_a.status_code == page_b.status_code == 200
    assert _strip_volatile(page_a.content.decode(), email_a, links[email_a]) == _strip_volatile(
        page_b.content.decode(), email_b, links[email_b]
    )


def _last_body() -> str:
    from portal.models import OutboundEmail

    if mail.outbox:
        return mail.outbox[-1].body
    return OutboundEmail.objects.order_by("-pk").first().body_text


def test_v6_3_8_inviting_an_existing_or_unknown_address_looks_the_same_to_the_inviter(
    tenants, client
):
    """V6.3.8: the inviter (an admin of their organization) sees the same confirmation for
    an address that already has a portal account elsewhere and for an unknown one. Only
    members of the inviter's own organization are named as such (the admin sees them anyway)."""
    from tests.conftest import sign_in

    sign_in(client, tenants.alice.user)
    answers = []
    for email in (tenants.charlie.user.email, "unknown-person@example.com"):
        response = client.post(
            "/organization/users/invite/", {"email": email, "roles": ["finance"]}
        )
        page = client.get(response["Location"])
        notices = [str(m).replace(email, "EMAIL") for m in page.context["messages"]]
        answers.append((response.status_code, response["Location"], notices))
    assert answers[0] == answers[1]
    assert answers[0][2] == ["Invitation sent to EMAIL."]


# --- V6.5 / V6.6 E-mailed sign-in codes ---------------------------------------------------


def _request_code(client, user, django_capture_on_commit_callbacks) -> str:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LOGIN_CODE, {"email": user.email})
    assert response.status_code == 302
    return CODE_PATTERN.search(mail.outbox[-1].body).group(1)


def test_v6_5_1_a_sign_in_code_works_only_once(client, user, django_capture_on_commit_callbacks):
    """V6.5.1: an out-of-band code is single-use."""
    code = _request_code(client, user, django_capture_on_commit_callbacks)
    assert client.post(CONFIRM_CODE, {"code": code}).status_code == 302
    assert _signed_in(client)
    client.post("/accounts/logout/")
    response = client.post(CONFIRM_CODE, {"code": code})
    assert not _signed_in(client)
    assert response.status_code in (200, 302, 400, 404)
    if response.status_code == 302:  # Flow gone: back to the start, still signed out.
        assert client.get(response["Location"]).status_code in (200, 302)
        assert not _signed_in(client)


def test_v6_5_5_a_sign_in_code_expires_after_its_timeout(
    client, user, django_capture_on_commit_callbacks
):
    """V6.5.5: codes live ACCOUNT_LOGIN_BY_CODE_TIMEOUT seconds (at most 10 minutes)."""
    assert settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT <= 600
    with time_machine.travel(dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC), tick=False) as t:
        code = _request_code(client, user, django_capture_on_commit_callbacks)
        t.shift(dt.timedelta(seconds=settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT + 1))
        client.post(CONFIRM_CODE, {"code": code})
    assert not _signed_in(client)


def test_v6_6_3_sign_in_codes_are_attempt_limited(client, user, django_capture_on_commit_callbacks):
    """V6.6.3: after ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS wrong codes even the right one fails."""
    code = _request_code(client, user, django_capture_on_commit_callbacks)
    for _ in range(settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS):
        client.post(CONFIRM_CODE, {"code": "AAAA-AAAA"})
        assert not _signed_in(client)
    client.post(CONFIRM_CODE, {"code": code})
    assert not _signed_in(client)


# --- V6.4.3 Password reset does not bypass MFA --------------------------------------------


def test_v6_4_3_password_reset_does_not_bypass_totp(
    client, user, django_capture_on_commit_callbacks
):
    """V6.4.3: a person with an authenticator app who resets the password is not signed in
    by the reset, and the next sign-in with the new password still asks for the TOTP code."""
    TOTP.activate(user, TOTP_SECRET)
    from allauth.account import app_settings as account_settings

    assert account_settings.LOGIN_ON_PASSWORD_RESET is False
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RESET, {"email": user.email})
    link = re.search(r"https?://[^\s]+/accounts/password/reset/key/[^\s]+", mail.outbox[-1].body)
    path = "/" + link.group(0).split("/", 3)[3]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    new_password = "a-brand-new-long-password-42"
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    assert not _signed_in(client)

    response = _login(client, user.email, new_password)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert not _signed_in(client)
    # The home page is not reachable half-way: still the sign-in.
    assert client.get("/").status_code == 302
    assert not _signed_in(client)
    client.post(response["Location"], {"code": totp_code(TOTP_SECRET)})
    assert _signed_in(client)


@pytest.mark.parametrize("login_on_reset", [True])
def test_v6_4_3_even_login_on_reset_would_still_ask_for_totp(
    client, user, settings, login_on_reset, django_capture_on_commit_callbacks
):
    """V6.4.3: should ACCOUNT_LOGIN_ON_PASSWORD_RESET ever be switched on, allauth's login
    stages still stop at the TOTP step instead of signing the person in."""
    settings.ACCOUNT_LOGIN_ON_PASSWORD_RESET = login_on_reset
    TOTP.activate(user, TOTP_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RESET, {"email": user.email})
    link = re.search(r"https?://[^\s]+/accounts/password/reset/key/[^\s]+", mail.outbox[-1].body)
    path = "/" + link.group(0).split("/", 3)[3]
    form_page = client.get(path, follow=True)
    new_password = "a-brand-new-long-password-42"
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else path,
        {"password1": new_password, "password2": new_password},
    )
    assert not _signed_in(client)
    if response.status_code == 302:
        assert client.get("/").status_code == 302
    assert not _signed_in(client)
