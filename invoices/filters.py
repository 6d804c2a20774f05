import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from invoices.models import Invoice


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Invoice number"), method="search")
    issued_from = django_filters.DateFilter(
        label=_("Issued from"),
        field_name="issue_date",
        lookup_expr="gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    issued_to = django_filters.DateFilter(
        label=_("Issued to"),
        field_name="issue_date",
        lookup_expr="lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    min_total = django_filters.NumberFilter(
        label=_("Minimum total"),
        field_name="total",
        lookup_expr="gte",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )
    max_total = django_filters.NumberFilter(
        label=_("Maximum total"),
        field_name="total",
        lookup_expr="lte",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )

    class Meta:
        model = Invoice
        fields = ["q", "issued_from", "issued_to", "min_total", "max_total"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value.strip()))
