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
    def allows_purchases(self) -> bool:
        """Inactive and closed accounts can't buy: no orders or renewals are paid."""
        return self.status == self.Status.ACTIVE

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
        CONTRACT_REQUEST = "contract_request", _("Requested a contract renewal or cancellation")
        CONTRACT_REQUEST_WITHDRAWN = "contract_request_withdrawn", _("Withdrew a contract request")
        REWARDS_REDEEMED = "rewards_redeemed", _("Redeemed rewards")
        BILLING_PROFILE_CHANGED = "billing_profile_changed", _("Changed the billing profile")
        PAYMENT_METHOD_CHANGED = "payment_method_changed", _("Changed a payment method")
        TAX_ID_CHANGE_REQUESTED = "tax_id_change_requested", _("Requested a tax ID change")
        PAYMENT_SUCCEEDED = "payment_succeeded", _("Paid")
        PAYMENT_FAILED = "payment_failed", _("A payment failed")
        PAYMENT_REFUNDED = "payment_refunded", _("A payment was refunded")
        ACCOUNT_STATUS_CHANGED = "account_status_changed", _("Account status changed")
        SERVICE_SUSPENDED = "service_suspended", _("Service suspended")
        SERVICE_REACTIVATED = "service_reactivated", _("Service reactivated")
        SERVICE_TERMINATED = "service_terminated", _("Service terminated")

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


# --- The staff's customer contact log ------------------------------------------------------
# When and why a person got in touch (Oracle RMBS "customer contacts"): attached to the
# PERSON, with the organizations they belonged to at the time. Written by contacts.casework.


def _choice_label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _dispute_reason_label(value) -> str:
    from invoices.models import Dispute

    return _choice_label(Dispute.Reason, value)


def _localized_datetime(value) -> str:
    """An ISO timestamp kept in a JSON field, shown in the reader's format and time zone."""
    from datetime import datetime

    from django.utils import formats

    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value or "")
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")


class AppendOnlyError(Exception):
    """A customer contact's log is only ever appended to: rows are never changed or deleted."""


