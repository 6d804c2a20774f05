"""Real concurrency on PostgreSQL: threads, each with its own connection, released together."""

import threading
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from invoices.models import Invoice, InvoiceAdjustment
from rewards.models import RewardEntry
from rewards.services import RewardError, rewards_expire, rewards_redeem
from tests.invoices.factories import make_invoice
from tests.rewards.factories import balance_of, grant

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 10


def _run_together(work, count=THREADS):
    """Run work(i) in `count` threads released at once; returns their results or errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as error:  # Collected and asserted on by the test.
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _assert_running_balance_never_negative(organization):
    running = Decimal("0")
    for amount in (
        RewardEntry.objects.filter(organization=organization).order_by("id").values_list("amount")
    ):
        running += amount[0]
        assert running >= 0


def _outcomes(results):
    applied = [r for r in results if isinstance(r, RewardEntry)]
    refused = [r for r in results if isinstance(r, RewardError)]
    unexpected = [r for r in results if not isinstance(r, RewardEntry | RewardError)]
    assert not unexpected, unexpected
    return applied, refused


def test_ten_concurrent_redemptions_against_a_balance_for_three_apply_exactly_three(tenants):
    grant(tenants.org_a, "10.00", earned_on=date.today() - timedelta(days=30))
    grant(tenants.org_a, "20.00", earned_on=date.today() - timedelta(days=5))
    invoice = make_invoice(tenants.org_a, amounts=["1000.00"])

    def redeem(_i):
        return rewards_redeem(
            contact=tenants.fin,
            invoice=Invoice.objects.get(pk=invoice.pk),
            amount=Decimal("10.00"),
            token=uuid.uuid4(),
        )

    applied, refused = _outcomes(_run_together(redeem))

    assert len(applied) == 3 and len(refused) == 7
    assert {error.code for error in refused} == {"insufficient_balance"}
    assert balance_of(tenants.org_a) == Decimal("0.00")
    _assert_running_balance_never_negative(tenants.org_a)
    invoice.refresh_from_db()
    credits = InvoiceAdjustment.objects.filter(invoice=invoice, kind="credit")
    assert sum(c.amount for c in credits) == Decimal("30.00") == invoice.credits_applied
    assert invoice.balance == Decimal("970.00")


def test_concurrent_redemptions_on_different_invoices_never_overdraw(tenants):
    grant(tenants.org_a, "35.00")
    invoices = [make_invoice(tenants.org_a, amounts=["100.00"]) for _ in range(THREADS)]

    def redeem(i):
        return rewards_redeem(
            contact=tenants.fin, invoice=invoices[i], amount=Decimal("10.00"), token=uuid.uuid4()
        )

    applied, refused = _outcomes(_run_together(redeem))

    assert len(applied) == 3 and len(refused) == 7
    assert balance_of(tenants.org_a) == Decimal("5.00")
    _assert_running_balance_never_negative(tenants.org_a)
    credited = InvoiceAdjustment.objects.filter(invoice__in=invoices, kind="credit")
    assert sum(c.amount for c in credited) == Decimal("30.00")


def test_the_same_form_posted_ten_times_at_once_applies_once(tenants):
    grant(tenants.org_a, "100.00")
    invoice = make_invoice(tenants.org_a, amounts=["1000.00"])
    token = uuid.uuid4()

    def redeem(_i):
        return rewards_redeem(
            contact=tenants.fin,
            invoice=Invoice.objects.get(pk=invoice.pk),
            amount=Decimal("10.00"),
            token=token,
        )

    applied, refused = _outcomes(_run_together(redeem))

    assert len(applied) == THREADS and not refused
    assert len({entry.pk for entry in applied}) == 1
    assert balance_of(tenants.org_a) == Decimal("90.00")
    assert InvoiceAdjustment.objects.filter(invoice=invoice).count() == 1


def test_concurrent_expiry_runs_expire_each_remainder_once(tenants):
    for days in (400, 390, 380):
        grant(tenants.org_a, "10.00", earned_on=date.today() - timedelta(days=days))
    grant(tenants.org_a, "7.00")  # Not due.

    results = _run_together(lambda _i: rewards_expire(), count=4)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.entries for r in results) == 3
    assert RewardEntry.objects.filter(kind="expired").count() == 3
    assert balance_of(tenants.org_a) == Decimal("7.00")
