import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from plans.billing import next_billing_period
from plans.models import Subscription
from portal.money import format_money, quantize
from portal.tables import PortalTable

NUMERIC = {"td": {"class": "numeric"}, "th": {"class": "numeric"}}


def format_unit_price(amount, currency: str) -> str:
    """Money format, keeping the sub-cent digits a unit price may have (4 decimals)."""
    if quantize(amount, currency) == amount:
        return format_money(amount, currency)
    number = formats.number_format(amount, 4, use_l10n=True, force_grouping=True)
    return f"{number}\u00a0{currency}"


class SubscriptionTable(PortalTable):
    plan = tables.Column(verbose_name=_("Plan"), accessor="plan__name")
    contract = tables.Column(verbose_name=_("Contract"), accessor="contract__number", default="—")
    quantity = tables.Column(verbose_name=_("Quantity"), attrs=NUMERIC)
    unit_price = tables.Column(verbose_name=_("Unit price"), attrs=NUMERIC)
    frequency = tables.Column(verbose_name=_("Billing frequency"))
    start_date = tables.DateColumn(verbose_name=_("Start"), format="SHORT_DATE_FORMAT")
    end_date = tables.Column(verbose_name=_("End"), empty_values=())
    next_billing = tables.Column(verbose_name=_("Next billing"), orderable=False, empty_values=())
    status = tables.TemplateColumn(
        verbose_name=_("Status"), template_name="plans/columns/status.html"
    )

    class Meta(PortalTable.Meta):
        model = Subscription
        fields = [
            "plan",
            "contract",
            "quantity",
            "unit_price",
            "frequency",
            "start_date",
            "end_date",
            "next_billing",
            "status",
        ]
        order_by = ["plan"]
        empty_text = _("No subscriptions match these filters.")
        row_attrs = {
            "class": lambda record: (
                "" if record.status == Subscription.Status.ACTIVE else "row-flagged"
            )
        }

    def __init__(self, *args, today, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    def render_quantity(self, value, record):
        return record.quantity_display

    def render_unit_price(self, value, record):
        return format_unit_price(value, record.currency)

    def render_frequency(self, value, record):
        return record.get_frequency_display()

    def render_end_date(self, value, record):
        """The subscription's end, or the contract's when that comes first."""
        contract_end = record.contract.end_date if record.contract_id else None
        if contract_end and (value is None or contract_end < value):
            return format_html(
                "{}<br><small>{}</small>",
                formats.date_format(contract_end, "SHORT_DATE_FORMAT"),
                _("contract end"),
            )
        if value is None:
            return _("Open-ended")
        return formats.date_format(value, "SHORT_DATE_FORMAT")

    def render_next_billing(self, record):
        """From the billing engine, for the rows of this page only (no queries)."""
        period = (
            next_billing_period(record, today=self.today)
            if record.status == Subscription.Status.ACTIVE
            else None
        )
        return render_to_string(
            "plans/columns/next_billing.html", {"record": record, "period": period}
        )
