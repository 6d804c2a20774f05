import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from portal.access import OrganizationScopedQuerySet

EXPIRING_WITHIN = timedelta(days=90)


class ContractQuerySet(OrganizationScopedQuerySet):
    """The derived statuses as filters; `Contract.display_status` is the same rule per row."""

    def in_force(self):
        return self.filter(status=Contract.Status.ACTIVE)

    def expiring(self, today=None):
        today = today or timezone.localdate()
        return self.in_force().filter(end_date__gte=today, end_date__lte=today + EXPIRING_WITHIN)

    def running(self, today=None):
        """Active and ending after the 90-day window ("active" on the page)."""
        today = today or timezone.localdate()
        return self.in_force().filter(end_date__gt=today + EXPIRING_WITHIN)

    def expired(self, today=None):
        today = today or timezone.localdate()
        return self.in_force().filter(end_date__lt=today)

    def terminated(self):
        return self.filter(status=Contract.Status.TERMINATED)

    def with_display_status(self, status: str, today=None):
        """Filter by a derived status key (active, expiring, expired, terminated)."""
        if status == "active":
            return self.running(today)
        if status == "expiring":
            return self.expiring(today)
        if status == "expired":
            return self.expired(today)
        if status == "terminated":
            return self.terminated()
        return self.none()


class Contract(models.Model):
    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription")
        SUPPORT = "support", _("Support")
        LICENCE = "licence", _("Licence")
        SERVICES = "services", _("Services")

    class Status(models.TextChoices):
        # Stored: active or terminated. "Expiring" and "expired" derive from the end date.
        ACTIVE = "active", _("Active")
        TERMINATED = "terminated", _("Terminated")

    class DisplayStatus(models.TextChoices):
        # What customers see: derived from the stored status and the end date.
        ACTIVE = "active", _("Active")
        EXPIRING = "expiring", _("Expiring")
        EXPIRED = "expired", _("Expired")
        TERMINATED = "terminated", _("Terminated")

    number = models.CharField(_("number"), max_length=40, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts"
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    auto_renew = models.BooleanField(_("renews automatically"), default=False)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    value = models.DecimalField(_("contract value"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    terminated_at = models.DateTimeField(_("terminated"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["end_date", "id"]
        indexes = [
            # The renewal reminder job and the "expiring" filter: active contracts by end date.
            models.Index(
                fields=["end_date"], name="contract_active_end", condition=Q(status="active")
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def display_status(self, today=None) -> str:
        """active, expiring (within 90 days), expired or terminated."""
        today = today or timezone.localdate()
        if self.status == self.Status.TERMINATED:
            return self.DisplayStatus.TERMINATED
        if self.end_date < today:
            return self.DisplayStatus.EXPIRED
        if self.end_date <= today + EXPIRING_WITHIN:
            return self.DisplayStatus.EXPIRING
        return self.DisplayStatus.ACTIVE

    def get_display_status_display(self, today=None) -> str:
        return self.DisplayStatus(self.display_status(today)).label

    def days_left(self, today=None) -> int:
        """Days until the end date (0 on the last day, negative once it has ended)."""
        return (self.end_date - (today or timezone.localdate())).days


class ContractRequestQuerySet(OrganizationScopedQuerySet):
    def open(self):
        return self.filter(status__in=ContractRequest.OPEN)


class ContractRequest(models.Model):
    """A customer's request about a contract; staff act on it, the contract itself is unchanged."""

    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Renewal")
        CANCELLATION = "cancellation", _("Cancellation at term")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN = [Status.SUBMITTED, Status.IN_PROGRESS]

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contract_requests"
    )
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(_("request"), max_length=20, choices=Kind.choices)
    message = models.TextField(_("message"), blank=True, max_length=2000)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    staff_note = models.TextField(_("reply"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ContractRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract request")
        verbose_name_plural = _("contract requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request of a kind per contract.
            models.UniqueConstraint(
                fields=["contract", "kind"],
                condition=Q(status__in=["submitted", "in_progress"]),
                name="contract_request_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ContractReminder(models.Model):
    """Records that the 90/30/7-day end-of-contract reminder was sent (once each)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    end_date = models.DateField()  # A renewal moves the end date: reminders start again.
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "days_before", "end_date"], name="contract_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} −{self.days_before}d"
