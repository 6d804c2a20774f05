"""SMTP refusing: a real loopback SMTP server answering 554 to every connection, reached by
Django's SMTP backend.

"Nothing lost" here means: the e-mail is never dropped silently — it stays in the outbox,
each try is recorded (attempts, last error), tries are spaced by a growing backoff, and after
EMAIL_MAX_ATTEMPTS it is marked failed and shown as failed to staff in the admin's outbound
e-mail list (where they can see the reason)."""

from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import timezone

from portal.emails import email_queue_rendered, emails_deliver_pending
from portal.models import OutboundEmail
from tests.accounts.factories import UserFactory
from tests.faults.helpers import LoopbackSMTP

pytestmark = pytest.mark.django_db


@pytest.fixture
def refusing_smtp(settings):
    with LoopbackSMTP(mode="refuse") as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        settings.EMAIL_MAX_ATTEMPTS = 3
        yield server


def test_refused_email_is_retried_with_backoff_then_failed_and_visible_to_staff(
    refusing_smtp, client, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=True):  # The first try, right away.
            email = email_queue_rendered(
                template="t", to=["someone@example.com"], subject="Refused", body_text="B"
            )
        email.refresh_from_db()
        assert (email.status, email.attempts) == (OutboundEmail.Status.PENDING, 1)
        assert "554" in email.last_error
        assert email.next_attempt_at == start + timedelta(minutes=2)
        emails_deliver_pending()  # Before the backoff has passed: no new try.
    assert refusing_smtp.connections == 1

    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        emails_deliver_pending()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.PENDING, 2)
    assert email.next_attempt_at == start + timedelta(minutes=2 + 4)  # Doubled.

    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        emails_deliver_pending()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.FAILED, 3)
    assert refusing_smtp.connections == 3
    assert refusing_smtp.messages == []

    with time_machine.travel(start + timedelta(days=1), tick=False):
        emails_deliver_pending()  # Failed for good: the sweep leaves it alone.
    assert refusing_smtp.connections == 3

    # Staff see it as failed, with the attempts and the reason, in the admin's outbox list.
    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    client.force_login(staff)
    listing = client.get(
        reverse("admin:portal_outboundemail_changelist"), {"status__exact": "failed"}
    )
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Refused" in page and "Failed" in page and "554" in page
    detail = client.get(reverse("admin:portal_outboundemail_change", args=[email.pk]))
    assert detail.status_code == 200
    assert "Service refused" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()  # Read-only.
