"""Status, counts and totals at the boundaries: due today, due yesterday, paid to the cent,
credited, multi-currency."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from invoices.models import InvoiceStatus
from invoices.services import (
    InvoiceError,
    LineData,
    invoice_apply_adjustment,
    invoices_recalculate_overdue,
)
from invoices.views.listing import status_summary
from tests.invoices.factories import make_invoice

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


def test_totals_are_computed_once_with_tax_and_rounding(tenants):
    invoice = make_invoice(
        tenants.org_a,
        lines=[
            LineData("Licences", Decimal("3"), Decimal("19.995"), Decimal("19.00")),
            LineData("Support", Decimal("1.5"), Decimal("10.00"), Decimal("7.70")),
        ],
    )
    # 3 × 19.995 = 59.985 → 59.99; tax 11.40 (59.99 × 19 % = 11.3981). 15.00 + 1.16 tax (1.155).
    assert invoice.subtotal == Decimal("74.99")
    assert invoice.tax_total == Decimal("12.56")
    assert invoice.total == invoice.balance == Decimal("87.55")


def test_due_today_is_open_and_due_yesterday_is_overdue(tenants):
    due_today = make_invoice(tenants.org_a, issue_date=TODAY - timedelta(days=30), due_date=TODAY)
    due_yesterday = make_invoice(
        tenants.org_a, issue_date=TODAY - timedelta(days=30), due_date=TODAY - timedelta(days=1)
    )
    assert due_today.status == InvoiceStatus.OPEN
    assert due_yesterday.status == InvoiceStatus.OVERDUE


def test_paid_to_the_cent_closes_and_one_cent_short_does_not(tenants):
    invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    invoice_apply_adjustment(invoice=invoice, kind="payment", amount=Decimal("99.99"))
    assert invoice.status == InvoiceStatus.OPEN and invoice.balance == Decimal("0.01")
    invoice_apply_adjustment(invoice=invoice, kind="payment", amount=Decimal("0.01"))
    assert invoice.status == InvoiceStatus.CLOSED and invoice.balance == Decimal("0.00")


def test_credit_closes_and_overpayment_is_refused(tenants):
    invoice = make_invoice(tenants.org_a, amounts=["50.00"])
    with pytest.raises(InvoiceError):
        invoice_apply_adjustment(invoice=invoice, kind="payment", amount=Decimal("50.01"))
    invoice_apply_adjustment(invoice=invoice, kind="credit", amount=Decimal("50.00"))
    assert (invoice.status, invoice.credits_applied) == (InvoiceStatus.CLOSED, Decimal("50.00"))
    with pytest.raises(InvoiceError):
        invoice_apply_adjustment(invoice=invoice, kind="payment", amount=Decimal("0.01"))


def test_refund_reopens_and_never_exceeds_what_was_paid(tenants):
    invoice = make_invoice(tenants.org_a, amounts=["80.00"])
    invoice_apply_adjustment(invoice=invoice, kind="payment", amount=Decimal("80.00"))
    with pytest.raises(InvoiceError):
        invoice_apply_adjustment(invoice=invoice, kind="refund", amount=Decimal("80.01"))
    invoice_apply_adjustment(invoice=invoice, kind="refund", amount=Decimal("30.00"))
    assert (invoice.status, invoice.balance) == (InvoiceStatus.OPEN, Decimal("30.00"))


def test_same_idempotency_key_applies_once(tenants):
    invoice = make_invoice(tenants.org_a, amounts=["80.00"])
    first = invoice_apply_adjustment(
        invoice=invoice, kind="payment", amount=Decimal("10"), idempotency_key="pay:1"
    )
    second = invoice_apply_adjustment(
        invoice=invoice, kind="payment", amount=Decimal("10"), idempotency_key="pay:1"
    )
    assert first is not None and second is None
    assert invoice.amount_paid == Decimal("10.00")


@pytest.mark.parametrize("amount", ["0", "-5", "0.001"])
def test_non_positive_amounts_are_refused(tenants, amount):
    invoice = make_invoice(tenants.org_a)
    with pytest.raises(InvoiceError):
        invoice_apply_adjustment(invoice=invoice, kind="payment", amount=Decimal(amount))


def test_counts_and_totals_per_status_and_currency(tenants):
    org = tenants.org_a
    make_invoice(org, amounts=["100.00"], currency="USD")
    make_invoice(org, amounts=["200.00"], currency="EUR")
    make_invoice(
        org,
        amounts=["50.00"],
        currency="USD",
        issue_date=TODAY - timedelta(days=40),
        due_date=TODAY - timedelta(days=5),
    )
    paid = make_invoice(org, amounts=["70.00"], currency="USD")
    invoice_apply_adjustment(invoice=paid, kind="payment", amount=Decimal("70.00"))
    make_invoice(tenants.org_b, amounts=["999.00"], currency="USD")  # Look-alike elsewhere.

    from invoices.models import Invoice

    summary = status_summary(Invoice.objects.visible_to(tenants.alice))
    assert summary["all"]["count"] == 4
    assert summary["open"] == {
        "count": 2,
        "totals": {"USD": Decimal("100.00"), "EUR": Decimal("200.00")},
    }
    assert summary["overdue"] == {"count": 1, "totals": {"USD": Decimal("50.00")}}
    assert summary["closed"] == {"count": 1, "totals": {"USD": Decimal("70.00")}}


def test_due_date_moved_later_reopens_an_overdue_invoice(tenants):
    invoice = make_invoice(
        tenants.org_a, issue_date=TODAY - timedelta(days=40), due_date=TODAY - timedelta(days=1)
    )
    assert invoice.status == InvoiceStatus.OVERDUE
    type(invoice).objects.filter(pk=invoice.pk).update(due_date=TODAY + timedelta(days=10))
    assert invoices_recalculate_overdue() == {"overdue": 0, "reopened": 1}
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert list(invoice.history.values_list("to_status", "reason"))[-1] == (
        "open",
        "due_date_moved",
    )
