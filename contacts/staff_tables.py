import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from contacts.models import NO_ORGANIZATION_PRIORITY, CustomerContact, Organization
from portal.tables import PortalTable


def rank_for_priority(priority: int | None) -> str:
    """The label of the rank behind a priority number (see CustomerContactQuerySet)."""
    from customers.models import RANK_PRIORITY

    for rank, number in RANK_PRIORITY.items():
        if number == priority:
            return str(Organization.Rank(rank).label)
    return "—" if priority in (None, NO_ORGANIZATION_PRIORITY) else str(priority)


class CustomerContactTable(PortalTable):
    """The staff list: the view's queryset selects person, type, assignee and invoice,
    prefetches organizations and annotates `priority` and `status_order`."""

    contacted_at = tables.DateTimeColumn(
        verbose_name=_("Contacted"),
        format="SHORT_DATETIME_FORMAT",
        linkify=(
            "contact_log:detail",
            {"customer_contact_id": tables.A("public_id")},
        ),
    )
    person = tables.TemplateColumn(
        verbose_name=_("Person"),
        template_name="contacts/staff/columns/person.html",
        order_by=("person__email",),
    )
    organizations = tables.TemplateColumn(
        verbose_name=_("Organizations"),
        template_name="contacts/staff/columns/organizations.html",
        orderable=False,
    )
    priority = tables.Column(verbose_name=_("Rank"), order_by=("priority", "-contacted_at", "-id"))
    contact_type = tables.TemplateColumn(
        verbose_name=_("Reason"),
        template_name="contacts/staff/columns/contact_type.html",
        order_by=("contact_class__label", "contact_type__label"),
    )
    channel = tables.Column(verbose_name=_("Channel"))
    status = tables.TemplateColumn(
        verbose_name=_("Status"),
        template_name="contacts/staff/columns/status.html",
        order_by=("status_order", "-contacted_at", "-id"),
    )
    assigned_to = tables.Column(
        verbose_name=_("Assigned to"), accessor="assigned_to__email", default="—"
    )
    invoice = tables.Column(verbose_name=_("Invoice"), accessor="invoice__number", default="—")

    class Meta(PortalTable.Meta):
        model = CustomerContact
        fields = [
            "contacted_at",
            "person",
            "organizations",
            "priority",
            "contact_type",
            "channel",
            "status",
            "assigned_to",
            "invoice",
        ]
        empty_text = _("No customer contacts match these filters.")

    def render_priority(self, value):
        return rank_for_priority(value)

    def render_channel(self, record):
        return record.get_channel_display()
