"""Stripe webhook events: stored once, dispatched by type to the payment services.

- The event id is stored under a unique constraint in the same transaction as its effect:
  a redelivery (sequential or concurrent — the second insert waits for the first to commit)
  finds it processed and does nothing; a delivery whose handler failed is rolled back, kept
  with its error for staff, and processed again by Stripe's retry.
- Handlers trust the signed payload (the object as it was when the event happened) and the
  payment state machine only moves forward, so events arriving out of order converge.
- Unknown types are stored and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import payments, stripe_client
from billing.models import Payment, WebhookEvent
from portal.money import from_minor_units

logger = logging.getLogger(__name__)

PROCESSED = "processed"
DUPLICATE = "duplicate"
IGNORED = "ignored"


def _id_of(value) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else str(value.get("id", ""))


def intent_from_payload(obj: dict) -> stripe_client.IntentInfo:
    """The PaymentIntent of an event, in the shape the payment services read."""
    error = obj.get("last_payment_error") or {}
    currency = str(obj.get("currency") or "").upper()
    amount_minor = int(obj.get("amount") or 0)
    return stripe_client.IntentInfo(
        id=str(obj.get("id", "")),
        status=str(obj.get("status", "")),
        client_secret="",
        amount_minor=amount_minor,
        currency=currency,
        last_error_code=str(error.get("decline_code") or error.get("code") or ""),
        last_error_message=str(error.get("message") or ""),
        payment_method_id=_id_of(obj.get("payment_method")),
        amount=from_minor_units(amount_minor, currency) if currency else payments.ZERO,
        customer_id=_id_of(obj.get("customer")),
        created=int(obj.get("created") or 0),
        metadata=dict(obj.get("metadata") or {}),
    )


def _payment_for_intent(intent_id: str, metadata: dict) -> Payment | None:
    payment = (
        Payment.objects.filter(stripe_payment_intent_id=intent_id).first() if intent_id else None
    )
    if payment is None and metadata.get("payment"):
        # The intent was created but its id never reached us (Stripe answered too late).
        try:
            payment = Payment.objects.filter(public_id=metadata["payment"]).first()
        except ValidationError:  # A malformed UUID in someone else's metadata.
            return None
        if payment is not None and not payment.stripe_payment_intent_id:
            Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id="").update(
                stripe_payment_intent_id=intent_id
            )
            payment.stripe_payment_intent_id = intent_id
        elif payment is not None and payment.stripe_payment_intent_id != intent_id:
            return None
    return payment


def on_payment_intent(obj: dict) -> None:
    intent = intent_from_payload(obj)
    payment = _payment_for_intent(intent.id, intent.metadata)
    if payment is None:
        logger.info("Webhook for unknown PaymentIntent %s ignored.", intent.id)
        return
    payments.payment_apply_intent(payment=payment, intent=intent)


def on_charge_refunded(obj: dict) -> None:
    """Refunds (made in the admin, or in Stripe's dashboard) flow back into the balances."""
    intent_id = _id_of(obj.get("payment_intent"))
    payment = (
        Payment.objects.filter(stripe_payment_intent_id=intent_id).first() if intent_id else None
    )
    if payment is None:
        logger.info("Refund webhook for unknown charge %s ignored.", obj.get("id"))
        return
    if payment.status != Payment.Status.SUCCEEDED or payment.allocated_at is None:
        payments.payment_sync(payment=payment)  # Allocate first, then take back.
    currency = str(obj.get("currency") or payment.currency).upper()
    total = from_minor_units(int(obj.get("amount_refunded") or 0), currency)
    refunds = ((obj.get("refunds") or {}).get("data")) or []
    latest = max(refunds, key=lambda r: r.get("created") or 0) if refunds else None
    refund_id = (latest or {}).get("id") or f"{obj.get('id')}-{obj.get('amount_refunded')}"
    payments.payment_refund_apply(payment=payment, refund_id=refund_id, total_refunded=total)


HANDLERS: dict[str, Callable[[dict], None]] = {
    "payment_intent.created": on_payment_intent,
    "payment_intent.processing": on_payment_intent,
    "payment_intent.requires_action": on_payment_intent,
    "payment_intent.succeeded": on_payment_intent,
    "payment_intent.payment_failed": on_payment_intent,
    "payment_intent.canceled": on_payment_intent,
    "charge.refunded": on_charge_refunded,
}


def webhook_process(*, event: dict) -> str:
    """Store a verified event once and apply it; PROCESSED, DUPLICATE or IGNORED."""
    event_id, event_type = str(event["id"]), str(event["type"])
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = WebhookEvent.objects.create(
                        stripe_event_id=event_id, event_type=event_type, payload=event
                    )
            except IntegrityError:
                # Delivered before: a concurrent delivery waited above until that one committed.
                record = WebhookEvent.objects.select_for_update().get(stripe_event_id=event_id)
                if record.processed_at is not None:
                    return DUPLICATE
            handler = HANDLERS.get(event_type)
            if handler is not None:
                handler((event.get("data") or {}).get("object") or {})
            record.processed_at = timezone.now()
            record.error = ""
            record.save(update_fields=["processed_at", "error"])
            return PROCESSED if handler is not None else IGNORED
    except Exception as error:
        logger.exception("Stripe event %s (%s) failed.", event_id, event_type)
        # Kept unprocessed, with the error, for staff; Stripe's retry processes it again.
        record, created = WebhookEvent.objects.get_or_create(
            stripe_event_id=event_id,
            defaults={"event_type": event_type, "payload": event, "error": repr(error)[:2000]},
        )
        if not created and record.processed_at is None:
            WebhookEvent.objects.filter(pk=record.pk).update(error=repr(error)[:2000])
        raise
