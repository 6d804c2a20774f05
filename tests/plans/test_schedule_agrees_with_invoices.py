"""Acceptance: the billing schedule agrees, to the cent, with the invoices the same
subscriptions produce — monthly, quarterly, annual, mid-period start, a contract ending
mid-period, a month-end anchor and leap years, each with plain and awkward prices."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from invoices.models import Invoice, InvoiceLine
from plans.services import billing_schedule, subscriptions_invoice_due, subscriptions_invoice_period
from tests.contacts.factories import OrganizationFactory
from tests.plans.factories import ContractFactory, PlanFactory, SubscriptionFactory

CASES = [
    # (id, frequency, start, subscription end, contract end, today, rows, prorated rows)
    ("monthly_open_ended", "monthly", date(2026, 1, 1), None, None, date(2026, 1, 1), 37, 0),
    ("quarterly", "quarterly", date(2026, 1, 1), None, date(2027, 12, 31), date(2026, 1, 1), 8, 0),
    ("annual", "annual", date(2026, 1, 1), date(2030, 12, 31), None, date(2026, 1, 1), 5, 0),
    # Starts mid-month; seen mid-period: the schedule begins at the next billing date.
    (
        "mid_period_start",
        "monthly",
        date(2026, 3, 15),
        date(2027, 3, 14),
        None,
        date(2026, 4, 20),
        10,
        0,
    ),
    (
        "monthly_contract_ends_mid_period",
        "monthly",
        date(2026, 1, 10),
        None,
        date(2026, 6, 20),
        date(2026, 1, 10),
        6,
        1,
    ),
    (
        "quarterly_contract_ends_mid_period",
        "quarterly",
        date(2026, 1, 1),
        None,
        date(2026, 8, 15),
        date(2026, 1, 1),
        3,
        1,
    ),
    (
        "annual_contract_ends_mid_period",
        "annual",
        date(2026, 4, 1),
        None,
        date(2028, 1, 31),
        date(2026, 4, 1),
        2,
        1,
    ),
    (
        "month_end_anchor",
        "monthly",
        date(2026, 1, 31),
        None,
        date(2026, 7, 15),
        date(2026, 1, 31),
        6,
        1,
    ),
    (
        "leap_february_prorated",
        "monthly",
        date(2028, 1, 31),
        date(2028, 3, 15),
        None,
        date(2028, 1, 31),
        2,
        1,
    ),
    ("leap_annual_anchor", "annual", date(2024, 2, 29), None, None, date(2026, 1, 1), 3, 0),
]
PRICES = [
    pytest.param(("1", "100.00", "0.00"), id="plain"),
    pytest.param(("3.333", "19.9999", "19.00"), id="awkward"),
]


def _subscribe(organization, *, frequency, start, end, contract_end, price):
    quantity, unit_price, tax_rate = price
    contract = (
        ContractFactory(organization=organization, start_date=start, end_date=contract_end)
        if contract_end
        else None
    )
    return SubscriptionFactory(
        organization=organization,
        contract=contract,
        plan=PlanFactory(name="Cloud Platform"),
        frequency=frequency,
        start_date=start,
        end_date=end,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        tax_rate=Decimal(tax_rate),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("price", PRICES)
@pytest.mark.parametrize(
    ("frequency", "start", "end", "contract_end", "today", "rows", "prorated"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_schedule_row_equals_the_invoice_of_its_period(
    frequency, start, end, contract_end, today, rows, prorated, price
):
    organization = OrganizationFactory(currency="EUR")
    subscription = _subscribe(
        organization,
        frequency=frequency,
        start=start,
        end=end,
        contract_end=contract_end,
        price=price,
    )
    schedule = billing_schedule(organization=organization, today=today)

    assert len(schedule.rows) == rows
    assert sum(row.period.prorated for row in schedule.rows) == prorated
    assert all(row.period.start >= today for row in schedule.rows)
    invoices = [
        subscriptions_invoice_period(subscription=subscription, period=row.period)
        for row in schedule.rows
    ]
    for row, invoice in zip(schedule.rows, invoices, strict=True):
        assert invoice.currency == "EUR"
        assert invoice.issue_date == row.period.start
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
            row.period.net,
            row.period.tax,
            row.period.total,
        )
        line = invoice.lines.get()
        assert line.subscription_id == subscription.pk
        assert (line.period_start, line.period_end) == (row.period.start, row.period.end)
    (totals,) = schedule.totals
    assert totals.count == len(invoices)
    assert totals.net == sum((i.subtotal for i in invoices), Decimal("0"))
    assert totals.tax == sum((i.tax_total for i in invoices), Decimal("0"))
    assert totals.total == sum((i.total for i in invoices), Decimal("0"))
    assert sum(t.total for month in schedule.months for t in month.totals) == totals.total


@pytest.mark.django_db
def test_prorated_invoice_line_states_quantity_price_and_days():
    organization = OrganizationFactory(currency="USD")
    subscription = _subscribe(
        organization,
        frequency="monthly",
        start=date(2026, 1, 10),
        end=None,
        contract_end=date(2026, 6, 20),
        price=("3", "99.99", "19.00"),
    )
    last = billing_schedule(organization=organization, today=date(2026, 6, 1)).rows[-1].period
    invoice = subscriptions_invoice_period(subscription=subscription, period=last)

    line = invoice.lines.get()
    assert line.description == (
        "Cloud Platform (2026-06-10 – 2026-06-20): 3 × 99.99 USD, prorated for 11 of 30 days"
    )
    assert (line.quantity, line.unit_price, line.amount) == (
        Decimal("1"),
        Decimal("109.99"),
        Decimal("109.99"),
    )
    assert invoice.total == Decimal("130.89")


@pytest.mark.django_db
def test_full_period_line_is_quantity_times_unit_price():
    organization = OrganizationFactory(currency="USD")
    subscription = _subscribe(
        organization,
        frequency="quarterly",
        start=date(2026, 1, 1),
        end=None,
        contract_end=date(2026, 12, 31),
        price=("3.333", "19.9999", "8.25"),
    )
    first = billing_schedule(organization=organization, today=date(2026, 1, 1)).rows[0].period
    line = subscriptions_invoice_period(subscription=subscription, period=first).lines.get()

    assert line.description == "Cloud Platform (2026-01-01 – 2026-03-31)"
    assert (line.quantity, line.unit_price) == (Decimal("3.333"), Decimal("19.9999"))
    assert line.amount == Decimal("66.66")  # 66.6596667 rounded half up.
    assert line.tax_amount == Decimal("5.50")  # 66.66 × 8.25 % = 5.49945


@pytest.mark.django_db
def test_the_daily_job_issues_exactly_the_schedule_of_a_mixed_account():
    """Run the job every day from the start: the invoices are the schedule, row for row."""
    organization = OrganizationFactory(currency="USD")
    today = date(2026, 1, 31)
    subscriptions = [
        _subscribe(
            organization,
            frequency="monthly",
            start=date(2026, 1, 31),
            end=None,
            contract_end=date(2026, 9, 10),
            price=("3.333", "19.9999", "19.00"),
        ),
        _subscribe(
            organization,
            frequency="quarterly",
            start=date(2026, 2, 15),
            end=date(2026, 10, 1),
            contract_end=None,
            price=("2", "1150.00", "8.25"),
        ),
        _subscribe(
            organization,
            frequency="annual",
            start=date(2026, 3, 1),
            end=None,
            contract_end=date(2027, 1, 15),
            price=("1", "5400.00", "0.00"),
        ),
    ]
    schedule = billing_schedule(organization=organization, today=today)
    assert len(schedule.subscriptions) == len(subscriptions)

    day = today
    while day <= date(2027, 1, 15):
        subscriptions_invoice_due(today=day)
        day += timedelta(days=1)

    lines = {
        (line.subscription_id, line.period_start): line.invoice
        for line in InvoiceLine.objects.filter(invoice__organization=organization).select_related(
            "invoice"
        )
    }
    expected = {(row.subscription.pk, row.period.start): row.period for row in schedule.rows}
    assert lines.keys() == expected.keys()
    for key, period in expected.items():
        assert lines[key].total == period.total
    (totals,) = schedule.totals
    assert totals.total == sum(i.total for i in Invoice.objects.filter(organization=organization))
