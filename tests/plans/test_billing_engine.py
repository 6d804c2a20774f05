"""The billing-period engine on its own: dates, anchors, proration and rounding."""

from datetime import date
from decimal import Decimal

import pytest

from contracts.models import Contract
from plans.billing import add_months, billing_end, next_billing_period, subscription_billing_periods
from plans.models import Subscription


def _subscription(
    *,
    frequency="monthly",
    start=date(2026, 1, 1),
    end=None,
    contract_end=None,
    quantity="1",
    unit_price="100.00",
    tax_rate="0",
    currency="USD",
) -> Subscription:
    contract = (
        Contract(number="C-1", start_date=start, end_date=contract_end, currency=currency, value=0)
        if contract_end
        else None
    )
    return Subscription(
        contract=contract,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        currency=currency,
        tax_rate=Decimal(tax_rate),
        frequency=frequency,
        start_date=start,
        end_date=end,
    )


def _starts(periods):
    return [p.start for p in periods]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day, months, expected):
    assert add_months(day, months) == expected


def test_month_end_anchor_returns_to_the_31st_instead_of_drifting():
    periods = subscription_billing_periods(
        _subscription(start=date(2026, 1, 31)), until=date(2026, 8, 31)
    )
    assert _starts(periods) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
        date(2026, 8, 31),
    ]
    # Each period ends the day before the next begins: no gaps, no overlaps.
    assert [(p.start, p.end) for p in periods[:3]] == [
        (date(2026, 1, 31), date(2026, 2, 27)),
        (date(2026, 2, 28), date(2026, 3, 30)),
        (date(2026, 3, 31), date(2026, 4, 29)),
    ]
    assert not any(p.prorated for p in periods)
    assert {p.net for p in periods} == {Decimal("100.00")}


def test_leap_years_keep_the_29th_february_anchor():
    annual = subscription_billing_periods(
        _subscription(frequency="annual", start=date(2024, 2, 29)), until=date(2028, 12, 31)
    )
    assert _starts(annual) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    assert annual[0].full_days == 365  # 29 Feb 2024 – 27 Feb 2025.
    monthly = subscription_billing_periods(
        _subscription(start=date(2028, 1, 31)), until=date(2028, 3, 31)
    )
    assert _starts(monthly) == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]


def test_quarterly_periods_anchor_on_the_start_day():
    periods = subscription_billing_periods(
        _subscription(frequency="quarterly", start=date(2026, 11, 30)), until=date(2027, 12, 1)
    )
    assert _starts(periods) == [
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 8, 30),
        date(2027, 11, 30),
    ]


def test_final_period_is_prorated_by_days_with_an_inclusive_end():
    # 3 × 99.99 = 299.97 a month; the contract ends on 20 June: 10–20 June is 11 of 30 days.
    subscription = _subscription(
        start=date(2026, 1, 10),
        contract_end=date(2026, 6, 20),
        quantity="3",
        unit_price="99.99",
        tax_rate="19",
    )
    periods = subscription_billing_periods(subscription)
    assert len(periods) == 6
    last = periods[-1]
    assert (last.start, last.end, last.full_end) == (
        date(2026, 6, 10),
        date(2026, 6, 20),
        date(2026, 7, 9),
    )
    assert (last.days, last.full_days, last.prorated) == (11, 30, True)
    assert last.net == Decimal("109.99")  # 299.97 × 11 / 30 = 109.989
    assert last.tax == Decimal("20.90")  # 109.99 × 19 % = 20.8981
    assert last.total == Decimal("130.89")
    assert periods[0].net == Decimal("299.97") and periods[0].tax == Decimal("56.99")


def test_an_end_on_the_last_day_of_a_period_bills_it_in_full():
    periods = subscription_billing_periods(
        _subscription(start=date(2026, 1, 10), end=date(2026, 3, 9))
    )
    assert _starts(periods) == [date(2026, 1, 10), date(2026, 2, 10)]
    assert not periods[-1].prorated


def test_an_end_on_a_billing_date_bills_one_day():
    periods = subscription_billing_periods(
        _subscription(start=date(2026, 1, 1), end=date(2026, 3, 1), unit_price="31.00")
    )
    assert (periods[-1].start, periods[-1].days, periods[-1].full_days) == (
        date(2026, 3, 1),
        1,
        31,
    )
    assert periods[-1].net == Decimal("1.00")


def test_the_earlier_of_subscription_and_contract_end_wins():
    subscription = _subscription(end=date(2026, 5, 15), contract_end=date(2026, 4, 15))
    assert billing_end(subscription) == date(2026, 4, 15)
    subscription = _subscription(end=date(2026, 3, 15), contract_end=date(2026, 4, 15))
    assert billing_end(subscription) == date(2026, 3, 15)
    assert billing_end(_subscription()) is None


def test_a_leap_february_counts_in_the_prorated_days():
    # Annual from 1 March 2027: the first period has 366 days (29 Feb 2028 is in it).
    subscription = _subscription(
        frequency="annual", start=date(2027, 3, 1), end=date(2027, 8, 31), unit_price="3660.00"
    )
    (period,) = subscription_billing_periods(subscription)
    assert (period.days, period.full_days) == (184, 366)
    assert period.net == Decimal("1840.00")


def test_rounding_is_half_up_once_on_the_prorated_amount():
    # One day of February: 17.50 × 1 / 28 = 0.625 exactly → 0.63 (half up, not 0.62).
    subscription = _subscription(
        frequency="monthly", start=date(2026, 2, 1), end=date(2026, 2, 1), unit_price="17.50"
    )
    (period,) = subscription_billing_periods(subscription)
    assert (period.days, period.full_days) == (1, 28)
    assert period.net == Decimal("0.63")


def test_currencies_without_minor_units_round_to_whole_amounts():
    subscription = _subscription(
        currency="JPY", unit_price="1000", end=date(2026, 1, 10), tax_rate="10"
    )
    (period,) = subscription_billing_periods(subscription)
    assert period.net == Decimal("323")  # 1000 × 10 / 31 = 322.58
    assert period.tax == Decimal("32")


def test_start_and_until_select_billing_dates_inclusively():
    subscription = _subscription(start=date(2020, 1, 31))
    periods = subscription_billing_periods(
        subscription, start=date(2026, 2, 28), until=date(2026, 4, 30)
    )
    assert _starts(periods) == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert (
        subscription_billing_periods(subscription, start=date(2026, 3, 1), until=date(2026, 3, 30))
        == []
    )


def test_no_periods_before_the_start_or_after_the_end():
    assert (
        subscription_billing_periods(_subscription(start=date(2026, 5, 1)), until=date(2026, 4, 30))
        == []
    )
    assert (
        subscription_billing_periods(_subscription(start=date(2026, 5, 1), end=date(2026, 4, 1)))
        == []
    )


def test_open_ended_subscriptions_need_a_bound():
    with pytest.raises(ValueError, match="until"):
        subscription_billing_periods(_subscription())


def test_next_billing_period_looks_from_today():
    subscription = _subscription(frequency="annual", start=date(2024, 2, 29))
    assert next_billing_period(subscription, today=date(2027, 3, 1)).start == date(2028, 2, 29)
    assert next_billing_period(subscription, today=date(2028, 2, 29)).start == date(2028, 2, 29)
    ended = _subscription(start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert next_billing_period(ended, today=date(2026, 1, 1)) is None
