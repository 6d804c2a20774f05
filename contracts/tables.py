import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract
from portal.money import format_money
from portal.tables import PortalTable


class ContractTable(PortalTable):
    number = tables.Column(
        verbose_name=_("Number"),
        linkify=("contracts:detail", {"contract_number": tables.A("number")}),
    )
    title = tables.Column(verbose_name=_("Title"))
    kind = tables.Column(verbose_name=_("Type"))
    start_date = tables.DateColumn(verbose_name=_("Start"), format="SHORT_DATE_FORMAT")
    end_date = tables.DateColumn(verbose_name=_("End"), format="SHORT_DATE_FORMAT")
    auto_renew = tables.Column(verbose_name=_("Renews automatically"))
    value = tables.Column(
        verbose_name=_("Value"), attrs={"td": {"class": "numeric"}, "th": {"class": "numeric"}}
    )
    # Derived from the end date: sorted by it, since "expiring" is "ending soonest".
    status = tables.Column(verbose_name=_("Status"), empty_values=(), order_by=("end_date",))

    class Meta(PortalTable.Meta):
        model = Contract
        fields = [
            "number",
            "title",
            "kind",
            "start_date",
            "end_date",
            "auto_renew",
            "value",
            "status",
        ]
        order_by = ["end_date"]
        empty_text = _("No contracts match these filters.")
        row_attrs = {
            "class": lambda record: (
                "row-flagged" if record.display_status() == Contract.DisplayStatus.EXPIRING else ""
            )
        }

    def render_auto_renew(self, value, record):
        return _("Yes") if value else _("No")

    def render_value(self, value, record):
        return format_money(value, record.currency)

    def render_status(self, value, record):
        return render_to_string("contracts/status_badge.html", {"contract": record})
