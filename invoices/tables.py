import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from invoices.models import Invoice, InvoiceStatus
from portal.money import format_money
from portal.tables import PortalTable


class MoneyColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "numeric"}, "th": {"class": "numeric"}})
        super().__init__(*args, **kwargs)

    def render(self, value, record):
        return format_money(value, record.currency)


class InvoiceTable(PortalTable):
    select = tables.CheckBoxColumn(
        accessor="number",
        attrs={
            "input": {"name": "numbers", "form": "bulk-form"},
            "th__input": {"data-select-all": "numbers", "aria-label": _("Select all")},
        },
    )
    number = tables.Column(
        verbose_name=_("Number"), linkify=("invoices:detail", {"number": tables.A("number")})
    )
    issue_date = tables.DateColumn(verbose_name=_("Issued"), format="SHORT_DATE_FORMAT")
    due_date = tables.DateColumn(verbose_name=_("Due"), format="SHORT_DATE_FORMAT")
    status = tables.Column(verbose_name=_("Status"))
    total = MoneyColumn(verbose_name=_("Total"))
    balance = MoneyColumn(verbose_name=_("Balance due"))

    class Meta(PortalTable.Meta):
        model = Invoice
        fields = ["select", "number", "issue_date", "due_date", "status", "total", "balance"]
        order_by = ["-issue_date", "-number"]  # A stable order when dates repeat.
        empty_text = _("No invoices match these filters.")
        row_attrs = {"class": lambda record: "row-flagged" if record.is_overdue else ""}

    def render_status(self, value, record):
        badge = {
            InvoiceStatus.OVERDUE: "badge-bad",
            InvoiceStatus.OPEN: "badge-warn",
            InvoiceStatus.CLOSED: "badge-ok",
        }[record.status]
        icon = {InvoiceStatus.OVERDUE: "⚠ ", InvoiceStatus.OPEN: "", InvoiceStatus.CLOSED: "✓ "}
        return format_html(
            '<span class="badge {}">{}{}</span>',
            badge,
            icon[record.status],
            record.get_status_display(),
        )

    def render_select(self, value, record):
        return format_html(
            '<input type="checkbox" name="numbers" value="{}" form="bulk-form" aria-label="{}">',
            value,
            _("Select %(number)s") % {"number": value},
        )
