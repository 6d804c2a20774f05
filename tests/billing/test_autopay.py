"""Auto-pay: due invoices charged off-session with the default card once a day; failures
(expired card, declined, authentication needed) become failed charges under Payments due,
which the customer pays with another card without changing the default."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billing import payments
from billing.models import FailedCharge, Payment, PaymentMethod
from billing.tasks import payments_autopay_task
from invoices.models import InvoiceStatus
from portal.models import OutboundEmail
from tests.billing.conftest import DECLINED_AT_CHARGE, THREE_D_SECURE
from tests.billing.pay_helpers import intents_at_stripe, saved_method
from tests.conftest import sign_in
from tests.invoices.factories import make_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe")]


def _due(organization, days_ago=1, amounts=("100.00",)):
    today = timezone.localdate()
    return make_invoice(
        organization,
        issue_date=today - timedelta(days=30),
        due_date=today - timedelta(days=days_ago),
        amounts=list(amounts),
    )


def test_due_invoices_are_charged_once_per_day(tenants, stripe):
    saved_method(stripe, tenants.org_a, auto_pay=True)
    overdue = _due(tenants.org_a, days_ago=3)
    due_today = _due(tenants.org_a, days_ago=0, amounts=("40.00",))
    later = _due(tenants.org_a, days_ago=-10)
    result = payments.payments_autopay()
    assert sorted(result.charged) == sorted([overdue.number, due_today.number])
    for invoice in (overdue, due_today, later):
        invoice.refresh_from_db()
    assert overdue.status == due_today.status == InvoiceStatus.CLOSED
    assert later.status == InvoiceStatus.OPEN
    keys = set(Payment.objects.values_list("idempotency_key", flat=True))
    today = timezone.localdate().isoformat()
    assert keys == {f"autopay:{overdue.pk}:{today}", f"autopay:{due_today.pk}:{today}"}
    assert set(Payment.objects.values_list("origin", flat=True)) == {Payment.Origin.AUTO_PAY}
    # Run again (beat twice, or the task retried): nothing more.
    again = payments_autopay_task.delay().get()
    assert again["charged"] == [] and again["failed"] == []
    assert len(intents_at_stripe()) == 2


def test_organizations_without_auto_pay_or_default_card_are_left_alone(tenants, stripe):
    saved_method(stripe, tenants.org_a, auto_pay=False)
    saved_method(stripe, tenants.org_b, default=False, auto_pay=True)
    _due(tenants.org_a)
    _due(tenants.org_b)
    result = payments.payments_autopay()
    assert result.charged == result.failed == []
    assert not Payment.objects.exists()


def test_expired_default_card_records_a_failed_charge_and_emails_finance_once(tenants, stripe):
    saved_method(stripe, tenants.org_a, exp_month=1, exp_year=2021, auto_pay=True)
    invoice = _due(tenants.org_a)
    result = payments.payments_autopay()
    assert result.failed == [invoice.number]
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_code == "expired_card"
    failed = FailedCharge.objects.get()
    assert failed.payment == payment
    assert "expired" in failed.reason and "01/2021" in failed.reason
    assert intents_at_stripe() == []  # Nothing was even tried at Stripe.
    notices = OutboundEmail.objects.filter(template="payment_failed")
    assert sorted(n.to[0] for n in notices) == sorted(
        [tenants.alice.user.email, tenants.fin.user.email]
    )
    # The same day again, and the next days: no new charge while the failed one is unpaid.
    payments.payments_autopay()
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        payments.payments_autopay()
    assert Payment.objects.count() == 1
    assert OutboundEmail.objects.filter(template="payment_failed").count() == 2


def test_declined_charge_and_needed_authentication_become_failed_charges(tenants, stripe):
    saved_method(stripe, tenants.org_a, DECLINED_AT_CHARGE, auto_pay=True)
    saved_method(stripe, tenants.org_b, THREE_D_SECURE, auto_pay=True)
    declined = _due(tenants.org_a)
    needs_auth = _due(tenants.org_b)
    result = payments.payments_autopay()
    assert sorted(result.failed) == sorted([declined.number, needs_auth.number])
    by_org = {f.organization_id: f for f in FailedCharge.objects.select_related("payment")}
    assert by_org[tenants.org_a.pk].payment.failure_code == "card_declined"
    assert by_org[tenants.org_b.pk].payment.failure_code == "authentication_required"
    # The off-session intent that asked for 3-D Secure was cancelled: it can never charge.
    assert sorted(i.status for i in intents_at_stripe()) == ["canceled", "requires_payment_method"]
    for invoice in (declined, needs_auth):
        invoice.refresh_from_db()
        assert invoice.balance == Decimal("100.00")


def _failed_expired_charge(tenants, stripe):
    expired = saved_method(stripe, tenants.org_a, exp_month=1, exp_year=2021, auto_pay=True)
    invoice = _due(tenants.org_a)
    payments.payments_autopay()
    return expired, invoice, FailedCharge.objects.get()


def test_failed_charge_is_listed_under_payments_due_with_its_reason(tenants, stripe, client):
    _expired, invoice, failed = _failed_expired_charge(tenants, stripe)
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("billing:due"))
    content = page.content.decode()
    assert page.status_code == 200
    assert str(failed.public_id) in content
    assert "expired at the end of 01/2021" in content
    assert invoice.number in content


@pytest.mark.parametrize("make_default", [False, True])
def test_paying_a_failed_charge_with_another_card_keeps_the_default_unless_asked(
    tenants, stripe, client, make_default
):
    expired, invoice, failed = _failed_expired_charge(tenants, stripe)
    other = saved_method(stripe, tenants.org_a, default=False)
    sign_in(client, tenants.fin.user)
    data = {
        "form_token": "tok",
        "failed_charge": str(failed.public_id),
        "method": str(other.public_id),
    }
    if make_default:
        data["make_default"] = "on"
    response = client.post(reverse("billing:pay"), data)
    assert response.status_code == 302
    invoice.refresh_from_db()
    failed.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    assert failed.resolved_at is not None
    assert failed.resolved_by.status == Payment.Status.SUCCEEDED
    expired.refresh_from_db()
    other.refresh_from_db()
    assert other.is_default is make_default
    assert expired.is_default is not make_default
    assert PaymentMethod.objects.filter(organization=tenants.org_a, is_default=True).count() == 1
    assert str(failed.public_id) not in client.get(reverse("billing:due")).content.decode()


def test_autopay_figures_for_the_dashboard(tenants, stripe):
    saved_method(stripe, tenants.org_a, auto_pay=True)
    today = timezone.localdate()
    make_invoice(
        tenants.org_a, issue_date=today, due_date=today + timedelta(days=5), amounts=["70.00"]
    )
    figures = payments.dashboard_figures(tenants.fin)
    assert figures["next_auto_pay"]["date"] == today + timedelta(days=5)
    assert figures["next_auto_pay"]["amount"] == Decimal("70.00")
    assert figures["next_auto_pay"]["currency"] == "USD"
    assert figures["due_now"] == {}
    with time_machine.travel(date.today() + timedelta(days=6)):
        assert payments.dashboard_figures(tenants.fin)["due_now"] == {"USD": Decimal("70.00")}
