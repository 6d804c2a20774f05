import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.roles import Action, Module, Role, can_do, can_see
from portal.access import OrganizationScopedQuerySet


class AccountDeletionRefused(ProtectedError):
    """Customer accounts are never deleted: rename them, or close them to end their services."""

    def __init__(self, organizations=()):
        super().__init__(
            "Customer accounts are never deleted; close the account instead.", set(organizations)
        )


class OrganizationQuerySet(models.QuerySet):
    def delete(self):
        raise AccountDeletionRefused()

    delete.alters_data = True
    delete.queryset_only = True


class Organization(models.Model):
    """A customer account: the tenant every customer-owned record belongs to."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        CLOSED = "closed", _("Closed")

    class Rank(models.TextChoices):
        PLATINUM = "platinum", _("Platinum")
        GOLD = "gold", _("Gold")
        SILVER = "silver", _("Silver")
        BRONZE = "bronze", _("Bronze")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The seller's customer account number, as written on order documents.
    account_number = models.CharField(_("account number"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("default currency"), max_length=3, default="USD")
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # The customer's importance to the seller: set at creation, changeable any time.
    rank = models.CharField(_("rank"), max_length=10, choices=Rank.choices, default=Rank.BRONZE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer organization")
        verbose_name_plural = _("customer organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args, **kwargs):
        raise AccountDeletionRefused([self])

    delete.alters_data = True

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def allows_changes(self) -> bool:
        """Closed accounts stay readable; nothing may be paid, invited or changed."""
        return self.status != self.Status.CLOSED


class ContactQuerySet(OrganizationScopedQuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)

    def admins(self):
        return self.active().filter(is_admin=True)

    def with_role(self, role: str):
        return self.active().filter(roles__contains=[role])


class Contact(models.Model):
    """A person's membership of one customer organization, with contact roles."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contacts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts"
    )
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    is_admin = models.BooleanField(_("administrator"), default=False)
    notify_order_updates = models.BooleanField(
        _("e-mail me when an order's status changes"), default=False
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)
    # Removal keeps the row for the activity history; a re-invitation restores it.
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="contact_unique_member"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization}"

    @property
    def role_set(self) -> set[str]:
        return set(self.roles)

    def role_labels(self) -> list[str]:
        return [Role(role).label for role in Role.values if role in self.roles]

    def can_see(self, module: Module) -> bool:
        return can_see(self.role_set, self.is_admin, module)

    def can_do(self, action: Action) -> bool:
        return can_do(self.role_set, self.is_admin, action)


class InvitationQuerySet(OrganizationScopedQuerySet):
    def pending(self):
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An e-mailed, single-use, 7-day link to join an organization with given roles."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invitations"
    )
    email = models.EmailField(_("e-mail address"))
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    is_admin = models.BooleanField(_("administrator"), default=False)
    # SHA-256 of the secret token; the token itself exists only in the e-mail.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            # At most one open invitation per person and organization.
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return not (self.accepted_at or self.revoked_at or self.is_expired)

    def role_labels(self) -> list[str]:
        return [Role(role).label for role in Role.values if role in self.roles]


class ActivityEvent(models.Model):
    """Who in an organization did what, for its administrators to read."""

    class Verb(models.TextChoices):
        SIGNED_IN = "signed_in", _("Signed in")
        INVITED = "invited", _("Invited a user")
        INVITATION_RESENT = "invitation_resent", _("Resent an invitation")
        INVITATION_REVOKED = "invitation_revoked", _("Revoked an invitation")
        JOINED = "joined", _("Joined the organization")
        ROLES_CHANGED = "roles_changed", _("Changed roles")
        USER_REMOVED = "user_removed", _("Removed a user")
        PROVISIONED = "provisioned", _("Added from an order")
        INVOICES_EMAILED = "invoices_emailed", _("E-mailed the invoice list")
        INVOICE_EMAILED = "invoice_emailed", _("E-mailed an invoice")
        DISPUTE_OPENED = "dispute_opened", _("Disputed a charge")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="activity"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    verb = models.CharField(max_length=40, choices=Verb.choices)
    # A short, human-readable subject, e.g. the invited e-mail address.
    target = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("activity event")
        verbose_name_plural = _("activity events")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The activity page: one organization's events, newest first.
            models.Index(fields=["organization", "-created_at", "-id"], name="activity_org_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} {self.target}"
