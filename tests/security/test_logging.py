"""ASVS 5.0 V16.3 (security events logged) and V16.2.5 (no secrets in logs): sign-ins,
failed sign-ins and denied access are logged by portal/security.py."""

import logging

import pytest

from portal.security import email_digest
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db
WRONG = "Wrong-Password-Never-Logged-1"


def _security_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "portal.security"]


def _all_log_text(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)


def test_v16_3_1_failed_and_successful_sign_ins_are_logged_without_the_password(
    client, user, caplog
):
    """V16.3.1 and V16.2.5: a failed sign-in is logged (e-mail as a hash, the client IP), a
    successful one with the user id; neither password appears in any log record."""
    caplog.set_level(logging.INFO)
    client.post("/accounts/login/", {"login": user.email, "password": WRONG})
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    lines = _security_lines(caplog)
    assert f"sign-in failed email_sha256={email_digest(user.email)} ip=127.0.0.1" in lines
    assert f"sign-in succeeded user={user.pk} ip=127.0.0.1" in lines
    everything = _all_log_text(caplog)
    assert WRONG not in everything
    assert PASSWORD not in everything


def test_v16_3_2_denied_access_is_logged_with_user_and_object(tenants, client, caplog):
    """V16.3.2: a 403 (wrong role) and a 404 (another organization's object) are logged with
    who asked and for which object."""
    from tests.invoices.factories import make_invoice

    invoice = make_invoice(tenants.org_a)
    caplog.set_level(logging.INFO)
    sign_in(client, tenants.bob.user)  # Technical only: no invoices.
    assert client.get("/invoices/").status_code == 403
    sign_in(client, tenants.charlie.user)  # Org B.
    assert client.get(f"/invoices/{invoice.number}/").status_code == 404
    lines = _security_lines(caplog)
    assert any(
        f"status=403 user={tenants.bob.user.pk} method=GET view=invoices:list" in line
        for line in lines
    )
    assert any(
        f"status=404 user={tenants.charlie.user.pk} method=GET view=invoices:detail" in line
        and invoice.number in line
        for line in lines
    )


def test_v16_2_5_secret_url_tokens_are_not_logged(client, caplog):
    """V16.2.5: a refused invitation link is logged, its token redacted."""
    caplog.set_level(logging.INFO)
    token = "secret-invitation-token-abcdef123456"
    client.get(f"/organization/invitation/{token}/")
    client.get(f"/accounts/password/reset/key/{token}/")
    assert token not in _all_log_text(caplog)
