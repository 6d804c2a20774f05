import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from customers.models import ScheduledAction
from plans.models import Subscription
from portal.tables import PortalTable

NUMERIC = {"td": {"class": "numeric"}, "th": {"class": "numeric"}}


class CustomerTable(PortalTable):
    account_number = tables.Column(
        verbose_name=_("Account number"),
        linkify=("customers:detail", {"account_number": tables.A("account_number")}),
    )
    name = tables.Column(verbose_name=_("Name"))
    rank = tables.TemplateColumn(
        verbose_name=_("Rank"),
        template_name="customers/columns/rank.html",
        # Support priority: Platinum first (annotated by the view).
        order_by=("priority", "name"),
    )
    status = tables.TemplateColumn(
        verbose_name=_("Status"), template_name="customers/columns/organization_status.html"
    )
    currency = tables.Column(verbose_name=_("Currency"))
    users = tables.Column(verbose_name=_("Users"), attrs=NUMERIC)
    created_at = tables.DateColumn(verbose_name=_("Customer since"), format="SHORT_DATE_FORMAT")

    class Meta(PortalTable.Meta):
        model = Organization
        fields = ["account_number", "name", "rank", "status", "currency", "users", "created_at"]
        order_by = ["rank"]
        empty_text = _("No customers match these filters.")


class ScheduledActionTable(PortalTable):
    organization = tables.Column(
        verbose_name=_("Customer"),
        accessor="organization__name",
        linkify=("customers:detail", {"account_number": tables.A("organization__account_number")}),
    )
    target_status = tables.Column(verbose_name=_("New status"))
    run_on = tables.DateColumn(verbose_name=_("Run on"), format="SHORT_DATE_FORMAT")
    reason = tables.Column(verbose_name=_("Reason"), orderable=False)
    created_by = tables.Column(verbose_name=_("Scheduled by"), accessor="created_by__email")
    status = tables.TemplateColumn(
        verbose_name=_("Status"), template_name="customers/columns/scheduled_status.html"
    )
    actions = tables.TemplateColumn(
        verbose_name=_("Actions"),
        template_name="customers/columns/scheduled_actions.html",
        orderable=False,
        empty_values=(),
    )

    class Meta(PortalTable.Meta):
        model = ScheduledAction
        fields = ["organization", "target_status", "run_on", "reason", "created_by", "status"]
        order_by = ["run_on"]
        empty_text = _("No scheduled actions match these filters.")


class ServiceTable(PortalTable):
    """The customer's subscriptions ("assets") on the 360 page, with the staff actions."""

    plan = tables.Column(verbose_name=_("Plan"), accessor="plan__name")
    contract = tables.Column(verbose_name=_("Contract"), accessor="contract__number", default="—")
    quantity = tables.Column(verbose_name=_("Quantity"), attrs=NUMERIC)
    frequency = tables.Column(verbose_name=_("Billing frequency"))
    start_date = tables.DateColumn(verbose_name=_("Start"), format="SHORT_DATE_FORMAT")
    status = tables.TemplateColumn(
        verbose_name=_("Status"), template_name="customers/columns/service_status.html"
    )
    actions = tables.TemplateColumn(
        verbose_name=_("Actions"),
        template_name="customers/columns/service_actions.html",
        orderable=False,
        empty_values=(),
    )

    class Meta(PortalTable.Meta):
        model = Subscription
        fields = ["plan", "contract", "quantity", "frequency", "start_date", "status"]
        order_by = ["plan"]
        empty_text = _("This customer has no subscriptions.")
        prefix = "services-"

    def render_quantity(self, value):
        return f"{value.normalize():f}"

    def render_frequency(self, value, record):
        return record.get_frequency_display()
