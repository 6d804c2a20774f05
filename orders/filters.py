import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from orders.models import Order, OrderLine


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Order number or product"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Order.Status.choices, empty_label=_("Any status")
    )
    payment_status = django_filters.ChoiceFilter(
        label=_("Payment"), choices=Order.PaymentStatus.choices, empty_label=_("Any")
    )
    ordered_from = django_filters.DateFilter(
        label=_("Ordered from"),
        field_name="order_date",
        lookup_expr="gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ordered_to = django_filters.DateFilter(
        label=_("Ordered to"),
        field_name="order_date",
        lookup_expr="lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Order
        fields = ["q", "status", "payment_status", "ordered_from", "ordered_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # EXISTS, not a join: an order with several matching lines is still one row.
        lines = OrderLine.objects.filter(order=OuterRef("pk"), product__icontains=value)
        return queryset.filter(Q(number__icontains=value) | Exists(lines))
