import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from customers.models import ScheduledAction


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or account number"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Organization.Status.choices, empty_label=_("Any status")
    )
    rank = django_filters.ChoiceFilter(
        label=_("Rank"), choices=Organization.Rank.choices, empty_label=_("Any rank")
    )

    class Meta:
        model = Organization
        fields = ["q", "status", "rank"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(account_number__icontains=value))


class ScheduledActionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or account number"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=ScheduledAction.Status.choices, empty_label=_("Any status")
    )

    class Meta:
        model = ScheduledAction
        fields = ["q", "status"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(organization__name__icontains=value)
            | Q(organization__account_number__icontains=value)
        )
