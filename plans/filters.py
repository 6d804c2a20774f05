import django_filters
from django.utils.translation import gettext_lazy as _

from plans.models import Subscription


class SubscriptionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Plan"), method="search")
    frequency = django_filters.ChoiceFilter(
        label=_("Billing frequency"), choices=Subscription.Frequency.choices
    )

    class Meta:
        model = Subscription
        fields = ["q", "frequency"]

    def search(self, queryset, name, value):
        return queryset.filter(plan__name__icontains=value.strip())
