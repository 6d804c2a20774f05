"""Subscriptions: status changes, the billing schedule and subscription invoicing.

The schedule and the invoices both come from `plans.billing`, so they agree to the cent:
the schedule row of a period and the invoice issued for it carry the same net, tax and total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contacts.models import Contact, Organization
from invoices.models import Invoice, InvoiceLine
from invoices.services import LineData, invoice_create
from plans.billing import (
    BillingPeriod,
    add_months,
    billing_end,
    subscription_billing_periods,
)
from plans.models import Subscription
from portal.money import ZERO

# Open-ended subscriptions are scheduled this far ahead.
OPEN_ENDED_HORIZON_MONTHS = 36
# Subscriptions with an end are scheduled to it, but never further than this.
MAX_HORIZON_MONTHS = 120
# Subscription invoices are due this long after the billing date.
PAYMENT_TERMS = timedelta(days=30)
# The daily invoicing job bills periods that started this many days back at most, so a job
# that did not run for a few days catches up, and a new installation does not bill years of
# history.
CATCH_UP_DAYS = 31
_BATCH = 500


class PlanError(Exception):
    """A refused change, with a message fit for the person who asked."""


# --- Status --------------------------------------------------------------------------------


def subscription_set_status(
    *,
    subscription: Subscription,
    status: str,
    reason: str = "",
    changed_at=None,
) -> Subscription:
    """Suspend, reactivate or terminate a subscription, recording when and why."""
    if status not in Subscription.Status.values:
        raise PlanError(_("Unknown subscription status."))
    reason = reason.strip()
    if status != Subscription.Status.ACTIVE and not reason:
        raise PlanError(_("Give the reason for the suspension or termination."))
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status == Subscription.Status.TERMINATED:
            raise PlanError(_("A terminated subscription can't change status."))
        if locked.status == status:
            raise PlanError(_("The subscription already has this status."))
        locked.status = status
        locked.status_changed_at = changed_at or timezone.now()
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_changed_at", "status_reason"])
    subscription.refresh_from_db()
    return subscription


# --- The billing schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    currency: str
    net: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    count: int = 0

    def plus(self, period: BillingPeriod) -> Totals:
        return Totals(
            currency=self.currency,
            net=self.net + period.net,
            tax=self.tax + period.tax,
            total=self.total + period.total,
            count=self.count + 1,
        )


@dataclass(frozen=True)
class ScheduleRow:
    subscription: Subscription
    period: BillingPeriod

    @property
    def currency(self) -> str:
        return self.period.currency


@dataclass(frozen=True)
class SubscriptionSchedule:
    subscription: Subscription
    periods: list[BillingPeriod]
    # The last billing date considered; `continues` when billing goes on after it.
    until: date
    continues: bool
    open_ended: bool


@dataclass(frozen=True)
class MonthTotals:
    month: date  # The first day of the month.
    totals: list[Totals]


@dataclass(frozen=True)
class BillingSchedule:
    today: date
    rows: list[ScheduleRow]  # By billing date, then plan.
    subscriptions: list[SubscriptionSchedule]
    suspended: list[Subscription]  # Not billed while suspended; listed with date and reason.
    totals: list[Totals]  # Per currency.
    months: list[MonthTotals]

    @property
    def horizon(self) -> date | None:
        """How far ahead open-ended subscriptions are shown, if there are any."""
        return max((s.until for s in self.subscriptions if s.open_ended), default=None)


def _scheduled_until(subscription: Subscription, *, today: date, limit: date | None) -> date:
    if limit is not None:
        return limit
    end = billing_end(subscription)
    if end is None:
        return add_months(today, OPEN_ENDED_HORIZON_MONTHS)
    return min(end, add_months(today, MAX_HORIZON_MONTHS))


def _sum_by_currency(periods) -> list[Totals]:
    totals: dict[str, Totals] = {}
    for period in periods:
        totals[period.currency] = totals.get(period.currency, Totals(period.currency)).plus(period)
    return [totals[currency] for currency in sorted(totals)]


def billing_schedule(
    *,
    contact: Contact | None = None,
    organization: Organization | None = None,
    today: date | None = None,
    horizon_months: int | None = None,
) -> BillingSchedule:
    """Every billing date from today on, per active subscription and in total (two queries).

    Subscriptions are scheduled to their billing end, open-ended ones 36 months ahead;
    `horizon_months` caps them all. Suspended subscriptions are listed apart, unbilled;
    terminated ones are left out.
    """
    if (contact is None) == (organization is None):
        raise ValueError("Pass exactly one of contact or organization.")
    today = today or timezone.localdate()
    limit = add_months(today, horizon_months) if horizon_months is not None else None
    scoped = (
        Subscription.objects.visible_to(contact)
        if contact is not None
        else Subscription.objects.filter(organization=organization)
    )
    current = (
        scoped.filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .filter(Q(contract__isnull=True) | Q(contract__end_date__gte=today))
        .select_related("plan", "contract")
        .order_by("plan__name", "start_date", "id")
    )
    active = list(current.filter(status=Subscription.Status.ACTIVE))
    suspended = list(current.filter(status=Subscription.Status.SUSPENDED))

    schedules, rows = [], []
    for subscription in active:
        until = _scheduled_until(subscription, today=today, limit=limit)
        periods = subscription_billing_periods(subscription, start=today, until=until)
        end = billing_end(subscription)
        schedules.append(
            SubscriptionSchedule(
                subscription=subscription,
                periods=periods,
                until=until,
                continues=end is None or end > until,
                open_ended=end is None,
            )
        )
        rows.extend(ScheduleRow(subscription=subscription, period=p) for p in periods)
    # Stable sort: same-day rows keep the plan order of the query.
    rows.sort(key=lambda row: row.period.start)

    by_month: dict[date, list[BillingPeriod]] = defaultdict(list)
    for row in rows:
        by_month[row.period.start.replace(day=1)].append(row.period)
    return BillingSchedule(
        today=today,
        rows=rows,
        subscriptions=schedules,
        suspended=suspended,
        totals=_sum_by_currency(row.period for row in rows),
        months=[
            MonthTotals(month=month, totals=_sum_by_currency(periods))
            for month, periods in sorted(by_month.items())
        ],
    )


# --- Invoicing subscriptions ----------------------------------------------------------------


def subscription_invoice_number(subscription: Subscription, period: BillingPeriod) -> str:
    """Deterministic, so a period is invoiced once: SUB-<12 hex of the id>-<YYYYMMDD>."""
    return f"SUB-{subscription.public_id.hex[:12].upper()}-{period.start:%Y%m%d}"


def _quantity_text(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"


def subscription_period_line(subscription: Subscription, period: BillingPeriod) -> LineData:
    """The invoice line of a period; its amount is the period's net, to the cent.

    A full period is `quantity × unit price`, which `invoice_create` rounds exactly like
    the engine. A prorated period is one line of `1 × net`: the description states the
    quantity, unit price and days, and no per-unit prorated price has to be rounded.
    """
    values = {
        "plan": subscription.plan.name,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "quantity": _quantity_text(subscription.quantity),
        "unit_price": f"{subscription.unit_price.normalize():f}",
        "currency": subscription.currency,
        "days": period.days,
        "full_days": period.full_days,
    }
    if period.prorated:
        description = (
            _(
                "%(plan)s (%(start)s – %(end)s): %(quantity)s × %(unit_price)s %(currency)s, "
                "prorated for %(days)s of %(full_days)s days"
            )
            % values
        )
        quantity, unit_price = Decimal("1"), period.net
    else:
        description = _("%(plan)s (%(start)s – %(end)s)") % values
        quantity, unit_price = subscription.quantity, subscription.unit_price
    return LineData(
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        tax_rate=subscription.tax_rate,
        period_start=period.start,
        period_end=period.end,
        reference=str(subscription.public_id),
        subscription_id=subscription.pk,
    )


def _invoice_period(*, subscription: Subscription, period: BillingPeriod) -> tuple[Invoice, bool]:
    """(invoice, created): the period's invoice, issued now unless it exists already."""
    with transaction.atomic():
        # The lock serialises invoicing of one subscription: the check below then sees
        # any invoice a concurrent run committed.
        locked = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("organization", "plan", "contract")
            .get(pk=subscription.pk)
        )
        if locked.status != Subscription.Status.ACTIVE:
            raise PlanError(_("Only active subscriptions are invoiced."))
        expected = subscription_billing_periods(locked, start=period.start, until=period.start)
        if not expected or expected[0] != period:
            raise PlanError(_("This is not a billing period of the subscription."))
        existing = (
            InvoiceLine.objects.filter(subscription=locked, period_start=period.start)
            .select_related("invoice")
            .first()
        )
        if existing is not None:
            return existing.invoice, False
        number = subscription_invoice_number(locked, period)
        invoice = Invoice.objects.filter(number=number).first()
        if invoice is not None:
            return invoice, False
        with translation.override(locked.organization.language):
            line = subscription_period_line(locked, period)
        try:
            with transaction.atomic():
                invoice = invoice_create(
                    organization=locked.organization,
                    number=number,
                    issue_date=period.start,
                    due_date=period.start + PAYMENT_TERMS,
                    currency=locked.currency,
                    lines=[line],
                )
        except IntegrityError:  # Issued meanwhile under the same number.
            return Invoice.objects.get(number=number), False
    return invoice, True


