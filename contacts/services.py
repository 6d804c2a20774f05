"""Organizations, contacts, invitations and the activity log: every write goes through here."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from contacts.models import ActivityEvent, Contact, Invitation, Organization
from contacts.roles import Role
from portal.emails import email_queue
from portal.sessions import sessions_end_for_user

INVITATION_LIFETIME = timedelta(days=7)


class ContactError(Exception):
    """A refused change, with a message fit for the person who asked."""


def activity_record(
    *,
    organization: Organization,
    actor: User | None,
    verb: str,
    target: str = "",
    data: dict | None = None,
) -> ActivityEvent:
    """The one writer of the activity log every module calls."""
    return ActivityEvent.objects.create(
        organization=organization, actor=actor, verb=verb, target=target[:255], data=data or {}
    )


def _clean_roles(roles) -> list[str]:
    chosen = set(roles)
    unknown = chosen - set(Role.values)
    if unknown:
        raise ContactError(_("Unknown role."))
    if not chosen:
        raise ContactError(_("Choose at least one role."))
    return [role for role in Role.values if role in chosen]


# --- Provisioning from order documents -------------------------------------------------


@dataclass
class ProvisionResult:
    organization: Organization
    created_organization: bool = False
    created_users: list[str] = field(default_factory=list)
    created_contacts: list[str] = field(default_factory=list)
    merged_roles: list[str] = field(default_factory=list)


def organization_provision(
    *,
    account_number: str,
    name: str,
    currency: str,
    language: str,
    contacts_by_role: dict[str, list[str]],
) -> ProvisionResult:
    """Create what an order document's contacts need; idempotent, sends each welcome once."""
    with transaction.atomic():
        organization, created = Organization.objects.select_for_update().get_or_create(
            account_number=account_number,
            defaults={"name": name, "currency": currency, "language": language},
        )
        result = ProvisionResult(organization=organization, created_organization=created)
        roles_by_email: dict[str, set[str]] = {}
        for role, emails in contacts_by_role.items():
            for email in emails:
                roles_by_email.setdefault(email.strip().lower(), set()).add(role)
        for email, roles in sorted(roles_by_email.items()):
            _provision_contact(organization, email, roles, result)
    return result


def _provision_contact(organization, email, roles, result) -> None:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, language=organization.language)
        result.created_users.append(email)
    contact = Contact.objects.filter(organization=organization, user=user).first()
    if contact is None:
        contact = Contact.objects.create(
            organization=organization, user=user, roles=_clean_roles(roles), is_admin=True
        )
        result.created_contacts.append(email)
        activity_record(
            organization=organization,
            actor=None,
            verb=ActivityEvent.Verb.PROVISIONED,
            target=email,
            data={"roles": contact.roles},
        )
    else:
        merged = _clean_roles(set(contact.roles) | roles)
        changed = merged != contact.roles or contact.removed_at is not None
        if changed:
            contact.roles, contact.removed_at = merged, None
            contact.save(update_fields=["roles", "removed_at"])
            result.merged_roles.append(email)
    email_queue(
        template="welcome",
        to=[user.email],
        context={
            "organization": organization,
            "user": user,
            "roles": contact.role_labels(),
            "sign_in_url": settings.SITE_URL + reverse("account_request_login_code"),
        },
        language=user.language,
        dedupe_key=f"welcome:{contact.public_id}",
    )


# --- Invitations ----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _send_invitation(invitation: Invitation, token: str) -> None:
    known = User.objects.filter(email__iexact=invitation.email).only("language").first()
    email_queue(
        template="invitation",
        to=[invitation.email],
        context={
            "invitation": invitation,
            "organization": invitation.organization,
            "inviter": invitation.invited_by,
            "roles": invitation.role_labels(),
            "accept_url": settings.SITE_URL + reverse("contacts:invitation_accept", args=[token]),
        },
        # A person we know reads it in their language; a newcomer in the organization's.
        language=known.language if known else invitation.organization.language,
    )


def invitation_create(
    *, inviter: Contact, email: str, roles: list[str], is_admin: bool
) -> Invitation:
    """Invite someone with roles the inviter holds; e-mails a single-use, 7-day link."""
    email = email.strip().lower()
    roles = _clean_roles(roles)
    if not inviter.is_admin:
        raise ContactError(_("Only administrators can invite users."))
    if not set(roles) <= set(inviter.roles):
        raise ContactError(_("You can only grant roles you hold yourself."))
    organization = inviter.organization
    if Contact.objects.active().filter(organization=organization, user__email__iexact=email):
        raise ContactError(
            _("%(email)s is already a user of this organization.") % {"email": email}
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    # One transaction: the invitation, its activity entry and its e-mail exist together or
    # not at all (a connection lost part-way leaves nothing that blocks a retry).
    with transaction.atomic():
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    organization=organization,
                    email=email,
                    roles=roles,
                    is_admin=is_admin,
                    token_hash=_token_hash(token),
                    invited_by=inviter.user,
                    sent_at=now,
                    expires_at=now + INVITATION_LIFETIME,
                )
        except IntegrityError:
            raise ContactError(
                _("%(email)s already has an open invitation: resend or revoke it.")
                % {"email": email}
            ) from None
        activity_record(
            organization=organization,
            actor=inviter.user,
            verb=ActivityEvent.Verb.INVITED,
            target=email,
            data={"roles": roles, "admin": is_admin},
        )
        _send_invitation(invitation, token)
    return invitation


