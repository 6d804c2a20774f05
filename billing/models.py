import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from portal.access import OrganizationScopedQuerySet

ZERO = Decimal("0.00")


class BillingProfile(models.Model):
    """Who pays and how: one per organization."""

    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="billing_profile"
    )
    contact_name = models.CharField(_("billing contact"), max_length=200, blank=True)
    contact_email = models.EmailField(_("billing e-mail"), blank=True)
    contact_phone = models.CharField(_("phone"), max_length=40, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    # Locked once an invoice was issued: a change becomes a request to staff.
    tax_id = models.CharField(_("tax ID"), max_length=40, blank=True)
    requested_tax_id = models.CharField(_("requested tax ID"), max_length=40, blank=True)
    invoice_recipients = models.JSONField(_("invoice e-mail recipients"), default=list, blank=True)
    auto_pay = models.BooleanField(_("pay due invoices automatically"), default=False)
    stripe_customer_id = models.CharField(max_length=100, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")

    def __str__(self) -> str:
        return str(self.organization)


class PaymentMethodQuerySet(OrganizationScopedQuerySet):
    def usable(self):
        return self.filter(removed_at__isnull=True)


class PaymentMethod(models.Model):
    """Our mirror of a card saved at Stripe (never card data: brand, last 4, expiry)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="payment_methods"
    )
    stripe_payment_method_id = models.CharField(max_length=100, unique=True)
    brand = models.CharField(_("brand"), max_length=30)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(_("expiry year"))
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Send-once markers for the expiring-card reminders (30 days before, and at expiry).
    reminded_soon_at = models.DateTimeField(null=True, blank=True)
    reminded_expired_at = models.DateTimeField(null=True, blank=True)

    objects = PaymentMethodQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["-is_default", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="payment_method_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"

    def is_expired(self, today=None) -> bool:
        today = today or timezone.localdate()
        return (self.exp_year, self.exp_month) < (today.year, today.month)


class PaymentQuerySet(OrganizationScopedQuerySet):
    def succeeded(self):
        return self.filter(status=Payment.Status.SUCCEEDED)


class Payment(models.Model):
    """A payment attempt, recorded BEFORE Stripe is called, keyed by our own idempotency key.

    Its status only moves forward (see billing.payments.PAYMENT_TRANSITIONS).
    """

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        PROCESSING = "processing", _("Processing")
        REQUIRES_ACTION = "requires_action", _("Waiting for card authentication")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Cancelled")

    class Origin(models.TextChoices):
        PORTAL = "portal", _("Paid in the portal")
        AUTO_PAY = "auto_pay", _("Automatic payment")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="payments"
    )
    # Built from what is being paid and a form token: double submits converge on one row.
    idempotency_key = models.CharField(max_length=200, unique=True)
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.PORTAL)
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    stripe_payment_intent_id = models.CharField(max_length=100, blank=True, db_index=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(_("failure reason"), max_length=500, blank=True)
    partial_reason = models.CharField(_("reason for a partial payment"), max_length=500, blank=True)
    amount_refunded = models.DecimalField(
        _("refunded"), max_digits=14, decimal_places=2, default=ZERO
    )
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="payment_org_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.currency} {self.status}"


class PaymentAllocation(models.Model):
    """What a payment pays: an invoice or an order (pending order, support renewal quote)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_allocations",
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_allocations",
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=False, order__isnull=True)
                | Q(invoice__isnull=True, order__isnull=False),
                name="allocation_one_target",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.amount}"


class FailedCharge(models.Model):
    """A charge that failed (e.g. auto-pay on a card that has since expired): listed under
    Payments due until it is paid with another method."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="failed_charges"
    )
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="failed_charge")
    reason = models.CharField(_("reason"), max_length=500)
    resolved_by = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("failed charge")
        verbose_name_plural = _("failed charges")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.payment} — {self.reason}"


class WebhookEvent(models.Model):
    """Every Stripe event we accepted, once (the unique id makes redelivery harmless)."""

    stripe_event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.stripe_event_id}"
