"""Dashboard cards: one per module the contact may see, each with its live figures."""

from django.db.models import Count, Min, Q, Sum

from contacts.models import Contact, Invitation
from contacts.roles import Module


def _users_card(contact: Contact) -> dict:
    counts = Contact.objects.visible_to(contact).aggregate(
        users=Count("pk", filter=Q(removed_at__isnull=True)),
    )
    counts["invitations"] = Invitation.objects.visible_to(contact).pending().count()
    return {"module": Module.USERS, "template": "portal/cards/users.html", **counts}


def _invoices_card(contact: Contact) -> dict:
    from invoices.models import ZERO, Invoice, InvoiceStatus

    unpaid = Invoice.objects.visible_to(contact).unpaid().order_by()
    rows = unpaid.values("status", "currency").annotate(
        count=Count("pk"), balance=Sum("balance", default=ZERO), next_due=Min("due_date")
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
        "template": "portal/cards/invoices.html",
        "overdue": overdue,
        "open": open_,
    }


CARD_BUILDERS = {
    Module.INVOICES: _invoices_card,
    Module.USERS: _users_card,
}


def dashboard_cards(contact: Contact | None) -> list[dict]:
    if contact is None:
        return []
    return [build(contact) for module, build in CARD_BUILDERS.items() if contact.can_see(module)]