def subscriptions_invoice_period(*, subscription: Subscription, period: BillingPeriod) -> Invoice:
    """Invoice one billing period of an active subscription, once (idempotent)."""
    invoice, _created = _invoice_period(subscription=subscription, period=period)
    return invoice


def _chunks(iterable, size: int):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def subscriptions_invoice_due(
    *, today: date | None = None, catch_up_days: int = CATCH_UP_DAYS
) -> int:
    """Invoice every active subscription's periods due by today (the daily job); a count.

    Run twice, the second run finds every period invoiced and issues nothing.
    """
    today = today or timezone.localdate()
    since = today - timedelta(days=catch_up_days)
    subscriptions = (
        Subscription.objects.active()
        .filter(start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=since))
        .filter(Q(contract__isnull=True) | Q(contract__end_date__gte=since))
        .select_related("plan", "contract", "organization")
        .order_by("id")
    )
    issued = 0
    for chunk in _chunks(subscriptions.iterator(chunk_size=_BATCH), _BATCH):
        invoiced = set(
            InvoiceLine.objects.filter(
                subscription_id__in=[s.pk for s in chunk], period_start__gte=since
            ).values_list("subscription_id", "period_start")
        )
        for subscription in chunk:
            for period in subscription_billing_periods(subscription, start=since, until=today):
                if (subscription.pk, period.start) in invoiced:
                    continue
                try:
                    _invoice, created = _invoice_period(subscription=subscription, period=period)
                except PlanError:  # Suspended or changed since it was read: not due now.
                    break
                issued += created
    return issued
