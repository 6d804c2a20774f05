"""The orders card of the dashboard: orders in progress and those awaiting payment."""

from django.db.models import Count, Q, Sum

from contacts.models import Contact
from contacts.roles import Module
from orders.models import Order
from portal.money import ZERO


def dashboard_card(contact: Contact) -> dict:
    """One grouped query over the orders the contact may see (finance: awaiting payment)."""
    awaiting = Q(payment_status=Order.PaymentStatus.AWAITING)
    rows = (
        Order.objects.visible_by_role(contact)
        .order_by()
        .values("currency")
        .annotate(
            in_progress=Count("pk", filter=Q(status__in=Order.IN_PROGRESS)),
            awaiting_count=Count("pk", filter=awaiting),
            awaiting_total=Sum("total", filter=awaiting, default=ZERO),
        )
    )
    card = {
        "module": Module.ORDERS,
        "template": "orders/card.html",
        "in_progress": 0,
        "awaiting": {"count": 0, "totals": {}},
    }
    for row in rows:
        card["in_progress"] += row["in_progress"]
        if row["awaiting_count"]:
            card["awaiting"]["count"] += row["awaiting_count"]
            card["awaiting"]["totals"][row["currency"]] = row["awaiting_total"]
    return card
