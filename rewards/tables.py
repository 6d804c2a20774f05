import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from invoices.tables import MoneyColumn
from portal.tables import PortalTable
from rewards.models import RewardEntry


class RewardEntryTable(PortalTable):
    """The ledger, newest first; the view's queryset selects invoices and earned entries."""

    created_at = tables.DateColumn(
        verbose_name=_("Date"), format="SHORT_DATE_FORMAT", order_by=("created_at", "id")
    )
    kind = tables.TemplateColumn(
        template_name="rewards/columns/kind.html", verbose_name=_("Type"), order_by=("kind",)
    )
    details = tables.TemplateColumn(
        template_name="rewards/columns/details.html", verbose_name=_("Details"), orderable=False
    )
    amount = MoneyColumn(verbose_name=_("Amount"))
    expires_on = tables.DateColumn(verbose_name=_("Expires"), format="SHORT_DATE_FORMAT")

    class Meta(PortalTable.Meta):
        model = RewardEntry
        fields = ["created_at", "kind", "details", "amount", "expires_on"]
        order_by = ["-created_at"]
        empty_text = _("No rewards entries match these filters.")
