import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from contacts.roles import Role
from portal.access import OrganizationScopedQuerySet

# Contacts with one of these roles see every order of their organization; finance-only
# contacts see just the orders awaiting payment (the ones they may have to pay).
ALL_ORDERS_ROLES = frozenset({Role.TECHNICAL, Role.EXECUTIVE})


def sees_only_awaiting_payment(contact) -> bool:
    return not (contact.role_set & ALL_ORDERS_ROLES)


class OrderQuerySet(OrganizationScopedQuerySet):
    def awaiting_payment(self):
        return self.filter(payment_status=Order.PaymentStatus.AWAITING)

    def in_progress(self):
        return self.filter(status__in=Order.IN_PROGRESS)

    def visible_by_role(self, contact):
        """visible_to(contact), narrowed to awaiting payment for finance-only contacts."""
        queryset = self.visible_to(contact)
        if contact is not None and sees_only_awaiting_payment(contact):
            queryset = queryset.awaiting_payment()
        return queryset


class Order(models.Model):
    """An order or quote as it arrives from the seller's order documents."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        QUOTE = "quote", _("Quote")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        BOOKED = "booked", _("Booked")
        PROVISIONING = "provisioning", _("Provisioning")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        ON_HOLD = "on_hold", _("On hold")
        CANCELLED = "cancelled", _("Cancelled")

    class PaymentStatus(models.TextChoices):
        NOT_DUE = "not_due", _("Invoiced normally")
        AWAITING = "awaiting", _("Awaiting payment")
        PAID = "paid", _("Paid")

    IN_PROGRESS = [
        Status.SUBMITTED,
        Status.BOOKED,
        Status.PROVISIONING,
        Status.DELIVERED,
        Status.ON_HOLD,
    ]
    # The normal path of an order, in order; on hold and cancelled step aside from it.
    STEPS = [
        Status.SUBMITTED,
        Status.BOOKED,
        Status.PROVISIONING,
        Status.DELIVERED,
        Status.COMPLETED,
    ]
    FINAL = [Status.COMPLETED, Status.CANCELLED]

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.ORDER)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    order_date = models.DateField(_("order date"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    subtotal = models.DecimalField(
        _("subtotal"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    tax_total = models.DecimalField(
        _("tax"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    total = models.DecimalField(
        _("total"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    payment_status = models.CharField(
        _("payment"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.NOT_DUE
    )
    # A support renewal quote renews this contract once paid.
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal_quotes",
    )
    provisioned_at = models.DateTimeField(_("contacts provisioned"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]
        indexes = [
            # The order list: one organization's orders by status, newest first.
            models.Index(fields=["organization", "status", "-order_date"], name="order_org_status"),
            # Payments due: orders and renewal quotes awaiting payment.
            models.Index(
                fields=["organization"],
                name="order_awaiting_payment",
                condition=Q(payment_status="awaiting"),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def contacts_by_role(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for contact in self.contacts.all():
            grouped.setdefault(contact.role, []).append(contact.email)
        return grouped

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def is_awaiting_payment(self) -> bool:
        return self.payment_status == self.PaymentStatus.AWAITING

    @property
    def status_badge(self) -> str:
        return status_badge(self.status)

    def timeline(self) -> list[dict]:
        """The step list: each normal step with its state (done, current, upcoming) and the
        event that reached it; hold, resume and cancellation events follow the step they
        interrupted. Reads the (prefetched) events only."""
        reached: dict[str, OrderStatusEvent] = {}
        asides: dict[int, list[OrderStatusEvent]] = {}
        position = 0
        for event in self.events.all():
            if event.status in self.STEPS and event.status not in reached:
                reached[event.status] = event
            else:
                asides.setdefault(position, []).append(event)
            if event.status in self.STEPS:
                position = self.STEPS.index(event.status)
        if self.status in self.STEPS:
            position = self.STEPS.index(self.status)
        items = []
        for index, step in enumerate(self.STEPS):
            if index < position or self.status == self.Status.COMPLETED:
                state = "done"
            elif index == position:
                state = "done" if self.status == self.Status.CANCELLED else "current"
            else:
                state = "upcoming"
            items.append(
                {
                    "step": True,
                    "status": step,
                    "label": self.Status(step).label,
                    "state": state,
                    "event": reached.get(step),
                }
            )
            for event in asides.get(index, []):
                # While on hold the interrupted step stays current; a cancellation ends the
                # timeline, so it is the current point.
                cancelled = event.status == self.Status.CANCELLED
                items.append(
                    {
                        "step": False,
                        "status": event.status,
                        "label": event.get_status_display(),
                        "state": "current" if cancelled else "done",
                        "event": event,
                    }
                )
        return items


def status_badge(status: str) -> str:
    """The badge class of a status: finished well, paused, stopped or under way."""
    return {
        Order.Status.COMPLETED: "badge-ok",
        Order.Status.ON_HOLD: "badge-warn",
        Order.Status.CANCELLED: "badge-bad",
    }.get(status, "badge-info")


class OrderContact(models.Model):
    """A contact e-mail named on the order document, by type: the source of provisioning."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="contacts")
    role = models.CharField(_("contact type"), max_length=20, choices=Role.choices)
    email = models.EmailField(_("e-mail address"))

    class Meta:
        verbose_name = _("order contact")
        verbose_name_plural = _("order contacts")
        constraints = [
            models.UniqueConstraint(fields=["order", "role", "email"], name="order_contact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.email}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("line"))
    product = models.CharField(_("product or service"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    tax_rate = models.DecimalField(
        _("tax rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="order_line_position"),
        ]

    def __str__(self) -> str:
        return self.product


class OrderStatusEvent(models.Model):
    """A dated step of the order's timeline, with who changed it and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=20, choices=Order.Status.choices)
    changed_at = models.DateTimeField(_("date"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # When the change e-mail to opted-in contacts was queued (never twice).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.order} → {self.status}"

    @property
    def status_badge(self) -> str:
        return status_badge(self.status)
