"""Staff screens for invoices and disputes: read-only records; decisions go through services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices import services
from invoices.dispute_forms import DisputeResolveForm
from invoices.models import (
    ZERO,
    Dispute,
    Invoice,
    InvoiceAdjustment,
    InvoiceLine,
    InvoiceStatusChange,
)
from portal.money import format_money


class ReadOnlyInline(admin.TabularInline):
    """Financial history: shown, never edited here (the totals service writes it)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = [
        "position",
        "description",
        "period_start",
        "period_end",
        "quantity",
        "unit_price",
        "tax_rate",
        "amount",
        "tax_amount",
        "reference",
    ]


class InvoiceAdjustmentInline(ReadOnlyInline):
    model = InvoiceAdjustment
    fields = ["created_at", "kind", "amount", "reference", "note"]


class InvoiceStatusChangeInline(ReadOnlyInline):
    model = InvoiceStatusChange
    fields = ["changed_at", "from_status", "to_status", "reason", "notified_at"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "organization",
        "issue_date",
        "due_date",
        "currency",
        "total",
        "balance",
        "status",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["number", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "issue_date"
    inlines = [InvoiceLineInline, InvoiceAdjustmentInline, InvoiceStatusChangeInline]

    # Invoices are issued and recalculated by invoices.services only: staff read them here.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Financial records are never deleted.


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = [
        "opened_at",
        "invoice",
        "line_position",
        "organization",
        "reason",
        "disputed_amount",
        "status",
        "credit",
        "resolved_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["invoice__number", "organization__name", "opened_by__email", "message"]
    list_select_related = ["invoice", "line", "organization", "opened_by"]
    date_hierarchy = "opened_at"
    fields = [
        "public_id",
        "organization",
        "invoice",
        "line",
        "opened_by",
        "opened_at",
        "reason",
        "message",
        "disputed_amount",
        "status",
        "credit",
        "resolution_note",
        "resolved_at",
        "resolve_link",
    ]
    readonly_fields = fields
    actions = ["mark_under_review", "resolve_one"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("invoice", "line", "organization", "opened_by")
        )

    # Customers open disputes; staff decide through dispute_resolve, never by editing rows.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("line"), ordering="line__position")
    def line_position(self, dispute: Dispute) -> int:
        return dispute.line.position

    @admin.display(description=gettext_lazy("disputed amount"), ordering="amount")
    def disputed_amount(self, dispute: Dispute) -> str:
        return format_money(dispute.amount, dispute.invoice.currency)

    @admin.display(description=gettext_lazy("credit granted"), ordering="credit_amount")
    def credit(self, dispute: Dispute) -> str:
        return format_money(dispute.credit_amount, dispute.invoice.currency)

    @admin.display(description=gettext_lazy("decision"))
    def resolve_link(self, dispute: Dispute) -> str:
        if not dispute.pk or not dispute.is_unresolved:
            return "—"
        url = reverse("admin:invoices_dispute_resolve", args=[dispute.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Resolve or reject…"))

    # --- Decisions ---------------------------------------------------------------------------

    def get_urls(self):
        resolve = self.admin_site.admin_view(self.resolve_view)
        return [
            path("<path:object_id>/resolve/", resolve, name="invoices_dispute_resolve"),
            *super().get_urls(),
        ]

    def resolve_view(self, request, object_id):
        dispute = self.get_object(request, object_id)
        if dispute is None:
            raise Http404(_("No such dispute."))
        if not self.has_change_permission(request, dispute):
            raise PermissionDenied
        form = DisputeResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            status = form.cleaned_data["status"]
            credit = form.cleaned_data["credit_amount"] or ZERO
            try:
                services.dispute_resolve(
                    dispute=dispute,
                    status=status,
                    note=form.cleaned_data["note"],
                    credit_amount=credit if status == Dispute.Status.RESOLVED_CREDIT else ZERO,
                )
            except services.InvoiceError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, _("The dispute was updated."), messages.SUCCESS)
                return redirect("admin:invoices_dispute_change", dispute.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resolve dispute on %(number)s") % {"number": dispute.invoice.number},
            "opts": self.opts,
            "original": dispute,
            "dispute": dispute,
            "line_total": dispute.line.amount + dispute.line.tax_amount,
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/invoices/dispute/resolve.html", context)

    @admin.action(description=gettext_lazy("Mark under review"), permissions=["change"])
    def mark_under_review(self, request, queryset):
        changed = 0
        for dispute in queryset.filter(status=Dispute.Status.OPEN):
            try:
                services.dispute_resolve(
                    dispute=dispute, status=Dispute.Status.UNDER_REVIEW, note=""
                )
            except services.InvoiceError as error:
                self.message_user(request, f"{dispute.invoice}: {error}", messages.WARNING)
            else:
                changed += 1
        self.message_user(
            request, _("%(count)d disputes marked under review.") % {"count": changed}
        )

    @admin.action(
        description=gettext_lazy("Resolve with credit or reject…"), permissions=["change"]
    )
    def resolve_one(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Select exactly one dispute to resolve."), messages.WARNING
            )
            return None
        return redirect("admin:invoices_dispute_resolve", queryset.get().pk)
