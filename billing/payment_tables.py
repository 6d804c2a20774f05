import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.models import Payment
from invoices.tables import MoneyColumn
from portal.tables import PortalTable

STATUS_BADGES = {
    Payment.Status.SUCCEEDED: "badge-ok",
    Payment.Status.FAILED: "badge-bad",
    Payment.Status.CANCELED: "badge-bad",
    Payment.Status.REQUIRES_ACTION: "badge-warn",
    Payment.Status.PROCESSING: "badge-info",
    Payment.Status.CREATED: "badge-info",
}


def status_badge(payment: Payment) -> str:
    return STATUS_BADGES.get(payment.status, "badge-info")


class PaymentTable(PortalTable):
    created_at = tables.DateTimeColumn(
        verbose_name=_("Date"),
        format="SHORT_DATETIME_FORMAT",
        linkify=("billing:payment_detail", {"payment_id": tables.A("public_id")}),
    )
    targets = tables.Column(verbose_name=_("For"), empty_values=(), orderable=False)
    amount = MoneyColumn(verbose_name=_("Amount"))
    status = tables.Column(verbose_name=_("Status"))
    paid_by = tables.Column(verbose_name=_("Paid by"), empty_values=(), order_by=("paid_by__name",))
    payment_method = tables.Column(verbose_name=_("Card"), orderable=False)

    class Meta(PortalTable.Meta):
        model = Payment
        fields = ["created_at", "targets", "amount", "status", "paid_by", "payment_method"]
        order_by = ["-created_at"]
        empty_text = _("No payments match these filters.")

    def render_status(self, value, record):
        return format_html(
            '<span class="badge {}">{}</span>', status_badge(record), record.get_status_display()
        )

    def render_targets(self, record):
        # Allocations are prefetched for the page (with their invoice and order).
        labels = [
            a.invoice.number if a.invoice_id else a.order.number for a in record.allocations.all()
        ]
        return ", ".join(labels) or "—"

    def render_paid_by(self, record):
        if record.paid_by is None:
            return record.get_origin_display()
        return record.paid_by.name or record.paid_by.email
