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


def money_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=14, decimal_places=2, default=ZERO, **kwargs
    )


class InvoiceStatus(models.TextChoices):
    OPEN = "open", _("Open")
    OVERDUE = "overdue", _("Overdue")
    CLOSED = "closed", _("Closed")


class InvoiceQuerySet(OrganizationScopedQuerySet):
    def open(self):
        return self.filter(status=InvoiceStatus.OPEN)

    def overdue(self):
        return self.filter(status=InvoiceStatus.OVERDUE)

    def closed(self):
        return self.filter(status=InvoiceStatus.CLOSED)

    def unpaid(self):
        return self.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.OVERDUE])


class Invoice(models.Model):
    """An invoice; totals and status are computed by invoices.services and stored."""

    number = models.CharField(_("number"), max_length=40, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invoices"
    )
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = money_field(_("subtotal"))
    tax_total = money_field(_("tax"))
    total = money_field(_("total"))
    amount_paid = money_field(_("paid"))
    credits_applied = money_field(_("credits"))
    balance = money_field(_("balance due"))
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-id"]
        indexes = [
            # The invoice list: one organization's invoices by status, newest first.
            models.Index(
                fields=["organization", "status", "-issue_date", "-id"], name="invoice_org_status"
            ),
            # The "All" tab: one organization's invoices, newest first.
            models.Index(fields=["organization", "-issue_date", "-id"], name="invoice_org_issued"),
            # The status tabs' counts and totals, answered from the index alone.
            models.Index(
                fields=["organization", "status", "currency"],
                include=["total", "balance"],
                name="invoice_org_summary",
            ),
            # The overdue job, Open → Overdue: open invoices with a balance, by due date.
            models.Index(
                fields=["due_date", "id"],
                name="invoice_open_due",
                condition=Q(status="open", balance__gt=0),
            ),
            # The overdue job, Overdue → Open, and the dashboard's next due date.
            models.Index(
                fields=["due_date", "id"],
                name="invoice_unpaid_due",
                condition=Q(status__in=["open", "overdue"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_overdue(self) -> bool:
        return self.status == InvoiceStatus.OVERDUE

    @property
    def days_overdue(self) -> int:
        return max((timezone.localdate() - self.due_date).days, 0)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("line"))
    description = models.CharField(_("description"), max_length=500)
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=ZERO)
    amount = money_field(_("amount"))
    tax_amount = money_field(_("tax"))
    # What this line bills, when known (order number, contract or subscription reference).
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subscription = models.ForeignKey(
        "plans.Subscription", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
        ]

    def __str__(self) -> str:
        return self.description


class InvoiceAdjustment(models.Model):
    """Money applied to an invoice: payments, refunds and credits. The balance is derived."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        CREDIT = "credit", _("Credit")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    amount = money_field(_("amount"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    # Makes "apply once" a database fact, e.g. "payment:<uuid>:<invoice>".
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("payment or credit")
        verbose_name_plural = _("payments and credits")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="adjustment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class InvoiceStatusChange(models.Model):
    """History of an invoice's status; one row per transition."""

    class Reason(models.TextChoices):
        ISSUED = "issued", _("Issued")
        RECALCULATED = "recalculated", _("Payment, credit or change applied")
        DUE_DATE_PASSED = "due_date_passed", _("Due date passed")
        DUE_DATE_MOVED = "due_date_moved", _("Due date moved")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=10, choices=InvoiceStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=InvoiceStatus.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    # When the "invoice overdue" e-mail for this transition was queued (never twice).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["changed_at", "id"]
        indexes = [
            # invoices_notify_overdue: transitions to overdue still waiting for their e-mail.
            models.Index(
                fields=["id"],
                name="status_change_unnotified",
                condition=Q(to_status="overdue", notified_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.from_status} → {self.to_status}"


class DisputeQuerySet(OrganizationScopedQuerySet):
    def unresolved(self):
        return self.filter(status__in=[Dispute.Status.OPEN, Dispute.Status.UNDER_REVIEW])


class Dispute(models.Model):
    """A charge the customer says is wrong (one invoice line)."""

    class Reason(models.TextChoices):
        WRONG_AMOUNT = "wrong_amount", _("The amount is wrong")
        NOT_RECEIVED = "not_received", _("Not received or not delivered")
        DUPLICATE = "duplicate", _("Charged twice")
        CANCELLED = "cancelled", _("Service was cancelled")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UNDER_REVIEW = "under_review", _("Under review")
        RESOLVED_CREDIT = "resolved_credit", _("Resolved with a credit")
        REJECTED = "rejected", _("Rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="disputes"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    message = models.TextField(_("message"), max_length=2000)
    amount = money_field(_("disputed amount"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    resolution_note = models.TextField(_("resolution"), blank=True)
    credit_amount = money_field(_("credit granted"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One unresolved dispute per invoice line.
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(status__in=["open", "under_review"]),
                name="dispute_one_open_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} / {self.line.position}: {self.get_status_display()}"

    @property
    def is_unresolved(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.UNDER_REVIEW)
