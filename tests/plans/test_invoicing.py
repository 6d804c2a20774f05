from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import Invoice
from plans.billing import subscription_billing_periods
from plans.models import Subscription
from plans.services import (
    PlanError,
    subscription_invoice_number,
    subscription_set_status,
    subscriptions_invoice_due,
    subscriptions_invoice_period,
)
from plans.tasks import subscriptions_invoice_due_task
from tests.contacts.factories import OrganizationFactory
from tests.plans.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def organization():
    return OrganizationFactory(currency="USD", language="en")


def test_second_run_of_the_job_issues_nothing(organization):
    subscription = SubscriptionFactory(organization=organization, start_date=date(2026, 1, 5))
    SubscriptionFactory(
        organization=organization, start_date=date(2026, 1, 20), frequency="quarterly"
    )

    assert subscriptions_invoice_due(today=date(2026, 2, 5)) == 3
    assert subscriptions_invoice_due(today=date(2026, 2, 5)) == 0
    assert Invoice.objects.filter(organization=organization).count() == 3
    # Invoicing a period directly returns the same invoice; nothing new.
    period = subscription_billing_periods(subscription, until=date(2026, 1, 5))[0]
    again = subscriptions_invoice_period(subscription=subscription, period=period)
    assert again.number == subscription_invoice_number(subscription, period)
    assert Invoice.objects.filter(organization=organization).count() == 3


def test_one_invoice_per_period_with_a_deterministic_number(organization):
    subscription = SubscriptionFactory(organization=organization, start_date=date(2026, 1, 31))
    subscriptions_invoice_due(today=date(2026, 2, 28))

    invoices = list(Invoice.objects.order_by("issue_date"))
    short = subscription.public_id.hex[:12].upper()
    assert [i.number for i in invoices] == [f"SUB-{short}-20260131", f"SUB-{short}-20260228"]
    assert [i.due_date for i in invoices] == [date(2026, 3, 2), date(2026, 3, 30)]


def test_periods_are_billed_on_their_start_and_not_before(organization):
    SubscriptionFactory(organization=organization, start_date=date(2026, 3, 10))
    assert subscriptions_invoice_due(today=date(2026, 3, 9)) == 0
    assert subscriptions_invoice_due(today=date(2026, 3, 10)) == 1


def test_the_job_catches_up_a_month_but_does_not_bill_old_history(organization):
    SubscriptionFactory(organization=organization, start_date=date(2020, 1, 1))
    # 31 days back from 1 March reaches 29 January: 1 February and 1 March are billed.
    assert subscriptions_invoice_due(today=date(2026, 3, 1)) == 2
    assert set(Invoice.objects.values_list("issue_date", flat=True)) == {
        date(2026, 2, 1),
        date(2026, 3, 1),
    }


def test_suspended_and_terminated_subscriptions_are_not_invoiced(organization):
    suspended = SubscriptionFactory(organization=organization, start_date=date(2026, 1, 1))
    subscription_set_status(
        subscription=suspended, status=Subscription.Status.SUSPENDED, reason="Customer asked"
    )
    terminated = SubscriptionFactory(organization=organization, start_date=date(2026, 1, 1))
    subscription_set_status(
        subscription=terminated, status=Subscription.Status.TERMINATED, reason="Cancelled"
    )

    assert subscriptions_invoice_due(today=date(2026, 1, 1)) == 0
    period = subscription_billing_periods(suspended, until=date(2026, 1, 1))[0]
    with pytest.raises(PlanError):
        subscriptions_invoice_period(subscription=suspended, period=period)
    assert not Invoice.objects.exists()


def test_a_period_that_is_not_the_subscriptions_is_refused(organization):
    subscription = SubscriptionFactory(organization=organization, start_date=date(2026, 1, 1))
    period = subscription_billing_periods(subscription, until=date(2026, 1, 1))[0]
    subscription.unit_price = Decimal("1.00")  # A stale or made-up amount.
    stale = subscription_billing_periods(subscription, until=date(2026, 1, 1))[0]
    subscription.refresh_from_db()

    with pytest.raises(PlanError):
        subscriptions_invoice_period(subscription=subscription, period=stale)
    assert subscriptions_invoice_period(subscription=subscription, period=period).total == (
        Decimal("100.00")
    )


def test_invoice_line_points_back_to_the_subscription():
    organization = OrganizationFactory(currency="EUR", language="de")
    subscription = SubscriptionFactory(organization=organization, start_date=date(2026, 1, 1))
    subscriptions_invoice_due(today=date(2026, 1, 1))
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    assert invoice.organization == organization and invoice.currency == "EUR"
    assert line.subscription_id == subscription.pk
    assert line.reference == str(subscription.public_id)
    assert line.description == f"{subscription.plan.name} (2026-01-01 – 2026-01-31)"


def test_the_daily_task_calls_the_job(organization):
    SubscriptionFactory(organization=organization, start_date=timezone.localdate())
    assert subscriptions_invoice_due_task.delay().get() == 1
    assert subscriptions_invoice_due_task.delay().get() == 0


# --- Status changes ----------------------------------------------------------------------------


def test_suspension_records_date_and_reason(organization):
    subscription = SubscriptionFactory(organization=organization)
    when = timezone.now() - timedelta(days=3)
    subscription_set_status(
        subscription=subscription,
        status=Subscription.Status.SUSPENDED,
        reason="  Suspended at customer's request ",
        changed_at=when,
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.SUSPENDED
    assert subscription.status_changed_at == when
    assert subscription.status_reason == "Suspended at customer's request"


@pytest.mark.parametrize(
    ("start", "target", "reason"),
    [
        ("active", "suspended", ""),  # A suspension needs a reason.
        ("active", "active", ""),  # No change.
        ("terminated", "active", ""),  # Terminated is final.
        ("active", "paused", "x"),  # Unknown status.
    ],
)
def test_refused_status_changes(organization, start, target, reason):
    subscription = SubscriptionFactory(organization=organization, status=start)
    with pytest.raises(PlanError):
        subscription_set_status(subscription=subscription, status=target, reason=reason)
    subscription.refresh_from_db()
    assert subscription.status == start


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_issue_each_invoice_once():
    import threading

    from django.db import connection

    organization = OrganizationFactory(currency="USD")
    for day in (1, 5, 9):
        SubscriptionFactory(organization=organization, start_date=date(2026, 1, day))
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(subscriptions_invoice_due(today=date(2026, 2, 10)))
        except Exception as error:  # Reported below; a thread can't fail the test itself.
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(results) == 3  # February for each (January is past the catch-up window).
    assert Invoice.objects.filter(organization=organization).count() == 3
