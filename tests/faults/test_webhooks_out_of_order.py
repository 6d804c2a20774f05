"""Duplicate and out-of-order Stripe webhooks. Already proven in tests/billing/test_webhooks.py:
the same event twice and two concurrent deliveries have one effect; "succeeded" before
"created"/"requires_action" converges; a late "succeeded" cannot revive a failed payment; and
in tests/billing/test_pay_refunds.py a refund is applied once (staff or webhook, either order).

The angle added here: the opposite order of final states — a payment that succeeded and then
receives stale, duplicated "payment_failed" and "canceled" events. "One effect" means: it stays
paid, the invoice stays closed with one payment adjustment, one receipt per recipient, no
failure recorded (no failed activity entry, no failed charge)."""

import pytest
from django.core import mail

from billing import payments
from billing.models import FailedCharge, Payment
from contacts.models import ActivityEvent
from invoices.models import InvoiceAdjustment, InvoiceStatus
from tests.billing.pay_helpers import event_payload, intent_object, post_webhook
from tests.billing.test_webhooks import _succeeded, _waiting_payment

pytestmark = pytest.mark.django_db


def test_stale_failed_and_canceled_events_after_success_change_nothing(
    tenants, stripe, client, django_capture_on_commit_callbacks
):
    payment, invoice = _waiting_payment(tenants, stripe)
    intent_id = payment.stripe_payment_intent_id
    failed = intent_object(
        intent_id,
        status="requires_payment_method",
        amount=payment.amount,
        currency="USD",
        last_payment_error={"code": "card_declined", "decline_code": "insufficient_funds"},
    )
    canceled = intent_object(intent_id, status="canceled", amount=payment.amount, currency="USD")
    succeeded = event_payload("payment_intent.succeeded", _succeeded(payment), event_id="evt_ok")
    stale_failed = event_payload("payment_intent.payment_failed", failed, event_id="evt_failed")
    stale_canceled = event_payload("payment_intent.canceled", canceled, event_id="evt_cancel")

    with django_capture_on_commit_callbacks(execute=True):
        for payload in (succeeded, stale_failed, succeeded, stale_canceled, stale_failed):
            assert post_webhook(client, payload).status_code == 200

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.failure_code == ""
    assert invoice.status == InvoiceStatus.CLOSED
    assert InvoiceAdjustment.objects.filter(kind="payment").count() == 1
    assert ActivityEvent.objects.filter(verb=payments.VERB_SUCCEEDED).count() == 1
    assert not ActivityEvent.objects.filter(verb=payments.VERB_FAILED).exists()
    assert not FailedCharge.objects.exists()
    # One receipt each for the payer (Fin) and the other finance contact (Alice).
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [tenants.fin.user.email, tenants.alice.user.email]
    )