class CustomerContactClass(models.Model):
    """Staff-defined reference data: the broad reason of a contact, e.g. "Billing"."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("customer contact class")
        verbose_name_plural = _("customer contact classes")
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class CustomerContactType(models.Model):
    """Staff-defined reference data: the precise reason within a class, e.g. "dispute"."""

    contact_class = models.ForeignKey(
        CustomerContactClass,
        on_delete=models.PROTECT,
        related_name="types",
        verbose_name=_("contact class"),
    )
    code = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("customer contact type")
        verbose_name_plural = _("customer contact types")
        ordering = ["contact_class__label", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_class", "code"], name="customer_contact_type_unique_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_class.label} · {self.label}"


# Contacts without an organization sort after every rank (ranks are 1 = Platinum … 4).
NO_ORGANIZATION_PRIORITY = 99


class CustomerContactQuerySet(models.QuerySet):
    def unclosed(self):
        return self.exclude(status=CustomerContact.Status.CLOSED)

    def with_priority(self):
        """`priority`: the highest rank among the contact's organizations (1 = Platinum);
        contacts without an organization come last."""
        from django.db.models.functions import Coalesce

        from customers.models import rank_priority

        memberships = CustomerContact.organizations.through.objects
        ranks = (
            memberships.filter(customercontact=models.OuterRef("pk"))
            .annotate(priority=rank_priority("organization__rank"))
            .order_by("priority")
            .values("priority")[:1]
        )
        return self.annotate(
            priority=Coalesce(
                models.Subquery(ranks, output_field=models.IntegerField()),
                models.Value(NO_ORGANIZATION_PRIORITY),
            )
        )

    def in_case_order(self):
        """Open first, then pending, then closed; Platinum before Bronze; newest first."""
        status_order = models.Case(
            models.When(status=CustomerContact.Status.OPEN, then=models.Value(0)),
            models.When(status=CustomerContact.Status.PENDING, then=models.Value(1)),
            default=models.Value(2),
            output_field=models.IntegerField(),
        )
        return (
            self.with_priority()
            .annotate(status_order=status_order)
            .order_by("status_order", "priority", "-contacted_at", "-id")
        )


class CustomerContact(models.Model):
    """One time a person got in touch with us, and the case file it may grow into."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("E-mail")
        CHAT = "chat", _("Chat")
        LETTER = "letter", _("Letter")
        PORTAL = "portal", _("Portal")
        IN_PERSON = "in_person", _("In person")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        STAFF = "staff", _("Logged by staff")
        DISPUTE = "dispute", _("Opened from a dispute")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="customer_contacts",
        verbose_name=_("person"),
    )
    # The organizations the person belonged to at the time (kept as they were).
    organizations = models.ManyToManyField(
        Organization, related_name="customer_contacts", blank=True, verbose_name=_("organizations")
    )
    # Redundant with contact_type.contact_class, kept for filters and statistics by class;
    # contacts.casework sets both from the type.
    contact_class = models.ForeignKey(
        CustomerContactClass,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("contact class"),
    )
    contact_type = models.ForeignKey(
        CustomerContactType,
        on_delete=models.PROTECT,
        related_name="contacts",
        verbose_name=_("contact type"),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    contacted_at = models.DateTimeField(_("contacted"), default=timezone.now)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=5000)
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customer_contacts",
        verbose_name=_("invoice"),
    )
    dispute = models.ForeignKey(
        "invoices.Dispute",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customer_contacts",
        verbose_name=_("dispute"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customer_contacts",
        verbose_name=_("order"),
    )
    # Where the record came from: staff logging a call, or a customer's dispute (once each).
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.STAFF
    )
    # Null for records no person created (cases opened from disputes).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CustomerContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer contact")
        verbose_name_plural = _("customer contacts")
        ordering = ["-contacted_at", "-id"]
        indexes = [
            # The staff list's default order: open cases first, newest first within them.
            models.Index(
                fields=["status", "-contacted_at", "-id"], name="custcontact_status_recent"
            ),
            # A person's contacts, newest first ("all contacts of this person").
            models.Index(fields=["person", "-contacted_at"], name="custcontact_person_recent"),
        ]
        constraints = [
            # dispute_to_case: a dispute opens exactly one case, whatever runs it twice.
            models.UniqueConstraint(
                fields=["dispute"],
                condition=models.Q(source="dispute"),
                name="custcontact_one_case_per_dispute",
            ),
            models.CheckConstraint(
                condition=models.Q(status="closed", closed_at__isnull=False)
                | (~models.Q(status="closed") & models.Q(closed_at__isnull=True)),
                name="custcontact_closed_at_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_type.label} · {self.person}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def status_badge(self) -> str:
        return {
            self.Status.OPEN: "badge-warn",
            self.Status.PENDING: "badge-info",
            self.Status.CLOSED: "badge-ok",
        }.get(self.status, "badge-info")


class CustomerContactLogEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Customer contact log entries are never changed.")

    update.alters_data = True
    update.queryset_only = True

    def delete(self):
        raise AppendOnlyError("Customer contact log entries are never deleted.")

    delete.alters_data = True
    delete.queryset_only = True


class CustomerContactLogEntry(models.Model):
    """Who added what to a contact's log, and when: appended, never edited or deleted."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        STATUS_CHANGED = "status_changed", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        CHARACTERISTIC_SET = "characteristic_set", _("Characteristic set")
        LETTER_GENERATED = "letter_generated", _("Letter generated")
        LETTER_EMAILED = "letter_emailed", _("Letter e-mailed")
        REMINDER_CREATED = "reminder_created", _("Reminder created")
        REMINDER_CANCELLED = "reminder_cancelled", _("Reminder cancelled")
        REMINDER_RAISED = "reminder_raised", _("Reminder raised")
        OPENED_FROM_DISPUTE = "opened_from_dispute", _("Opened from a dispute")

    contact = models.ForeignKey(
        CustomerContact, on_delete=models.PROTECT, related_name="log_entries"
    )
    # Null for entries the system wrote (a reminder raised by the beat job).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(_("text"), max_length=5000, blank=True)
    # Codes behind system entries (e.g. {"from": "open", "to": "closed"}), translated on display.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = CustomerContactLogEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer contact log entry")
        verbose_name_plural = _("customer contact log entries")
        ordering = ["created_at", "id"]
        indexes = [
            # The detail page: one contact's log, oldest first.
            models.Index(fields=["contact", "created_at", "id"], name="custcontact_log_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Customer contact log entries are never changed.")
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Customer contact log entries are never deleted.")

    delete.alters_data = True

    @property
    def summary(self) -> str:
        """What a system entry recorded, in the reader's language ("" for notes)."""
        from django.utils.translation import gettext

        data, kind = self.data or {}, self.Kind
        if self.kind == kind.STATUS_CHANGED:
            return gettext("From “%(from)s” to “%(to)s”.") % {
                "from": _choice_label(CustomerContact.Status, data.get("from")),
                "to": _choice_label(CustomerContact.Status, data.get("to")),
            }
        if self.kind == kind.ASSIGNED:
            if data.get("to"):
                return gettext("Assigned to %(person)s.") % {"person": data["to"]}
            return gettext("No longer assigned to anyone.")
        if self.kind == kind.CHARACTERISTIC_SET:
            if data.get("from"):
                return gettext("“%(label)s” changed from “%(from)s” to “%(to)s”.") % data
            return gettext("“%(label)s” set to “%(to)s”.") % data
        if self.kind in (kind.LETTER_GENERATED, kind.LETTER_EMAILED):
            label = _choice_label(Letter.Template, data.get("template"))
            if self.kind == kind.LETTER_EMAILED:
                return gettext("“%(letter)s” e-mailed to %(email)s.") % {
                    "letter": label,
                    "email": data.get("email", ""),
                }
            return gettext("“%(letter)s” generated.") % {"letter": label}
        if self.kind in (kind.REMINDER_CREATED, kind.REMINDER_CANCELLED, kind.REMINDER_RAISED):
            return gettext("Reminder due %(due)s for %(person)s.") % {
                "due": _localized_datetime(data.get("due")),
                "person": data.get("assigned_to", ""),
            }
        if self.kind == kind.OPENED_FROM_DISPUTE:
            return gettext(
                "The customer disputed line %(line)s of invoice %(invoice)s: %(reason)s."
            ) % {
                "line": data.get("line", ""),
                "invoice": data.get("invoice", ""),
                "reason": _dispute_reason_label(data.get("reason")),
            }
        return ""


class CharacteristicType(models.Model):
    """Staff-defined typed attribute of a customer contact, e.g. "promised payment date"."""

    class ValueType(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=100)
    value_type = models.CharField(
        _("value type"), max_length=10, choices=ValueType.choices, default=ValueType.TEXT
    )
    # The allowed values of a "choice" characteristic, as stored and shown.
    choices = ArrayField(
        models.CharField(max_length=100), default=list, blank=True, verbose_name=_("choices")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("characteristic type")
        verbose_name_plural = _("characteristic types")
        ordering = ["label"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(value_type="choice") | ~models.Q(choices=[]),
                name="characteristic_choice_has_choices",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean_value(self, raw) -> str:
        """The value as stored (text), or a ValidationError saying what is expected."""
        from datetime import date
        from decimal import Decimal, InvalidOperation

        from django.core.exceptions import ValidationError

        text = str(raw if raw is not None else "").strip()
        if not text:
            raise ValidationError(_("Enter a value."), code="required")
        if len(text) > 255:
            raise ValidationError(_("Enter at most 255 characters."), code="max_length")
        if self.value_type == self.ValueType.NUMBER:
            try:
                number = Decimal(text.replace(",", ".")) if text.count(",") <= 1 else None
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                raise ValidationError(
                    _("“%(label)s” needs a number, e.g. 250 or 99.50."),
                    code="invalid_number",
                    params={"label": self.label},
                )
            return str(number)
        if self.value_type == self.ValueType.DATE:
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                raise ValidationError(
                    _("“%(label)s” needs a date as YYYY-MM-DD, e.g. 2026-11-30."),
                    code="invalid_date",
                    params={"label": self.label},
                ) from None
        if self.value_type == self.ValueType.CHOICE and text not in self.choices:
            raise ValidationError(
                _("“%(label)s” must be one of: %(choices)s."),
                code="invalid_choice",
                params={"label": self.label, "choices": ", ".join(self.choices)},
            )
        return text

    def display_value(self, stored: str) -> str:
        """A stored value, localized for the reader (numbers and dates)."""
        from datetime import date
        from decimal import Decimal, InvalidOperation

        from django.utils import formats

        try:
            if self.value_type == self.ValueType.NUMBER:
                return formats.number_format(Decimal(stored), use_l10n=True)
            if self.value_type == self.ValueType.DATE:
                return formats.date_format(date.fromisoformat(stored), "DATE_FORMAT")
        except (InvalidOperation, ValueError):
            pass
        return stored


class CustomerContactCharacteristic(models.Model):
    """One typed value on a customer contact; at most one per type (setting it again replaces
    the value, and the log keeps what it was)."""

    contact = models.ForeignKey(
        CustomerContact, on_delete=models.PROTECT, related_name="characteristics"
    )
    characteristic_type = models.ForeignKey(
        CharacteristicType,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("characteristic"),
    )
    # Validated against the type by CharacteristicType.clean_value (contacts.casework).
    value = models.CharField(_("value"), max_length=255)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField(_("set"), default=timezone.now)

    class Meta:
        verbose_name = _("customer contact characteristic")
        verbose_name_plural = _("customer contact characteristics")
        ordering = ["characteristic_type__label"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "characteristic_type"], name="custcontact_one_value_per_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.characteristic_type}: {self.value}"

    @property
    def display_value(self) -> str:
        return self.characteristic_type.display_value(self.value)


class Letter(models.Model):
    """A PDF letter a customer contact triggered, rendered once in the person's language."""

    class Template(models.TextChoices):
        PAYMENT_REMINDER = "payment_reminder", _("Payment reminder")
        DISPUTE_ACKNOWLEDGEMENT = "dispute_acknowledgement", _("Dispute acknowledgement")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(CustomerContact, on_delete=models.PROTECT, related_name="letters")
    template = models.CharField(_("letter"), max_length=40, choices=Template.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    pdf = models.BinaryField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set once, when the letter is queued to the person (never e-mailed twice).
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    emailed_to = models.EmailField(_("e-mailed to"), blank=True)

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_template_display()} · {self.created_at:%Y-%m-%d}"

    @property
    def filename_stem(self) -> str:
        return f"letter-{self.template}-{self.created_at:%Y%m%d}-{str(self.public_id)[:8]}"


class ContactReminderQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(raised_at__isnull=True, cancelled_at__isnull=True)

    def due(self, now):
        return self.pending().filter(due_at__lte=now)


class ContactReminder(models.Model):
    """A dated follow-up on a customer contact; the beat job raises it to staff, once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(CustomerContact, on_delete=models.PROTECT, related_name="reminders")
    due_at = models.DateTimeField(_("due"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Null until contact_reminders_raise claims it (compare-and-set on NULL: once only).
    raised_at = models.DateTimeField(_("raised"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    objects = ContactReminderQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact reminder")
        verbose_name_plural = _("contact reminders")
        ordering = ["due_at", "id"]
        indexes = [
            # contact_reminders_raise: pending reminders by due time.
            models.Index(
                fields=["due_at"],
                name="contact_reminder_pending_due",
                condition=models.Q(raised_at__isnull=True, cancelled_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} · {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_pending(self) -> bool:
        return self.raised_at is None and self.cancelled_at is None
