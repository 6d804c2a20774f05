"""The billing card on the dashboard: amount due now, next automatic payment, failed charges
and cards expiring soon."""

from billing.models import PaymentMethod
from billing.payments import dashboard_figures
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
        **dashboard_figures(contact),
    }
