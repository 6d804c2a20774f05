from datetime import date
from decimal import Decimal

import pytest

from invoices.models import InvoiceAdjustment
from rewards.models import RewardAllocation, RewardEntry
from rewards.services import (
    expiry_date,
    rewards_earn_for_invoice,
    rewards_earn_pending,
    rewards_redeem,
    rewards_reverse_for_invoice,
    rewards_reverse_pending,
)
from tests.invoices.factories import make_invoice
from tests.rewards.factories import (
    balance_of,
    grant,
    make_paid_invoice,
    make_subscription_invoice,
    pay,
)

pytestmark = pytest.mark.django_db


def test_paid_invoice_earns_the_plan_rate_on_each_eligible_line_rounded_half_up(tenants):
    # 333.33 × 2.5 % = 8.33325 → 8.33; 100.10 × 1.25 % = 1.25125 → 1.25; 0 % earns nothing.
    invoice = make_paid_invoice(
        tenants.org_a, [("333.33", "2.50"), ("100.10", "1.25"), ("999.00", "0")]
    )
    entries = rewards_earn_for_invoice(invoice=invoice, today=date(2026, 3, 15))
    assert sorted(e.amount for e in entries) == [Decimal("1.25"), Decimal("8.33")]
    assert all(e.kind == RewardEntry.Kind.EARNED and e.currency == "USD" for e in entries)
    assert all(e.expires_on == date(2027, 3, 15) for e in entries)
    assert all(e.source_invoice == invoice for e in entries)
    assert balance_of(tenants.org_a) == Decimal("9.58")


def test_half_cent_rounds_up(tenants):
    # 10.10 × 5 % = 0.505 → 0.51 (half up, never banker's rounding).
    invoice = make_paid_invoice(tenants.org_a, [("10.10", "5")])
    [entry] = rewards_earn_for_invoice(invoice=invoice)
    assert entry.amount == Decimal("0.51")


def test_each_line_earns_once(tenants):
    invoice = make_paid_invoice(tenants.org_a, [("200.00", "5")])
    assert len(rewards_earn_for_invoice(invoice=invoice)) == 1
    assert rewards_earn_for_invoice(invoice=invoice) == []
    assert rewards_earn_pending() == 0
    assert balance_of(tenants.org_a) == Decimal("10.00")


def test_unpaid_and_partly_paid_invoices_earn_nothing(tenants):
    unpaid = make_subscription_invoice(tenants.org_a, [("200.00", "5")])
    partly = pay(make_subscription_invoice(tenants.org_a, [("200.00", "5")]), Decimal("150"))
    assert rewards_earn_for_invoice(invoice=unpaid) == []
    assert rewards_earn_for_invoice(invoice=partly) == []
    assert rewards_earn_pending() == 0
    assert not RewardEntry.objects.exists()


def test_invoice_closed_by_credits_earns_nothing(tenants):
    credited = pay(
        make_subscription_invoice(tenants.org_a, [("200.00", "5")]),
        kind=InvoiceAdjustment.Kind.CREDIT,
    )
    mixed = make_subscription_invoice(tenants.org_a, [("200.00", "5")])
    pay(mixed, Decimal("100"), kind=InvoiceAdjustment.Kind.CREDIT)
    pay(mixed)
    assert credited.status == mixed.status == "closed"
    assert rewards_earn_for_invoice(invoice=credited) == []
    assert rewards_earn_for_invoice(invoice=mixed) == []
    assert rewards_earn_pending() == 0


def test_lines_without_a_rewarding_plan_earn_nothing(tenants):
    plain = pay(make_invoice(tenants.org_a, amounts=["500.00"]))
    assert rewards_earn_for_invoice(invoice=plain) == []


def test_pending_job_earns_missed_invoices_once_and_only_for_their_organization(tenants):
    a = make_paid_invoice(tenants.org_a, [("100.00", "10"), ("50.00", "10")])
    b = make_paid_invoice(tenants.org_b, [("300.00", "10")])
    make_subscription_invoice(tenants.org_a, [("100.00", "10")])  # Unpaid: not yet.
    assert rewards_earn_pending() == 3
    assert rewards_earn_pending() == 0
    assert balance_of(tenants.org_a) == Decimal("15.00")
    assert balance_of(tenants.org_b) == Decimal("30.00")
    assert set(RewardEntry.objects.values_list("source_invoice", flat=True)) == {a.pk, b.pk}


