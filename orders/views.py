from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contacts.roles import Module, Role
from orders import services
from orders.filters import OrderFilter
from orders.models import Order, OrderContact, OrderLine, sees_only_awaiting_payment
from orders.tables import OrderTable
from portal.access import ModuleViewMixin, get_for, module_view


class OrderListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.ORDERS
    model = Order
    table_class = OrderTable
    filterset_class = OrderFilter
    template_name = "orders/order_list.html"

    def get_queryset(self):
        # Finance-only contacts see the orders awaiting payment, nothing else.
        return Order.objects.visible_by_role(self.contact)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["awaiting_only"] = sees_only_awaiting_payment(self.contact)
        return context


def _order_for_detail(request, order_number: str) -> Order:
    queryset = (
        Order.objects.visible_by_role(request.contact)
        .select_related("organization")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("position")),
            Prefetch("contacts", queryset=OrderContact.objects.order_by("role", "email")),
            "events",
        )
    )
    return get_for(request, queryset, number=order_number)


@module_view(Module.ORDERS)
def order_detail(request, order_number):
    order = _order_for_detail(request, order_number)
    by_role = order.contacts_by_role()
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "contacts_by_role": [
            {"label": Role(role).label, "emails": by_role[role]}
            for role in Role.values
            if role in by_role
        ],
        "timeline": order.timeline(),
        "notify": request.contact.notify_order_updates,
    }
    return render(request, "orders/order_detail.html", context)


@module_view(Module.ORDERS)
@require_POST
def order_notifications(request, order_number):
    """The contact's own e-mail preference; allowed on closed accounts too (it is personal)."""
    order = get_for(request, Order.objects.visible_by_role(request.contact), number=order_number)
    enabled = request.POST.get("enabled") == "1"
    services.order_notifications_set(contact=request.contact, enabled=enabled)
    if enabled:
        messages.success(request, _("You will get an e-mail when an order's status changes."))
    else:
        messages.success(request, _("You will no longer get e-mails about order status changes."))
    return redirect("orders:detail", order_number=order.number)
