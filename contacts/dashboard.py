from django.db.models import Count, Q

from contacts.models import Contact, Invitation
from contacts.roles import Module


def dashboard_card(contact: Contact) -> dict:
    """Users of the organization and open invitations (administrators)."""
    counts = Contact.objects.visible_to(contact).aggregate(
        users=Count("pk", filter=Q(removed_at__isnull=True))
    )
    counts["invitations"] = Invitation.objects.visible_to(contact).pending().count()
    return {"module": Module.USERS, "template": "contacts/card.html", **counts}
