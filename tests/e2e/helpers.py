"""Steps shared by the browser tests."""

import re
import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail

from tests.accounts.factories import UserFactory
from tests.contacts.factories import ContactFactory

LOGIN_PATH = "/accounts/login/"
CODE_PATTERN = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.M)


def customer(name: str, **contact_fields):
    """A person (default test password) who is a contact of one customer organization.

    The dashboard, like every module, needs a membership: a bare user gets a 403 there.
    """
    user = UserFactory(name=name)
    ContactFactory(user=user, **contact_fields)
    return user


def sign_in(page, email: str, password: str) -> None:
    """Fill allauth's login form (opening it first if needed) and wait for the next page."""
    if not page.url.split("?")[0].endswith(LOGIN_PATH):
        page.goto(LOGIN_PATH)
    form = page.locator("form:has(input[name='login'])")
    form.locator("input[name='login']").fill(email)
    form.locator("input[name='password']").fill(password)
    with page.expect_navigation():
        # The submit button reads "Sign in" in English; its type keeps this language-neutral.
        form.locator("button[type='submit']").click()


def sign_out(page) -> None:
    """Open the user menu in the header and press "Sign out"."""
    menu = page.locator("details.menu")
    menu.locator("summary").click()
    with page.expect_navigation():
        menu.get_by_role("button", name="Sign out").click()


def emailed_sign_in_code(email: str) -> str:
    """The newest sign-in code e-mailed to `email` (locmem outbox, same process)."""
    for message in reversed(mail.outbox):
        match = CODE_PATTERN.search(message.body)
        if email in message.to and match:
            return match.group(1)
    sent = [(m.to, m.subject) for m in mail.outbox]
    raise AssertionError(f"No sign-in code was e-mailed to {email}; outbox: {sent}")


def totp_code(secret: str, *, margin: float = 1.0) -> str:
    """The current authenticator code, valid for at least `margin` more seconds.

    The portal allows no clock tolerance (MFA_TOTP_TOLERANCE 0), so a code computed in
    the last moment of its 30-second step could expire before the server checks it; in
    that case wait (at most `margin` seconds) for the next step.
    """
    period = mfa_settings.TOTP_PERIOD
    remaining = period - (time.time() % period)
    if remaining < margin:
        time.sleep(remaining + 0.05)
    counter = int(time.time()) // period
    return format_hotp_value(hotp_value(secret, counter))
