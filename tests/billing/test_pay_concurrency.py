"""Concurrent submissions of payments, on PostgreSQL with real threads and the emulator."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing import payments
from billing.models import Payment
from billing.payments import PaymentError
from invoices.models import InvoiceAdjustment, InvoiceStatus
from tests.billing.pay_helpers import intents_at_stripe, saved_method
from tests.invoices.factories import make_invoice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe")]


def _race(count: int, submit) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run(index):
        try:
            barrier.wait(timeout=10)
            results.append(submit(index))
        except Exception as error:  # Collected and asserted on by the test.
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_two_concurrent_submissions_of_one_form_make_one_intent_and_one_allocation(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    first = make_invoice(tenants.org_a, amounts=["100.00"])
    second = make_invoice(tenants.org_a, amounts=["20.00"])

    def submit(_index):
        return payments.payment_start(
            contact=tenants.fin,
            form_token="one-form",
            invoices=[(first, first.balance), (second, second.balance)],
            payment_method=method,
        )

    results, errors = _race(2, submit)
    assert errors == []
    assert len({payment.pk for payment in results}) == 1
    assert Payment.objects.count() == 1
    assert len(intents_at_stripe()) == 1
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUCCEEDED
    assert InvoiceAdjustment.objects.filter(kind="payment").count() == 2  # One per invoice.
    first.refresh_from_db()
    assert first.amount_paid == Decimal("100.00")
    assert first.status == InvoiceStatus.CLOSED


def test_two_tabs_paying_the_same_invoice_at_once_charge_it_once(tenants, stripe):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)

    def submit(index):
        return payments.payment_start(
            contact=tenants.fin,
            form_token=f"tab-{index}",
            invoices=[(invoice, invoice.balance)],
            payment_method=method,
        )

    results, errors = _race(2, submit)
    assert len(results) == 1
    assert len(errors) == 1 and isinstance(errors[0], PaymentError)
    assert errors[0].code in ("in_progress", "paid")
    assert len(intents_at_stripe()) == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("100.00")
