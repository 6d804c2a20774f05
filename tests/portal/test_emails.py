import datetime as dt
import smtplib

import pytest
import time_machine
from django.core import mail
from django.core.mail import BadHeaderError

from portal import emails
from portal.emails import Attachment, email_deliver, email_queue_rendered, emails_deliver_pending
from portal.models import OutboundEmail


def _queue(**overrides):
    values = {
        "template": "test",
        "to": ["a@example.com"],
        "subject": "Hello",
        "body_text": "Body",
        "body_html": "<p>Body</p>",
    }
    return email_queue_rendered(**{**values, **overrides})


@pytest.mark.django_db
def test_queued_email_is_sent_after_commit_with_attachments(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = _queue(attachments=(Attachment("a.csv", b"x,y", "text/csv"),))
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].attachments[0][0] == "a.csv"


@pytest.mark.django_db
def test_same_dedupe_key_is_queued_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert _queue(dedupe_key="welcome:1") is not None
        assert _queue(dedupe_key="welcome:1") is None
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_header_injection_is_refused_and_nothing_is_stored():
    with pytest.raises(BadHeaderError):
        _queue(subject="Hi\nBcc: victim@example.com")
    with pytest.raises(BadHeaderError):
        _queue(to=["a@example.com\r\nBcc: x@example.com"])
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_broker_down_keeps_the_email_and_the_sweep_sends_it_once(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Nothing lost: the row waits in the outbox until the sweep runs."""

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    from portal import tasks

    monkeypatch.setattr(tasks.email_deliver_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        email = _queue()
    assert mail.outbox == []
    assert OutboundEmail.objects.get(pk=email.pk).status == OutboundEmail.Status.PENDING
    assert emails_deliver_pending() == 1
    assert emails_deliver_pending() == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_smtp_refusal_is_retried_with_backoff_then_marked_failed(monkeypatch, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        email = _queue()
        assert email_deliver(email_id=email.pk) is False
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("pending", 1)
        assert email.next_attempt_at > start
        assert emails_deliver_pending() == 0  # Not yet due.
        for _ in range(2):
            traveller.shift(dt.timedelta(hours=2))
            emails_deliver_pending()
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 3)
    assert "refused" in email.last_error


@pytest.mark.django_db
def test_delivering_twice_sends_once():
    email = _queue()
    assert email_deliver(email_id=email.pk) in (True, False)
    email_deliver(email_id=email.pk)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_templates_render_in_the_recipients_language(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        emails.email_queue(template="test_notice", to=["a@example.com"], context={}, language="de")
    assert mail.outbox[0].subject == "Testnachricht von Customer Center"
