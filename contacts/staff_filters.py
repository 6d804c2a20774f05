import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from contacts.models import (
    CustomerContact,
    CustomerContactClass,
    CustomerContactType,
    Organization,
)
from contacts.staff_forms import StaffChoiceField, staff_members

DATE = forms.DateInput(attrs={"type": "date"})


def _memberships(*conditions, **lookup):
    """Rows of the contact ↔ organization link matching `lookup`, for Exists() filters
    (no join on the list query, so no duplicate rows and no DISTINCT)."""
    return CustomerContact.organizations.through.objects.filter(
        *conditions, customercontact=OuterRef("pk"), **lookup
    )


class StaffChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = StaffChoiceField


class CustomerContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Person or organization"),
        method="search",
        help_text=_("E-mail, name, organization name or account number"),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=CustomerContact.Status.choices, empty_label=_("Any status")
    )
    contact_class = django_filters.ModelChoiceFilter(
        label=_("Class"), queryset=CustomerContactClass.objects.all(), empty_label=_("Any class")
    )
    contact_type = django_filters.ModelChoiceFilter(
        label=_("Type"),
        queryset=CustomerContactType.objects.select_related("contact_class"),
        empty_label=_("Any type"),
    )
    channel = django_filters.ChoiceFilter(
        label=_("Channel"), choices=CustomerContact.Channel.choices, empty_label=_("Any channel")
    )
    contacted_from = django_filters.DateFilter(
        label=_("From"), field_name="contacted_at", lookup_expr="date__gte", widget=DATE
    )
    contacted_to = django_filters.DateFilter(
        label=_("To"), field_name="contacted_at", lookup_expr="date__lte", widget=DATE
    )
    assigned_to = StaffChoiceFilter(
        label=_("Assigned to"), queryset=staff_members(), empty_label=_("Anybody")
    )
    rank = django_filters.ChoiceFilter(
        label=_("Organization rank"),
        choices=Organization.Rank.choices,
        empty_label=_("Any rank"),
        method="filter_rank",
    )
    # Targets of the "all contacts of this person / organization" links.
    person = django_filters.CharFilter(
        label=_("Person's e-mail address"), field_name="person__email", lookup_expr="iexact"
    )
    organization = django_filters.CharFilter(
        label=_("Account number"), method="filter_organization"
    )

    class Meta:
        model = CustomerContact
        fields = [
            "q",
            "status",
            "contact_class",
            "contact_type",
            "channel",
            "contacted_from",
            "contacted_to",
            "assigned_to",
            "rank",
            "person",
            "organization",
        ]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        in_organization = Exists(
            _memberships(
                Q(organization__name__icontains=value)
                | Q(organization__account_number__icontains=value)
            )
        )
        return queryset.filter(
            Q(person__email__icontains=value) | Q(person__name__icontains=value) | in_organization
        )

    def filter_rank(self, queryset, name, value):
        return queryset.filter(Exists(_memberships(organization__rank=value)))

    def filter_organization(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Exists(_memberships(organization__account_number__iexact=value)))
