"""The payment services against the localstripe emulator: paying, refusing, no double charge,
declines, 3-D Secure, Stripe slow or down, orders and renewals, allocation and receipts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing import payments
from billing.models import Payment, PaymentAllocation
from billing.payments import PaymentError
from contacts.models import ActivityEvent
from invoices.models import InvoiceAdjustment, InvoiceStatus
from invoices.services import invoice_apply_adjustment
from orders.models import Order
from portal.models import OutboundEmail
from tests.billing.conftest import DECLINED_AT_CHARGE, THREE_D_SECURE
from tests.billing.pay_helpers import (
    authenticate,
    closed_port,
    fake_stripe,
    intents_at_stripe,
    saved_method,
)
from tests.contracts.factories import make_contract
from tests.invoices.factories import make_invoice
from tests.orders.factories import make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe")]


def _pay(contact, invoices=(), *, token="token-1", method=None, **kwargs) -> Payment:  # noqa: S107
    return payments.payment_start(
        contact=contact,
        form_token=token,
        invoices=[(invoice, invoice.balance) for invoice in invoices],
        payment_method=method,
        **kwargs,
    )


def test_two_invoices_in_one_payment_close_both_with_one_intent(
    tenants, stripe, django_capture_on_commit_callbacks
):
    method = saved_method(stripe, tenants.org_a)
    first = make_invoice(tenants.org_a, amounts=["100.00"])
    second = make_invoice(tenants.org_a, amounts=["250.50"])
    with django_capture_on_commit_callbacks(execute=True):
        payment = _pay(tenants.fin, [first, second], method=method)

    payment.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount == Decimal("350.50")
    assert payment.allocated_at is not None
    assert (first.status, second.status) == (InvoiceStatus.CLOSED, InvoiceStatus.CLOSED)
    assert first.balance == second.balance == Decimal("0.00")
    assert len(intents_at_stripe()) == 1
    assert intents_at_stripe()[0].amount_minor == 35050
    assert sorted(a.amount for a in payment.allocations.all()) == [
        Decimal("100.00"),
        Decimal("250.50"),
    ]
    adjustments = InvoiceAdjustment.objects.filter(reference=str(payment.public_id))
    assert {a.idempotency_key for a in adjustments} == {
        f"payment:{payment.public_id}:{first.pk}",
        f"payment:{payment.public_id}:{second.pk}",
    }
    assert ActivityEvent.objects.filter(verb=payments.VERB_SUCCEEDED).count() == 1
    # The payer and the other finance contact (Alice) get a receipt with the PDF.
    receipts = OutboundEmail.objects.filter(template="payment_receipt")
    assert sorted(r.to[0] for r in receipts) == sorted(
        [tenants.fin.user.email, tenants.alice.user.email]
    )
    assert all(r.attachments.get().mimetype == "application/pdf" for r in receipts)
    sent = [m for m in mail.outbox if m.to == [tenants.fin.user.email]]
    assert sent and sent[0].attachments[0][0].endswith(".pdf")
    assert payment.receipt_sent_at is not None


def test_receipt_goes_to_payer_and_finance_contacts_once_each_in_their_language(
    tenants, stripe, django_capture_on_commit_callbacks
):
    tenants.fin.user.language = "de"
    tenants.fin.user.save(update_fields=["language"])
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        payment = _pay(tenants.alice, [invoice], method=method)
    # A second attempt to send (sweep, task retried) sends nothing more.
    assert payments.payment_receipt_send(payment_id=payment.pk) == 0
    assert payments.payments_send_pending_receipts() == 0
    receipts = OutboundEmail.objects.filter(template="payment_receipt").order_by("pk")
    assert sorted(r.to[0] for r in receipts) == sorted(
        [tenants.alice.user.email, tenants.fin.user.email]
    )
    # Rendered in each recipient's language (number format; words come with the catalogue).
    assert "100,00" in receipts.get(to=[tenants.fin.user.email]).subject
    assert "$100.00" in receipts.get(to=[tenants.alice.user.email]).subject


def test_partial_payment_needs_a_reason(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    with pytest.raises(PaymentError) as refused:
        payments.payment_start(
            contact=tenants.fin,
            form_token="t",
            invoices=[(invoice, Decimal("40.00"))],
            payment_method=method,
        )
    assert refused.value.code == "partial_reason"
    assert not Payment.objects.exists()

    payment = payments.payment_start(
        contact=tenants.fin,
        form_token="t",
        invoices=[(invoice, Decimal("40.00"))],
        payment_method=method,
        partial_reason="The rest is disputed.",
    )
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert invoice.balance == Decimal("60.00")
    assert invoice.status == InvoiceStatus.OPEN
    assert payment.partial_reason == "The rest is disputed."


def test_overpaying_is_refused_server_side(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    for amount in ("100.01", "0", "-5"):
        with pytest.raises(PaymentError):
            payments.payment_start(
                contact=tenants.fin,
                form_token=f"t{amount}",
                invoices=[(invoice, Decimal(amount))],
                payment_method=method,
                partial_reason="x",
            )
    assert not Payment.objects.exists()
    assert intents_at_stripe() == []


def test_paying_a_closed_invoice_is_refused(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    _pay(tenants.fin, [invoice], method=method, token="first")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    with pytest.raises(PaymentError) as refused:
        payments.payment_start(
            contact=tenants.fin,
            form_token="second",
            invoices=[(invoice, Decimal("100.00"))],
            payment_method=method,
        )
    assert refused.value.code == "paid"
    assert Payment.objects.count() == 1
    assert len(intents_at_stripe()) == 1


def test_mixing_currencies_and_other_organizations_is_refused(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    dollars = make_invoice(tenants.org_a)
    euros = make_invoice(tenants.org_a, currency="EUR")
    theirs = make_invoice(tenants.org_b)
    with pytest.raises(PaymentError) as mixed:
        _pay(tenants.fin, [dollars, euros], method=method)
    assert mixed.value.code == "currency"
    with pytest.raises(PaymentError):
        _pay(tenants.fin, [theirs], method=method)
    assert not Payment.objects.exists()


def test_technical_and_executive_contacts_cannot_pay(tenants, stripe):
    from contacts.roles import Role
    from tests.contacts.factories import ContactFactory

    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    executive = ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])
    for contact in (tenants.bob, executive):
        with pytest.raises(PaymentError):
            _pay(contact, [invoice], method=method)
    assert not Payment.objects.exists()


def test_double_submit_with_the_same_form_token_makes_one_payment_and_one_intent(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    first = _pay(tenants.fin, [invoice], method=method, token="same")
    again = _pay(tenants.fin, [invoice], method=method, token="same")
    assert again.pk == first.pk
    assert Payment.objects.count() == 1
    assert len(intents_at_stripe()) == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")


def test_another_form_cannot_pay_while_a_payment_is_under_way(tenants, stripe):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    waiting = _pay(tenants.fin, [invoice], method=method, token="tab-1")
    assert waiting.status == Payment.Status.REQUIRES_ACTION
    with pytest.raises(PaymentError) as refused:
        _pay(tenants.fin, [invoice], method=method, token="tab-2")
    assert refused.value.code == "in_progress"
    assert refused.value.payment == waiting
    assert len(intents_at_stripe()) == 1


def test_a_stale_unfinished_payment_no_longer_blocks(tenants, stripe):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE, default=False)
    good = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    abandoned = _pay(tenants.fin, [invoice], method=method, token="tab-1")
    Payment.objects.filter(pk=abandoned.pk).update(
        created_at=timezone.now() - payments.STALE_AFTER - timedelta(minutes=1)
    )
    payment = _pay(tenants.fin, [invoice], method=good, token="tab-2")
    abandoned.refresh_from_db()
    assert abandoned.status == Payment.Status.CANCELED
    assert payment.status == Payment.Status.SUCCEEDED
    statuses = sorted(i.status for i in intents_at_stripe())
    assert statuses == ["canceled", "succeeded"]


def test_declined_card_fails_with_its_reason_and_allocates_nothing(tenants, stripe):
    method = saved_method(stripe, tenants.org_a, DECLINED_AT_CHARGE)
    invoice = make_invoice(tenants.org_a)
    with pytest.raises(PaymentError) as declined:
        _pay(tenants.fin, [invoice], method=method, token="try-1")
    assert declined.value.code == "declined"
    assert "declined" in declined.value.message.lower()
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_code == "card_declined"
    assert payment.allocated_at is None
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert not InvoiceAdjustment.objects.exists()
    assert ActivityEvent.objects.filter(verb=payments.VERB_FAILED).count() == 1

    # The same form again: the key is spent, nothing is charged again.
    assert _pay(tenants.fin, [invoice], method=method, token="try-1").pk == payment.pk
    assert len(intents_at_stripe()) == 1

    # A new token (the form re-rendered) with a good card works.
    good = saved_method(stripe, tenants.org_a, default=False)
    retry = _pay(tenants.fin, [invoice], method=good, token="try-2")
    assert retry.status == Payment.Status.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED


def test_three_d_secure_waits_then_succeeds_once_confirmed(
    tenants, stripe, django_capture_on_commit_callbacks
):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    payment = _pay(tenants.fin, [invoice], method=method)
    assert payment.status == Payment.Status.REQUIRES_ACTION
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")

    secret = payments.payment_client_secret(payment=payment)
    assert authenticate(stripe, secret, success=True)["status"] == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_sync(payment=payment)
    assert payment.status == Payment.Status.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    # Syncing again changes nothing.
    payments.payment_sync(payment=payment)
    assert InvoiceAdjustment.objects.count() == 1
    assert len(intents_at_stripe()) == 1


def test_three_d_secure_cancelled_changes_nothing(tenants, stripe):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    payment = _pay(tenants.fin, [invoice], method=method)
    secret = payments.payment_client_secret(payment=payment)
    authenticate(stripe, secret, success=False)
    payments.payment_sync(payment=payment)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_code == "payment_intent_authentication_failure"
    assert "authentication" in payments.failure_reason(payment).lower()
    assert payment.allocated_at is None
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert invoice.status != InvoiceStatus.CLOSED
    assert [i.status for i in intents_at_stripe()] == ["canceled"]


@pytest.mark.parametrize("outage", ["down", "slow", "error"])
def test_stripe_down_slow_or_failing_is_a_clear_error_and_a_safe_retry(
    tenants, stripe, settings, outage
):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    settings.STRIPE_TIMEOUT = 0.5

    def attempt():
        return _pay(tenants.fin, [invoice], method=method, token="form")

    if outage == "down":
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"
        with pytest.raises(PaymentError) as failed:
            attempt()
    else:
        with fake_stripe(mode=outage) as url:
            settings.STRIPE_API_BASE = url
            with pytest.raises(PaymentError) as failed:
                attempt()
    assert failed.value.code == "unavailable"
    assert "did not answer" in failed.value.message
    assert "never charges twice" in failed.value.message
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.CREATED
    assert payment.stripe_payment_intent_id == ""
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")

    # Stripe is back: the same form converges on the same payment and charges once.
    settings.STRIPE_API_BASE = stripe.base_url
    retried = attempt()
    assert retried.pk == payment.pk
    assert retried.status == Payment.Status.SUCCEEDED
    assert len(intents_at_stripe()) == 1
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED


def test_paying_an_order_marks_it_paid_and_a_renewal_quote_renews_its_contract(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    order = make_order(tenants.org_a, payment_status="awaiting")
    contract = make_contract(tenants.org_a, kind="support")
    end = contract.end_date
    quote = make_order(tenants.org_a, payment_status="awaiting")
    Order.objects.filter(pk=quote.pk).update(contract=contract, kind=Order.Kind.QUOTE)
    quote.refresh_from_db()
    payment = payments.payment_start(
        contact=tenants.fin, form_token="t", orders=[order, quote], payment_method=method
    )
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount == order.total + quote.total
    order.refresh_from_db()
    quote.refresh_from_db()
    contract.refresh_from_db()
    assert order.payment_status == quote.payment_status == Order.PaymentStatus.PAID
    assert contract.end_date == payments._add_months(end, payments.RENEWAL_MONTHS)
    # Applying the success again (webhook + page) renews once.
    payments.payment_mark_succeeded(payment=payment)
    contract.refresh_from_db()
    assert contract.end_date == payments._add_months(end, payments.RENEWAL_MONTHS)
    with pytest.raises(PaymentError):
        payments.payment_start(
            contact=tenants.fin, form_token="t2", orders=[order], payment_method=method
        )


def test_allocation_never_exceeds_the_balance_left_at_success(tenants, stripe):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    payment = _pay(tenants.fin, [invoice], method=method)
    # Meanwhile staff booked a credit for part of it.
    invoice_apply_adjustment(invoice=invoice, kind="credit", amount=Decimal("30.00"))
    authenticate(stripe, payments.payment_client_secret(payment=payment))
    payments.payment_sync(payment=payment)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0.00")
    assert invoice.amount_paid == Decimal("70.00")
    report = OutboundEmail.objects.get(template="payment_staff_report")
    assert "could not be applied" in report.body_text
    assert PaymentAllocation.objects.get().amount == Decimal("100.00")