def test_refund_reverses_the_invoice_rewards_once(tenants):
    invoice = make_paid_invoice(tenants.org_a, [("200.00", "5"), ("100.00", "5")])
    earned = rewards_earn_for_invoice(invoice=invoice)
    assert rewards_reverse_for_invoice(invoice=invoice) == []  # Still paid: nothing to do.
    pay(invoice, Decimal("50.00"), kind=InvoiceAdjustment.Kind.REFUND)
    assert invoice.status == "open"
    reversed_ = rewards_reverse_for_invoice(invoice=invoice)
    assert sorted(e.amount for e in reversed_) == [Decimal("-10.00"), Decimal("-5.00")]
    assert {e.earned_entry_id for e in reversed_} == {e.pk for e in earned}
    assert rewards_reverse_for_invoice(invoice=invoice) == []
    assert rewards_reverse_pending() == 0
    assert balance_of(tenants.org_a) == Decimal("0.00")


def test_reversal_takes_back_from_other_rewards_and_writes_off_what_was_spent(tenants):
    grant(tenants.org_a, "4.00", earned_on=date.today())  # Other rewards, newer.
    invoice = make_paid_invoice(tenants.org_a, [("200.00", "5")])  # Earns 10.00.
    [earned] = rewards_earn_for_invoice(invoice=invoice)
    other_invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    rewards_redeem(contact=tenants.fin, invoice=other_invoice, amount=Decimal("12.00"))
    assert balance_of(tenants.org_a) == Decimal("2.00")

    pay(invoice, Decimal("200.00"), kind=InvoiceAdjustment.Kind.REFUND)
    [reversal] = rewards_reverse_for_invoice(invoice=invoice)

    # 10.00 to take back, only 2.00 left: the balance goes to zero, never below.
    assert reversal.amount == Decimal("-2.00")
    assert reversal.not_recovered == Decimal("8.00")
    assert balance_of(tenants.org_a) == Decimal("0.00")
    assert sum(a.amount for a in RewardAllocation.objects.filter(consumer=reversal)) == Decimal(
        "2.00"
    )


def test_reversal_with_nothing_left_is_recorded_as_zero_once(tenants):
    invoice = make_paid_invoice(tenants.org_a, [("100.00", "10")])
    rewards_earn_for_invoice(invoice=invoice)
    rewards_redeem(
        contact=tenants.fin, invoice=make_invoice(tenants.org_a), amount=Decimal("10.00")
    )
    pay(invoice, Decimal("10.00"), kind=InvoiceAdjustment.Kind.REFUND)
    [reversal] = rewards_reverse_for_invoice(invoice=invoice)
    assert reversal.amount == Decimal("0.00") and reversal.not_recovered == Decimal("10.00")
    assert rewards_reverse_pending() == 0


def test_paid_again_after_a_refund_earns_again_once(tenants):
    invoice = make_paid_invoice(tenants.org_a, [("100.00", "10")])
    rewards_earn_for_invoice(invoice=invoice)
    pay(invoice, Decimal("100.00"), kind=InvoiceAdjustment.Kind.REFUND)
    assert rewards_reverse_pending() == 1  # The safety net catches the missed refund hook.
    pay(invoice)
    assert len(rewards_earn_for_invoice(invoice=invoice)) == 1
    assert rewards_earn_pending() == 0
    assert balance_of(tenants.org_a) == Decimal("10.00")
    assert RewardEntry.objects.filter(kind="earned").count() == 2


def test_expiry_date_is_twelve_months_later_or_the_month_end():
    assert expiry_date(date(2026, 1, 31)) == date(2027, 1, 31)
    assert expiry_date(date(2028, 2, 29)) == date(2029, 2, 28)
    assert expiry_date(date(2026, 3, 31), months=11) == date(2027, 2, 28)
