"""The contracts card on the dashboard: renewals due within 90 days and open requests."""

from django.db.models import Count, Min
from django.utils import timezone

from contacts.models import Contact
from contacts.roles import Module
from contracts.models import Contract, ContractRequest


def dashboard_card(contact: Contact) -> dict:
    today = timezone.localdate()
    expiring = (
        Contract.objects.visible_to(contact)
        .expiring(today)
        .order_by()
        .aggregate(count=Count("pk"), next_end=Min("end_date"))
    )
    return {
        "module": Module.CONTRACTS,
        "template": "contracts/card.html",
        "renewals_due": expiring["count"],
        "next_end_date": expiring["next_end"],
        "open_requests": ContractRequest.objects.visible_to(contact).open().count(),
    }
