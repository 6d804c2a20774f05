"""The Stripe webhook: signature on the raw body, stored once, dispatched by type; safe twice,
concurrently and out of order. Events are replayed with a computed signature (as Stripe
signs them); the payments behind them are real ones in the emulator."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing import payments, stripe_client
from billing.models import Payment, WebhookEvent
from contacts.models import ActivityEvent
from invoices.models import InvoiceAdjustment, InvoiceStatus
from tests.billing.conftest import THREE_D_SECURE
from tests.billing.pay_helpers import (
    authenticate,
    event_payload,
    intent_object,
    post_webhook,
    saved_method,
)
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.usefixtures("stripe")


def _waiting_payment(tenants, stripe, *, confirm=True):
    """A payment waiting for 3-D Secure, which the person then completes at Stripe."""
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    payment = payments.payment_start(
        contact=tenants.fin,
        form_token="t",
        invoices=[(invoice, invoice.balance)],
        payment_method=method,
    )
    assert payment.status == Payment.Status.REQUIRES_ACTION
    if confirm:
        authenticate(stripe, payments.payment_client_secret(payment=payment))
    return payment, invoice


def _succeeded(payment, **extra) -> dict:
    return intent_object(
        payment.stripe_payment_intent_id,
        status="succeeded",
        amount=payment.amount,
        currency=payment.currency,
        **extra,
    )


@pytest.mark.django_db
def test_valid_succeeded_event_completes_the_payment(tenants, stripe, client):
    payment, invoice = _waiting_payment(tenants, stripe)
    response = post_webhook(client, event_payload("payment_intent.succeeded", _succeeded(payment)))
    assert response.status_code == 200
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert invoice.status == InvoiceStatus.CLOSED
    event = WebhookEvent.objects.get()
    assert event.processed_at is not None and event.event_type == "payment_intent.succeeded"


@pytest.mark.django_db
def test_bad_signature_is_refused_with_400_and_nothing_stored(tenants, stripe, client):
    payment, invoice = _waiting_payment(tenants, stripe)
    payload = event_payload("payment_intent.succeeded", _succeeded(payment))
    forged = stripe_client.webhook_signature(payload=payload, secret="whsec_not_ours")
    assert post_webhook(client, payload, signature=forged).status_code == 400
    assert post_webhook(client, payload, signature="").status_code == 400
    tampered = payload.replace(b'"succeeded"', b'"succeeded" ', 1)
    good_for_original = stripe_client.webhook_signature(payload=payload)
    assert post_webhook(client, tampered, signature=good_for_original).status_code == 400
    assert not WebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_ACTION


@pytest.mark.django_db
def test_stale_timestamp_is_refused_with_400(tenants, stripe, client):
    payment, _invoice = _waiting_payment(tenants, stripe)
    payload = event_payload("payment_intent.succeeded", _succeeded(payment))
    stale = stripe_client.webhook_signature(payload=payload, timestamp=int(time.time()) - 301)
    assert post_webhook(client, payload, signature=stale).status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_only_post_is_accepted(client):
    assert client.get(reverse("billing:stripe_webhook")).status_code == 405


@pytest.mark.django_db
def test_unknown_event_type_is_stored_answered_200_and_ignored(tenants, stripe, client):
    payment, _invoice = _waiting_payment(tenants, stripe)
    payload = event_payload("customer.created", {"id": "cus_123", "object": "customer"})
    response = post_webhook(client, payload)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_type == "customer.created"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REQUIRES_ACTION


@pytest.mark.django_db
def test_the_same_event_twice_has_one_effect(tenants, stripe, client):
    payment, invoice = _waiting_payment(tenants, stripe)
    payload = event_payload("payment_intent.succeeded", _succeeded(payment), event_id="evt_twice")
    first = post_webhook(client, payload)
    second = post_webhook(client, payload)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content == b"duplicate"
    assert WebhookEvent.objects.count() == 1
    assert InvoiceAdjustment.objects.filter(kind="payment").count() == 1
    assert ActivityEvent.objects.filter(verb=payments.VERB_SUCCEEDED).count() == 1
    # A different event saying the same thing (Stripe sends several) changes nothing either.
    post_webhook(client, event_payload("payment_intent.succeeded", _succeeded(payment)))
    assert InvoiceAdjustment.objects.filter(kind="payment").count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_event_have_one_effect(tenants, stripe):
    payment, invoice = _waiting_payment(tenants, stripe)
    payload = event_payload("payment_intent.succeeded", _succeeded(payment), event_id="evt_race")
    barrier = threading.Barrier(2)
    statuses = []

    def deliver():
        try:
            barrier.wait(timeout=10)
            statuses.append(post_webhook(Client(), payload).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200, 200]
    assert WebhookEvent.objects.count() == 1
    assert InvoiceAdjustment.objects.filter(kind="payment").count() == 1
    assert ActivityEvent.objects.filter(verb=payments.VERB_SUCCEEDED).count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")


@pytest.mark.django_db
def test_succeeded_before_created_and_requires_action_converges(tenants, stripe, client):
    payment, invoice = _waiting_payment(tenants, stripe)
    # Pretend the page never saw the intent's first states: reset to "created".
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.CREATED)
    intent_id = payment.stripe_payment_intent_id
    created = intent_object(
        intent_id, status="requires_payment_method", amount=payment.amount, currency="USD"
    )
    action = intent_object(
        intent_id, status="requires_action", amount=payment.amount, currency="USD"
    )
    for event_type, obj in (
        ("payment_intent.succeeded", _succeeded(payment)),
        ("payment_intent.requires_action", action),
        ("payment_intent.created", created),
    ):
        assert post_webhook(client, event_payload(event_type, obj)).status_code == 200
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert invoice.status == InvoiceStatus.CLOSED
    assert InvoiceAdjustment.objects.filter(kind="payment").count() == 1
    assert WebhookEvent.objects.filter(processed_at__isnull=False).count() == 3


@pytest.mark.django_db
def test_payment_failed_event_fails_the_payment_and_allocates_nothing(tenants, stripe, client):
    payment, invoice = _waiting_payment(tenants, stripe, confirm=False)
    failed = intent_object(
        payment.stripe_payment_intent_id,
        status="requires_payment_method",
        amount=payment.amount,
        currency="USD",
        last_payment_error={"code": "card_declined", "decline_code": "insufficient_funds"},
    )
    assert (
        post_webhook(client, event_payload("payment_intent.payment_failed", failed)).status_code
        == 200
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_code == "insufficient_funds"
    assert "insufficient funds" in payments.failure_reason(payment)
    # A late "succeeded" for the same intent can't move a failed payment backwards.
    post_webhook(client, event_payload("payment_intent.succeeded", _succeeded(payment)))
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert invoice.balance == Decimal("100.00")


@pytest.mark.django_db
def test_canceled_event_cancels_and_changes_nothing_else(tenants, stripe, client):
    payment, invoice = _waiting_payment(tenants, stripe, confirm=False)
    canceled = intent_object(
        payment.stripe_payment_intent_id, status="canceled", amount=payment.amount, currency="USD"
    )
    assert (
        post_webhook(client, event_payload("payment_intent.canceled", canceled)).status_code == 200
    )
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.CANCELED
    assert invoice.balance == Decimal("100.00")


@pytest.mark.django_db
def test_an_event_for_someone_elses_intent_is_ignored(client):
    obj = intent_object("pi_unknown", status="succeeded", amount=Decimal("5.00"), currency="USD")
    obj["metadata"] = {"payment": "not-a-uuid"}
    assert post_webhook(client, event_payload("payment_intent.succeeded", obj)).status_code == 200
    assert not Payment.objects.exists()
