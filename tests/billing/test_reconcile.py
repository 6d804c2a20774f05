"""Nightly reconciliation of recent PaymentIntents against local payments."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import payments, stripe_client
from billing.models import Payment
from billing.tasks import payments_reconcile_task
from invoices.models import InvoiceStatus
from portal.models import OutboundEmail
from tests.billing.conftest import THREE_D_SECURE
from tests.billing.pay_helpers import authenticate, saved_method
from tests.invoices.factories import make_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe")]


def _since():
    return timezone.now() - timedelta(days=2)


def _waiting(tenants, stripe, token="t"):  # noqa: S107
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    payment = payments.payment_start(
        contact=tenants.fin,
        form_token=token,
        invoices=[(invoice, invoice.balance)],
        payment_method=method,
    )
    return payment, invoice


def test_succeeded_at_stripe_but_not_here_is_applied_and_reported_once(tenants, stripe):
    payment, invoice = _waiting(tenants, stripe)
    # The person confirmed, but the page closed and the webhook never arrived.
    authenticate(stripe, payments.payment_client_secret(payment=payment))
    report = payments.payments_reconcile(since=_since())
    assert len(report.fixed) == 1 and report.mismatches == []
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert invoice.status == InvoiceStatus.CLOSED
    email = OutboundEmail.objects.get(template="payment_staff_report")
    assert str(payment.public_id) in email.body_text
    # The next night finds nothing to fix and sends nothing.
    again = payments_reconcile_task.delay().get()
    assert again == {"fixed": [], "mismatches": []}
    assert OutboundEmail.objects.filter(template="payment_staff_report").count() == 1


def test_succeeded_here_but_not_at_stripe_is_reported(tenants, stripe):
    payment, invoice = _waiting(tenants, stripe)
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.SUCCEEDED)
    report = payments.payments_reconcile(since=_since())
    assert report.fixed == []
    assert len(report.mismatches) == 1
    assert "requires_action at Stripe" in report.mismatches[0]
    assert OutboundEmail.objects.filter(template="payment_staff_report").count() == 1
    # Reported, not "fixed": nothing is taken back automatically.
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_unknown_succeeded_intent_at_stripe_is_reported(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    profile = method.organization.billing_profile
    stripe_client.payment_intent_create(
        amount=payments.ZERO + 12,
        currency="USD",
        customer_id=profile.stripe_customer_id,
        idempotency_key="outside",
        metadata={},
        payment_method_id=method.stripe_payment_method_id,
        confirm=True,
    )
    report = payments.payments_reconcile(since=_since())
    assert len(report.mismatches) == 1 and "unknown here" in report.mismatches[0]


def test_matching_payments_are_not_reported(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    payments.payment_start(
        contact=tenants.fin,
        form_token="t",
        invoices=[(invoice, invoice.balance)],
        payment_method=method,
    )
    report = payments.payments_reconcile(since=_since())
    assert report.fixed == report.mismatches == []
    assert not OutboundEmail.objects.filter(template="payment_staff_report").exists()


def test_abandoned_payments_are_cancelled_and_free_their_invoices(tenants, stripe, client):
    from django.urls import reverse

    from tests.conftest import sign_in

    payment, invoice = _waiting(tenants, stripe)
    new_card = payments.payment_start(
        contact=tenants.fin,
        form_token="new-card",
        invoices=[(make_invoice(tenants.org_a), payments.ZERO + 100)],
    )
    assert new_card.status == Payment.Status.CREATED
    sign_in(client, tenants.fin.user)
    due = client.get(reverse("billing:due")).content.decode()
    assert f'name="invoice" value="{invoice.number}"' not in due  # Under way: not selectable.
    Payment.objects.update(created_at=timezone.now() - payments.STALE_AFTER - timedelta(minutes=1))
    due = client.get(reverse("billing:due")).content.decode()
    assert f'name="invoice" value="{invoice.number}"' in due
    payments.payments_reconcile(since=_since())
    payment.refresh_from_db()
    new_card.refresh_from_db()
    assert payment.status == new_card.status == Payment.Status.CANCELED
    assert [i.status for i in stripe_client.payment_intents_list(created_gte=0)] == ["canceled"]
    invoice.refresh_from_db()
    assert invoice.balance == payments.ZERO + 100
