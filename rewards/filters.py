import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from rewards.models import RewardEntry


class RewardEntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        label=_("Type"), choices=RewardEntry.Kind.choices, empty_label=_("All types")
    )
    date_from = django_filters.DateFilter(
        label=_("From"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("To"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = RewardEntry
        fields = ["kind", "date_from", "date_to"]
