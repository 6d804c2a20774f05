import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.models import ActivityEvent
from contacts.roles import Role


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, label=_("Roles"), **kwargs)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    roles = RolesField(
        help_text=_(
            "Finance: invoices and payments. Technical: orders, contracts and plans. "
            "Executive: reads every module."
        )
    )
    is_admin = forms.BooleanField(
        label=_("Administrator (may invite and manage users)"), required=False
    )


class ContactRolesForm(forms.Form):
    roles = RolesField()
    is_admin = forms.BooleanField(
        label=_("Administrator (may invite and manage users)"), required=False
    )


class OrganizationSwitchForm(forms.Form):
    organization = forms.UUIDField()
    next = forms.CharField(required=False)


class ActivityFilter(django_filters.FilterSet):
    verb = django_filters.ChoiceFilter(
        label=_("Event"), choices=ActivityEvent.Verb.choices, empty_label=_("All events")
    )
    actor = django_filters.CharFilter(
        label=_("Person"), field_name="actor__email", lookup_expr="icontains"
    )
    start = django_filters.DateFilter(
        label=_("From"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = django_filters.DateFilter(
        label=_("To"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = ActivityEvent
        fields = ["verb", "actor", "start", "end"]
