import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from contacts.roles import Role
from portal.access import OrganizationScopedQuerySet


class Order(models.Model):
    """An order or quote as it arrives from the seller's order documents."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        QUOTE = "quote", _("Quote")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("number"), max_length=40, unique=True)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.ORDER)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    order_date = models.DateField(_("order date"))
    currency = models.CharField(_("currency"), max_length=3)
    provisioned_at = models.DateTimeField(_("contacts provisioned"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]

    def __str__(self) -> str:
        return self.number

    def contacts_by_role(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for contact in self.contacts.all():
            grouped.setdefault(contact.role, []).append(contact.email)
        return grouped


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
