"""The billing card on the dashboard: cards expiring soon (this side) — the payments side adds
the amount due now and the next automatic payment into the same dict/template blocks."""

from billing.models import PaymentMethod
from billing.profiles import expiring_soon_count
from contacts.models import Contact
from contacts.roles import Module


def dashboard_card(contact: Contact) -> dict:
    default = (
        PaymentMethod.objects.visible_to(contact)
        .usable()
        .filter(is_default=True)
        .only("brand", "last4", "exp_month", "exp_year")
        .first()
    )
    return {
        "module": Module.BILLING,
        "template": "billing/card.html",
        "cards_expiring": expiring_soon_count(organization_id=contact.organization_id),
        "default_method": default,
    }
