from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from rewards.models import RewardAllocation, RewardEntry
from rewards.services import RewardError, rewards_expire, rewards_redeem
from rewards.tasks import rewards_expire_task
from tests.invoices.factories import make_invoice
from tests.rewards.factories import balance_of, grant

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 1)


def test_expiry_takes_only_the_unspent_remainder_fifo(tenants):
    old = grant(tenants.org_a, "10.00", earned_on=date(2025, 3, 1))  # Expires 2026-03-01.
    newer = grant(tenants.org_a, "10.00", earned_on=date(2025, 5, 1))  # Expires 2026-05-01.
    fresh = grant(tenants.org_a, "10.00", earned_on=date(2026, 5, 1))
    with time_machine.travel(date(2026, 2, 1)):
        # 15 used: all of the oldest (FIFO), then 5 of the next one.
        rewards_redeem(
            contact=tenants.fin, invoice=make_invoice(tenants.org_a), amount=Decimal("15")
        )
    result = rewards_expire(today=TODAY)
    assert result.entries == 1 and result.totals == {"USD": Decimal("5.00")}
    [expired] = RewardEntry.objects.filter(kind="expired")
    assert expired.earned_entry == newer and expired.amount == Decimal("-5.00")
    assert not RewardEntry.objects.filter(kind="expired", earned_entry__in=[old, fresh]).exists()
    assert balance_of(tenants.org_a) == Decimal("10.00")


def test_second_run_expires_nothing(tenants):
    grant(tenants.org_a, "10.00", earned_on=date(2025, 1, 1))
    grant(tenants.org_b, "20.00", earned_on=date(2025, 1, 1))
    first = rewards_expire(today=TODAY)
    assert first.entries == 2
    assert rewards_expire(today=TODAY).entries == 0
    assert rewards_expire(today=TODAY + timedelta(days=400)).entries == 0
    assert balance_of(tenants.org_a) == balance_of(tenants.org_b) == Decimal("0.00")
    assert RewardEntry.objects.filter(kind="expired").count() == 2


def test_rewards_stay_usable_on_their_expiry_date_and_expire_the_day_after(tenants):
    grant(tenants.org_a, "10.00", earned_on=date(2025, 6, 1))  # expires_on 2026-06-01
    assert rewards_expire(today=date(2026, 6, 1)).entries == 0
    assert rewards_expire(today=date(2026, 6, 2)).entries == 1


def test_fully_spent_rewards_have_nothing_to_expire(tenants):
    grant(tenants.org_a, "10.00", earned_on=date(2025, 5, 1))
    with time_machine.travel(date(2026, 1, 1)):
        rewards_redeem(
            contact=tenants.fin, invoice=make_invoice(tenants.org_a), amount=Decimal("10")
        )
    assert rewards_expire(today=TODAY).entries == 0


def test_redemption_never_uses_rewards_past_their_date_even_before_the_job_ran(tenants):
    grant(tenants.org_a, "10.00", earned_on=date(2025, 1, 1))
    grant(tenants.org_a, "5.00", earned_on=date(2026, 1, 1))
    invoice = make_invoice(tenants.org_a)
    with time_machine.travel(TODAY), pytest.raises(RewardError) as refused:
        rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("6"))
    assert refused.value.code == "insufficient_balance"
    assert str(refused.value) == "You have only $5.00 in rewards to redeem."
    # The refused redemption rolled back everything, the expiry it found included.
    assert not RewardEntry.objects.filter(kind="expired").exists()
    with time_machine.travel(TODAY):
        rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("5"))
    assert RewardEntry.objects.filter(kind="expired").count() == 1
    assert balance_of(tenants.org_a) == Decimal("0.00")


def test_ledger_and_allocations_agree(tenants):
    """balance = SUM(amount) = SUM(earned − its allocations), after every kind of entry."""
    grant(tenants.org_a, "10.00", earned_on=date(2025, 1, 1))
    grant(tenants.org_a, "25.00", earned_on=date(2026, 1, 1))
    with time_machine.travel(TODAY):
        rewards_redeem(
            contact=tenants.fin, invoice=make_invoice(tenants.org_a), amount=Decimal("7.5")
        )
    rewards_expire(today=TODAY)
    unspent = sum(e.remaining for e in RewardEntry.objects.unspent())
    assert unspent == balance_of(tenants.org_a) == Decimal("17.50")
    for consumer in RewardEntry.objects.exclude(kind="earned"):
        allocated = sum(a.amount for a in RewardAllocation.objects.filter(consumer=consumer))
        assert allocated == -consumer.amount


def test_beat_task_calls_the_job(tenants):
    grant(tenants.org_a, "10.00", earned_on=date(2020, 1, 1))
    assert rewards_expire_task.delay().get() == 1
    assert rewards_expire_task.delay().get() == 0
