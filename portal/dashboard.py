"""Dashboard cards: one per module the contact may see, each with its live figures."""

from django.db.models import Count, Q

from contacts.models import Contact, Invitation
from contacts.roles import Module


def _users_card(contact: Contact) -> dict:
    counts = Contact.objects.visible_to(contact).aggregate(
        users=Count("pk", filter=Q(removed_at__isnull=True)),
    )
    counts["invitations"] = Invitation.objects.visible_to(contact).pending().count()
    return {"module": Module.USERS, "template": "portal/cards/users.html", **counts}


CARD_BUILDERS = {
    Module.USERS: _users_card,
}


def dashboard_cards(contact: Contact | None) -> list[dict]:
    if contact is None:
        return []
    return [build(contact) for module, build in CARD_BUILDERS.items() if contact.can_see(module)]
