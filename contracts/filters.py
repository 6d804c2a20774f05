import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models import Contract


class ContractFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Number or title"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Contract.DisplayStatus.choices, method="filter_status"
    )
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=Contract.Kind.choices)

    class Meta:
        model = Contract
        fields = ["q", "status", "kind"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value))

    def filter_status(self, queryset, name, value):
        return queryset.with_display_status(value)
