"""Refunds (staff, from the admin; or Stripe's dashboard) flow back into invoice balances once."""

from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from billing import payments
from billing.models import Payment
from billing.payments import PaymentError
from contacts.models import ActivityEvent
from invoices.models import InvoiceAdjustment, InvoiceStatus
from portal.money import to_minor_units
from tests.accounts.factories import UserFactory
from tests.billing.pay_helpers import event_payload, post_webhook, saved_method
from tests.invoices.factories import make_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe")]


@pytest.fixture
def paid(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    first = make_invoice(tenants.org_a, amounts=["100.00"])
    second = make_invoice(tenants.org_a, amounts=["50.00"])
    payment = payments.payment_start(
        contact=tenants.fin,
        form_token="t",
        invoices=[(first, first.balance), (second, second.balance)],
        payment_method=method,
    )
    assert payment.status == Payment.Status.SUCCEEDED
    return payment, first, second


def _charge_refunded(payment, total: Decimal, refund_id: str) -> dict:
    return {
        "id": "ch_test",
        "object": "charge",
        "payment_intent": payment.stripe_payment_intent_id,
        "currency": payment.currency.lower(),
        "amount": to_minor_units(payment.amount, payment.currency),
        "amount_refunded": to_minor_units(total, payment.currency),
        "refunded": total == payment.amount,
        "refunds": {"object": "list", "data": [{"id": refund_id, "created": 1}]},
    }


def test_staff_refund_reopens_the_last_invoice_and_the_webhook_adds_nothing(paid, client):
    payment, first, second = paid
    staff = UserFactory(is_staff=True)
    applied = payments.payment_refund(
        payment=payment, amount=Decimal("30.00"), staff_user=staff, reason="Goodwill"
    )
    assert applied == Decimal("30.00")
    payment.refresh_from_db()
    second.refresh_from_db()
    first.refresh_from_db()
    assert payment.amount_refunded == Decimal("30.00")
    assert second.balance == Decimal("30.00")
    assert second.status != InvoiceStatus.CLOSED
    assert first.status == InvoiceStatus.CLOSED
    refund = InvoiceAdjustment.objects.get(kind="refund")
    assert refund.reference == str(payment.public_id)
    assert ActivityEvent.objects.filter(verb=payments.VERB_REFUNDED).count() == 1

    # Stripe then sends charge.refunded for the same refund (and may send it twice).
    body = _charge_refunded(payment, Decimal("30.00"), refund.note.split()[-1])
    for _ in range(2):
        assert post_webhook(client, event_payload("charge.refunded", body)).status_code == 200
    assert InvoiceAdjustment.objects.filter(kind="refund").count() == 1
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("30.00")


def test_refund_made_at_stripe_flows_back_through_the_webhook_once(paid, client):
    payment, first, second = paid
    body = _charge_refunded(payment, Decimal("90.00"), "re_dashboard")
    payload = event_payload("charge.refunded", body, event_id="evt_refund")
    assert post_webhook(client, payload).status_code == 200
    assert post_webhook(client, payload).content == b"duplicate"
    payment.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert payment.amount_refunded == Decimal("90.00")
    # From the last invoice first: 50 of the second, then 40 of the first.
    assert second.balance == Decimal("50.00")
    assert first.balance == Decimal("40.00")
    # The same total in a new event (Stripe retries with other ids): nothing more.
    post_webhook(client, event_payload("charge.refunded", body))
    assert sum(a.amount for a in InvoiceAdjustment.objects.filter(kind="refund")) == Decimal(
        "90.00"
    )


def test_refunds_can_not_exceed_what_was_paid(paid):
    payment, _first, _second = paid
    staff = UserFactory(is_staff=True)
    with pytest.raises(PaymentError):
        payments.payment_refund(
            payment=payment, amount=Decimal("150.01"), staff_user=staff, reason="Too much"
        )
    payments.payment_refund(
        payment=payment, amount=Decimal("150.00"), staff_user=staff, reason="All"
    )
    with pytest.raises(PaymentError):
        payments.payment_refund(
            payment=payment, amount=Decimal("0.01"), staff_user=staff, reason="x"
        )
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("150.00")


def test_staff_refund_from_the_admin(paid, client):
    from django.urls import reverse

    payment, _first, second = paid
    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")  # Staff need an authenticator for the admin.
    client.force_login(staff)
    change = client.get(reverse("admin:billing_payment_change", args=[payment.pk]))
    refund_url = reverse("admin:billing_payment_refund", args=[payment.pk])
    assert refund_url in change.content.decode()
    response = client.post(refund_url, {"amount": "20.00", "reason": "Service outage credit"})
    assert response.status_code == 302
    payment.refresh_from_db()
    second.refresh_from_db()
    assert payment.amount_refunded == Decimal("20.00")
    assert second.balance == Decimal("20.00")
    too_much = client.post(refund_url, {"amount": "500.00", "reason": "x"})
    assert too_much.status_code == 200
    assert "at most" in too_much.content.decode()


def test_people_without_the_permission_cannot_refund(paid, client):
    from django.urls import reverse

    payment, _first, _second = paid
    staff = UserFactory(is_staff=True)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    client.force_login(staff)
    response = client.post(
        reverse("admin:billing_payment_refund", args=[payment.pk]),
        {"amount": "1.00", "reason": "x"},
    )
    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("0.00")
