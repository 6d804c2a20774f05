from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.models import Order, OrderContact
from orders.services import order_provision_contacts


class OrderContactInline(admin.TabularInline):
    model = OrderContact
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "kind", "organization", "order_date", "currency", "provisioned_at"]
    list_filter = ["kind", "provisioned_at"]
    search_fields = ["number", "organization__name", "contacts__email"]
    list_select_related = ["organization"]
    inlines = [OrderContactInline]
    actions = ["provision_contacts"]

    @admin.action(description=_("Provision the order's contacts (sends welcome e-mails once)"))
    def provision_contacts(self, request, queryset):
        orders = list(queryset.select_related("organization").prefetch_related("contacts"))
        added = sum(len(order_provision_contacts(order=o).created_contacts) for o in orders)
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