def invitation_resend(*, inviter: Contact, invitation: Invitation) -> Invitation:
    """A new link (the old one stops working) and seven more days."""
    if invitation.accepted_at or invitation.revoked_at:
        raise ContactError(_("This invitation is no longer open."))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = _token_hash(token)
    invitation.sent_at, invitation.expires_at = now, now + INVITATION_LIFETIME
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    activity_record(
        organization=invitation.organization,
        actor=inviter.user,
        verb=ActivityEvent.Verb.INVITATION_RESENT,
        target=invitation.email,
    )
    _send_invitation(invitation, token)
    return invitation


def invitation_revoke(*, inviter: Contact, invitation: Invitation) -> Invitation:
    updated = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise ContactError(_("This invitation is no longer open."))
    activity_record(
        organization=invitation.organization,
        actor=inviter.user,
        verb=ActivityEvent.Verb.INVITATION_REVOKED,
        target=invitation.email,
    )
    invitation.refresh_from_db()
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=_token_hash(token))
        .first()
    )


def invitation_accept(*, token: str, user: User) -> Contact:
    """Join the organization; the link works once, for the invited address, within 7 days."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organization")
            .filter(token_hash=_token_hash(token))
            .first()
        )
        if invitation is None or not invitation.is_usable:
            raise ContactError(_("This invitation link is invalid, used, revoked or expired."))
        if invitation.email.lower() != user.email.lower():
            raise ContactError(
                _("This invitation was sent to another e-mail address. Sign in as that person.")
            )
        if not invitation.organization.allows_changes:
            raise ContactError(_("This organization's account is closed."))
        contact, created = Contact.objects.get_or_create(
            organization=invitation.organization,
            user=user,
            defaults={"roles": invitation.roles, "is_admin": invitation.is_admin},
        )
        if not created:
            contact.roles = _clean_roles(set(contact.roles) | set(invitation.roles))
            contact.is_admin = contact.is_admin or invitation.is_admin
            contact.removed_at = None
            contact.save(update_fields=["roles", "is_admin", "removed_at"])
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        activity_record(
            organization=invitation.organization,
            actor=user,
            verb=ActivityEvent.Verb.JOINED,
            target=user.email,
            data={"roles": contact.roles},
        )
    return contact


# --- Roles and removal ----------------------------------------------------------------------


def _other_admins(contact: Contact):
    return Contact.objects.admins().filter(organization=contact.organization).exclude(pk=contact.pk)


def contact_change_roles(
    *, actor: Contact, contact: Contact, roles: list[str], is_admin: bool
) -> Contact:
    roles = _clean_roles(roles)
    if not actor.is_admin:
        raise ContactError(_("Only administrators can change roles."))
    added = set(roles) - set(contact.roles)
    if not added <= set(actor.roles):
        raise ContactError(_("You can only grant roles you hold yourself."))
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=contact.organization_id)
        if contact.is_admin and not is_admin and not _other_admins(contact).exists():
            raise ContactError(_("An organization needs at least one administrator."))
        before = {"roles": contact.roles, "admin": contact.is_admin}
        contact.roles, contact.is_admin = roles, is_admin
        contact.save(update_fields=["roles", "is_admin"])
        activity_record(
            organization=contact.organization,
            actor=actor.user,
            verb=ActivityEvent.Verb.ROLES_CHANGED,
            target=contact.user.email,
            data={"before": before, "after": {"roles": roles, "admin": is_admin}},
        )
    return contact


def contact_remove(*, actor: Contact, contact: Contact) -> Contact:
    """Remove someone from the organization (never the last administrator)."""
    if not actor.is_admin:
        raise ContactError(_("Only administrators can remove users."))
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=contact.organization_id)
        contact.refresh_from_db()
        if contact.removed_at is not None:
            raise ContactError(_("This person was already removed."))
        if contact.is_admin and not _other_admins(contact).exists():
            raise ContactError(_("You can't remove the last administrator."))
        contact.removed_at = timezone.now()
        contact.save(update_fields=["removed_at"])
        activity_record(
            organization=contact.organization,
            actor=actor.user,
            verb=ActivityEvent.Verb.USER_REMOVED,
            target=contact.user.email,
        )
        user = contact.user
        if not Contact.objects.active().filter(user=user).exists():
            # No organization left: end their sessions now rather than on the next request.
            transaction.on_commit(lambda: sessions_end_for_user(user=user))
    return contact


def activity_record_sign_in(*, user: User) -> None:
    organizations = Organization.objects.filter(
        Q(contacts__user=user) & Q(contacts__removed_at__isnull=True)
    )
    ActivityEvent.objects.bulk_create(
        ActivityEvent(organization=org, actor=user, verb=ActivityEvent.Verb.SIGNED_IN)
        for org in organizations
    )
