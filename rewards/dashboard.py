"""The rewards card of the dashboard: balance and next expiry per currency, two queries."""

from django.utils import timezone

from contacts.models import Contact
from contacts.roles import Action, Module
from rewards.models import RewardEntry


def dashboard_card(contact: Contact) -> dict:
    ledger = RewardEntry.objects.visible_to(contact)
    return {
        "module": Module.REWARDS,
        "template": "rewards/card.html",
        "balances": ledger.balances(),
        "next_expiries": ledger.next_expiries(today=timezone.localdate()),
        "can_redeem": contact.can_do(Action.REDEEM) and contact.organization.allows_changes,
    }
