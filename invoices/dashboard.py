from django.db.models import Count, Min, Sum

from contacts.models import Contact
from contacts.roles import Module
from invoices.models import ZERO, Invoice, InvoiceStatus


def dashboard_card(contact: Contact) -> dict:
    """Overdue total and count, open total and the next due date, per currency."""
    rows = (
        Invoice.objects.visible_to(contact)
        .unpaid()
        .order_by()
        .values("status", "currency")
        .annotate(count=Count("pk"), balance=Sum("balance", default=ZERO), next_due=Min("due_date"))
    )
    overdue = {"count": 0, "totals": {}}
    open_ = {"count": 0, "totals": {}, "next_due": None}
    for row in rows:
        bucket = overdue if row["status"] == InvoiceStatus.OVERDUE else open_
        bucket["count"] += row["count"]
        bucket["totals"][row["currency"]] = row["balance"]
        if bucket is open_ and (open_["next_due"] is None or row["next_due"] < open_["next_due"]):
            open_["next_due"] = row["next_due"]
    return {
        "module": Module.INVOICES,
        "template": "invoices/card.html",
        "overdue": overdue,
        "open": open_,
    }
