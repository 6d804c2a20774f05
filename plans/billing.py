"""The billing-period engine: every billing date and amount of a subscription, derived once.

The schedule page, its downloads, the dashboard card and subscription invoicing all read
periods from here, so what the customer is shown is what they are invoiced.

Rules
- Periods start on the subscription's `start_date` and advance by 1, 3 or 12 months,
  anchored on the start day: period n starts `n × step` months after the start, on the start
  day clamped to the month's length (Jan 31 → Feb 28/29 → Mar 31 → Apr 30 …). Each start is
  computed from the anchor, never from the previous period, so a short month never drifts
  the later dates. A period ends the day before the next one starts (dates are inclusive).
- Each period is billed in advance, on its start date (the billing date).
- Billing stops at the subscription's billing end: the earlier of its own `end_date` and its
  contract's `end_date` (inclusive). A period cut short by that end is prorated by days.
  A first period is never partial: periods anchor on the start date.
- Amounts, rounded half up to the currency's minor unit by `portal.money.quantize`:
    full period:  net = quantize(quantity × unit_price)
    prorated:     net = quantize(quantity × unit_price × days_used / days_in_full_period)
                  — multiplied first, divided once, rounded once
    tax:          tax = quantize(net × tax_rate / 100)
    total:        net + tax
  These are exactly the formulas `invoices.services.invoice_create` applies to a line, so a
  line of `quantity × unit_price` (full period) or `1 × net` (prorated period) invoices the
  same cents (see `plans.services.subscription_period_line`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

from portal.money import quantize

if TYPE_CHECKING:
    from plans.models import Subscription

STEP_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
# Enough digits that quantity × unit_price × days is exact before the single division.
_PRECISION = 50


@dataclass(frozen=True)
class BillingPeriod:
    """One billed period of a subscription; `end` is inclusive."""

    start: date
    end: date
    # The day before the next period would start: `end` unless the period is prorated.
    full_end: date
    currency: str
    net: Decimal
    tax: Decimal
    total: Decimal
    prorated: bool

    @property
    def billing_date(self) -> date:
        return self.start

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def full_days(self) -> int:
        return (self.full_end - self.start).days + 1


def add_months(day: date, months: int, *, anchor_day: int | None = None) -> date:
    """`day` moved by whole months, on `anchor_day` (default: its own day) clamped to the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor_day or day.day, last))


def step_months(frequency: str) -> int:
    return STEP_MONTHS[frequency]


def period_start(subscription: Subscription, index: int) -> date:
    """The start (billing date) of period `index` (0 = the subscription's start)."""
    start = subscription.start_date
    return add_months(start, index * step_months(subscription.frequency), anchor_day=start.day)


def billing_end(subscription: Subscription) -> date | None:
    """The last billed day: the earlier of the subscription's and its contract's end."""
    contract = subscription.contract  # No query when there is none; select_related it.
    ends = [d for d in (subscription.end_date, contract.end_date if contract else None) if d]
    return min(ends) if ends else None


def period_amounts(
    subscription: Subscription, *, days_used: int, full_days: int
) -> tuple[Decimal, Decimal]:
    """(net, tax) of a period of which `days_used` of `full_days` are billed."""
    currency = subscription.currency
    with localcontext() as context:
        context.prec = _PRECISION
        gross = subscription.quantity * subscription.unit_price
        if days_used >= full_days:
            net = quantize(gross, currency)
        else:
            net = quantize(gross * days_used / full_days, currency)
        tax = quantize(net * subscription.tax_rate / 100, currency)
    return net, tax


def _first_index_from(subscription: Subscription, day: date) -> int:
    """The index of the first period starting on or after `day`."""
    start = subscription.start_date
    if day <= start:
        return 0
    months = (day.year - start.year) * 12 + day.month - start.month
    index = max(months // step_months(subscription.frequency) - 1, 0)
    while period_start(subscription, index) < day:
        index += 1
    return index


def subscription_billing_periods(
    subscription: Subscription, *, start: date | None = None, until: date | None = None
) -> list[BillingPeriod]:
    """The periods whose billing date lies in [start, until] (both inclusive, both optional).

    Without `until` the subscription must have a billing end; open-ended subscriptions
    need a bound. Reads `subscription.contract` (select_related it for many subscriptions).
    """
    end = billing_end(subscription)
    if until is None and end is None:
        raise ValueError("An open-ended subscription needs `until`.")
    last_billing_date = min(d for d in (end, until) if d is not None)
    periods: list[BillingPeriod] = []
    index = _first_index_from(subscription, start) if start else 0
    current = period_start(subscription, index)
    while current <= last_billing_date:
        following = period_start(subscription, index + 1)
        full_end = following - timedelta(days=1)
        period_end = min(full_end, end) if end is not None else full_end
        days_used = (period_end - current).days + 1
        full_days = (full_end - current).days + 1
        net, tax = period_amounts(subscription, days_used=days_used, full_days=full_days)
        periods.append(
            BillingPeriod(
                start=current,
                end=period_end,
                full_end=full_end,
                currency=subscription.currency,
                net=net,
                tax=tax,
                total=net + tax,
                prorated=period_end < full_end,
            )
        )
        index, current = index + 1, following
    return periods


def next_billing_period(subscription: Subscription, *, today: date) -> BillingPeriod | None:
    """The first period billed on or after `today`, or None when billing has ended."""
    # Consecutive billing dates are at most 366 days apart (annual, across a 29 February).
    periods = subscription_billing_periods(
        subscription, start=today, until=today + timedelta(days=366)
    )
    return periods[0] if periods else None
