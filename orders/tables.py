import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from invoices.tables import MoneyColumn
from orders.models import Order
from portal.tables import PortalTable


class OrderTable(PortalTable):
    number = tables.Column(
        verbose_name=_("Number"),
        linkify=("orders:detail", {"order_number": tables.A("number")}),
    )
    kind = tables.Column(verbose_name=_("Type"))
    # Ties on the date keep a stable order across pages.
    order_date = tables.DateColumn(
        verbose_name=_("Order date"), format="SHORT_DATE_FORMAT", order_by=("order_date", "id")
    )
    status = tables.Column(verbose_name=_("Status"))
    total = MoneyColumn(verbose_name=_("Total"))
    payment_status = tables.Column(verbose_name=_("Payment"), orderable=False)

    class Meta(PortalTable.Meta):
        model = Order
        fields = ["number", "kind", "order_date", "status", "total", "payment_status"]
        order_by = ["-order_date"]
        empty_text = _("No orders match these filters.")

    def render_status(self, value, record):
        return format_html(
            '<span class="badge {}">{}</span>', record.status_badge, record.get_status_display()
        )

    def render_payment_status(self, value, record):
        if not record.is_awaiting_payment:
            return ""
        return format_html(
            '<span class="badge badge-warn">{}</span>', record.get_payment_status_display()
        )
