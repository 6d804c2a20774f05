import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from invoices.models import Dispute
from portal.tables import PortalTable


class DisputeTable(PortalTable):
    """The organization's disputes; the view's queryset selects invoice and line."""

    invoice = tables.Column(
        verbose_name=_("Invoice"),
        accessor="invoice__number",
        linkify=("invoices:detail", {"number": tables.A("invoice__number")}),
    )
    line = tables.Column(verbose_name=_("Charge"), accessor="line__description")
    reason = tables.Column(verbose_name=_("Reason"))
    amount = tables.TemplateColumn(
        template_name="invoices/columns/dispute_amount.html",
        verbose_name=_("Disputed amount"),
        order_by=("amount",),
        attrs={"th": {"class": "numeric"}, "td": {"class": "numeric"}},
    )
    status = tables.TemplateColumn(
        template_name="invoices/columns/dispute_status.html",
        verbose_name=_("Status"),
        order_by=("status",),
    )
    opened_at = tables.DateTimeColumn(verbose_name=_("Opened"), format="SHORT_DATETIME_FORMAT")
    resolution = tables.TemplateColumn(
        template_name="invoices/columns/dispute_resolution.html",
        verbose_name=_("Our answer"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        model = Dispute
        fields = ["invoice", "line", "reason", "amount", "status", "opened_at", "resolution"]
        empty_text = _("No disputed charges. To dispute a charge, open its invoice.")
