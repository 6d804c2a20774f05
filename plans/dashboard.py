"""The plans dashboard card: active subscriptions and the next billing date with its amount."""

from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact
from contacts.roles import Module
from plans.billing import next_billing_period
from plans.models import Subscription
from portal.money import ZERO


def dashboard_card(contact: Contact) -> dict:
    """Two queries: the count, then the billing fields the engine needs (no amounts in SQL)."""
    today = timezone.localdate()
    active = Subscription.objects.visible_to(contact).active()
    count = active.count()
    billed = (
        active.filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .filter(Q(contract__isnull=True) | Q(contract__end_date__gte=today))
        .select_related("contract")
        .only(
            "start_date",
            "end_date",
            "frequency",
            "quantity",
            "unit_price",
            "currency",
            "tax_rate",
            "contract__end_date",
        )
        .order_by()
    )
    next_date, totals = None, {}
    for subscription in billed:
        period = next_billing_period(subscription, today=today)
        if period is None or (next_date is not None and period.start > next_date):
            continue
        if next_date is None or period.start < next_date:
            next_date, totals = period.start, {}
        totals[period.currency] = totals.get(period.currency, ZERO) + period.total
    return {
        "module": Module.PLANS,
        "template": "plans/card.html",
        "active": count,
        "next_billing": {"date": next_date, "totals": dict(sorted(totals.items()))},
    }
