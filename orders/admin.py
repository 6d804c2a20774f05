"""Staff screens for orders: documents are read here; status moves go through the service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orders import services
from orders.forms import OrderStatusChangeForm
from orders.models import Order, OrderContact, OrderLine, OrderStatusEvent


class ReadOnlyInline(admin.TabularInline):
    """Shown, never edited here: lines feed the totals, events are the timeline's record."""

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


class OrderContactInline(admin.TabularInline):
    model = OrderContact
    extra = 0


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["position", "product", "quantity", "unit_price", "tax_rate", "amount"]


class OrderStatusEventInline(ReadOnlyInline):
    model = OrderStatusEvent
    fields = ["changed_at", "status", "changed_by", "reason", "notified_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "kind",
        "organization",
        "order_date",
        "status",
        "payment_status",
        "currency",
        "total",
        "provisioned_at",
    ]
    list_filter = ["status", "payment_status", "kind", "provisioned_at"]
    search_fields = ["number", "organization__name", "contacts__email", "lines__product"]
    list_select_related = ["organization"]
    date_hierarchy = "order_date"
    raw_id_fields = ["contract"]
    fields = [
        "number",
        "kind",
        "organization",
        "order_date",
        "currency",
        "status_with_link",
        "payment_status",
        "contract",
        "subtotal",
        "tax_total",
        "total",
        "provisioned_at",
    ]
    # The status moves only through order_change_status (see "Change status…"); totals come
    # from the lines.
    readonly_fields = [
        "number",
        "kind",
        "organization",
        "order_date",
        "currency",
        "status_with_link",
        "subtotal",
        "tax_total",
        "total",
        "provisioned_at",
    ]
    inlines = [OrderContactInline, OrderLineInline, OrderStatusEventInline]
    actions = ["provision_contacts", "change_status"]

    # Orders arrive from order documents (import_orders); customer records are never deleted.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_with_link(self, order: Order) -> str:
        if order.is_final:
            return order.get_status_display()
        url = reverse("admin:orders_order_status", args=[order.pk])
        return format_html(
            '{} · <a class="button" href="{}">{}</a>',
            order.get_status_display(),
            url,
            _("Change status…"),
        )

    @admin.action(
        description=gettext_lazy("Provision the order's contacts (sends welcome e-mails once)")
    )
    def provision_contacts(self, request, queryset):
        orders = list(queryset.select_related("organization").prefetch_related("contacts"))
        added = sum(
            len(services.order_provision_contacts(order=order).created_contacts) for order in orders
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d order provisioned; %(added)d new contact(s).",
                "%(count)d orders provisioned; %(added)d new contact(s).",
                len(orders),
            )
            % {"count": len(orders), "added": added},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Change status…"), permissions=["change"])
    def change_status(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Select exactly one order to change its status."), messages.WARNING
            )
            return None
        return redirect("admin:orders_order_status", queryset.get().pk)

    # --- Status changes ------------------------------------------------------------------------

    def get_urls(self):
        status_view = self.admin_site.admin_view(self.status_view)
        return [
            path("<path:object_id>/status/", status_view, name="orders_order_status"),
            *super().get_urls(),
        ]

    def status_view(self, request, object_id):
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404(_("No such order."))
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        allowed = services.order_allowed_statuses(order=order)
        form = OrderStatusChangeForm(request.POST or None, allowed=allowed)
        if request.method == "POST" and form.is_valid():
            try:
                services.order_change_status(
                    order=order,
                    status=form.cleaned_data["status"],
                    changed_by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except services.OrderError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    _("Order %(number)s is now %(status)s.")
                    % {"number": order.number, "status": order.get_status_display()},
                    messages.SUCCESS,
                )
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change the status of order %(number)s") % {"number": order.number},
            "opts": self.opts,
            "original": order,
            "order": order,
            "events": list(order.events.select_related("changed_by")),
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "orders/admin_change_status.html", context)
