"""Every e-mail the portal sends goes through here: rendered in the recipient's language,
stored in the outbox in the caller's transaction, and delivered by a task after commit."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portal.models import OutboundEmail, OutboundEmailAttachment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


def _check_header(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise BadHeaderError("Header values can't contain newlines.")
    return value


def email_queue(
    *,
    template: str,
    to: list[str],
    context: dict,
    language: str,
    dedupe_key: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    reply_to: list[str] | None = None,
) -> OutboundEmail | None:
    """Render emails/<template>_subject.txt, .txt and .html and queue them; None if deduped."""
    with translation.override(language):
        ctx = {"site_url": settings.SITE_URL, **context}
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", ctx).split())
        text = render_to_string(f"emails/{template}.txt", ctx)
        html = render_to_string(f"emails/{template}.html", ctx)
    return email_queue_rendered(
        template=template,
        to=to,
        subject=subject,
        body_text=text,
        body_html=html,
        dedupe_key=dedupe_key,
        attachments=attachments,
        reply_to=reply_to or [],
    )


def email_queue_rendered(
    *,
    template: str,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str = "",
    dedupe_key: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    reply_to: list[str] | None = None,
) -> OutboundEmail | None:
    """Queue an already rendered e-mail; refuses header injection before anything is stored."""
    for value in [subject, *to, *(reply_to or [])]:
        _check_header(value)
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                dedupe_key=dedupe_key,
                template=template,
                to=list(to),
                reply_to=list(reply_to or []),
                subject=subject[:255],
                body_text=body_text,
                body_html=body_html,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        return None  # Already queued once under this key.
    OutboundEmailAttachment.objects.bulk_create(
        OutboundEmailAttachment(
            email=email, filename=a.filename, mimetype=a.mimetype, content=a.content
        )
        for a in attachments
    )
    transaction.on_commit(lambda: _enqueue_delivery(email.pk))
    return email


def _enqueue_delivery(email_id: int) -> None:
    from portal.tasks import email_deliver_task

    try:
        email_deliver_task.delay(email_id)
    except Exception:  # Broker down: the row stays pending and the beat sweep sends it.
        logger.warning("Could not enqueue e-mail %s; it stays in the outbox.", email_id)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 60))


def email_deliver(*, email_id: int) -> bool:
    """Send one pending e-mail; True if it was sent by this call. Safe to call twice."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return False
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=email.to,
            reply_to=email.reply_to or None,
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        for attachment in email.attachments.all():
            message.attach(attachment.filename, bytes(attachment.content), attachment.mimetype)
        email.attempts += 1
        try:
            message.send()
        except Exception as exc:
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
                logger.error("E-mail %s failed for good: %s", email.pk, email.last_error)
            else:
                email.next_attempt_at = timezone.now() + _backoff(email.attempts)
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return False
        email.status = OutboundEmail.Status.SENT
        email.sent_at = timezone.now()
        email.save(update_fields=["attempts", "status", "sent_at"])
        return True


def emails_deliver_pending(*, limit: int = 200) -> int:
    """Send pending e-mails whose time has come (the sweep behind the outbox); returns sent."""
    ids = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(email_deliver(email_id=pk) for pk in ids)
