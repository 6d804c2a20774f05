"""Dashboard cards: one per module the contact may see, each built by its own app."""

from django.utils.module_loading import import_string

from contacts.models import Contact
from contacts.roles import Module

# In display order; each builder returns {"module", "template", ...figures} from a few
# aggregate queries, so the dashboard's query count doesn't grow with the data.
CARD_BUILDERS = {
    Module.INVOICES: "invoices.dashboard.dashboard_card",
    Module.BILLING: "billing.dashboard.dashboard_card",
    Module.ORDERS: "orders.dashboard.dashboard_card",
    Module.CONTRACTS: "contracts.dashboard.dashboard_card",
    Module.PLANS: "plans.dashboard.dashboard_card",
    Module.REWARDS: "rewards.dashboard.dashboard_card",
    Module.USERS: "contacts.dashboard.dashboard_card",
}


def dashboard_cards(contact: Contact | None) -> list[dict]:
    if contact is None:
        return []
    return [
        import_string(path)(contact)
        for module, path in CARD_BUILDERS.items()
        if contact.can_see(module)
    ]
