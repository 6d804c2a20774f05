import uuid
from decimal import Decimal

from django.db import models
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from portal.access import OrganizationScopedQuerySet


class Plan(models.Model):
    """A product the seller sells by subscription, with its reward rate."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # Rewards earned on paid invoice lines of this plan, in percent (0 = not eligible).
    reward_rate = models.DecimalField(
        _("reward rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00")
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubscriptionQuerySet(OrganizationScopedQuerySet):
    def active(self):
        return self.filter(status=Subscription.Status.ACTIVE)


class Subscription(models.Model):
    """A plan on a customer's account (an "asset"): billed every period until its end."""

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")
        ANNUAL = "annual", _("Annual")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="subscriptions"
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        null=True,
        blank=True,
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    tax_rate = models.DecimalField(
        _("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    frequency = models.CharField(_("billing frequency"), max_length=10, choices=Frequency.choices)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("status since"), null=True, blank=True)
    status_reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Set when the whole account was made inactive, so reactivation restores only these.
    suspended_by_account = models.BooleanField(default=False, editable=False)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["start_date", "id"]

    def __str__(self) -> str:
        return f"{self.plan} × {self.quantity}"

    @property
    def quantity_display(self) -> str:
        """5.000 → "5", 2.500 → "2.5" ("2,5" in German): the digits the quantity needs."""
        return formats.number_format(self.quantity.normalize(), use_l10n=True, force_grouping=True)
