from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReasonField(forms.CharField):
    def __init__(self, *, required=True, label=None, help_text="", **kwargs):
        super().__init__(
            label=label or _("Reason"),
            required=required,
            max_length=1000,
            help_text=help_text,
            widget=forms.Textarea(attrs={"rows": 2}),
            **kwargs,
        )


class StatusChangeForm(forms.Form):
    """Change the account status now, or on a future date."""

    status = forms.ChoiceField(label=_("New status"))
    run_on = forms.DateField(
        label=_("On"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Leave empty to change it now; a date in the future schedules it."),
    )
    reason = ReasonField(help_text=_("Shown to the customer's administrators."))
    # Set by the confirmation page of a closure.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (value, label)
            for value, label in Organization.Status.choices
            if value != organization.status
        ]

    def clean_run_on(self):
        run_on = self.cleaned_data.get("run_on")
        if run_on is not None and run_on <= timezone.localdate():
            raise forms.ValidationError(
                _("Choose a date in the future, or leave it empty to change the status now.")
            )
        return run_on

    @property
    def needs_confirmation(self) -> bool:
        return self.cleaned_data.get(
            "status"
        ) == Organization.Status.CLOSED and not self.cleaned_data.get("confirm")


class RenameForm(forms.Form):
    name = forms.CharField(label=_("New name"), max_length=200)
    reason = ReasonField(required=False, label=_("Comment"))


class RankForm(forms.Form):
    rank = forms.ChoiceField(label=_("Rank"), choices=Organization.Rank.choices)
    reason = ReasonField(required=False, label=_("Comment"))


class ServiceActionForm(forms.Form):
    reason = ReasonField(help_text=_("Shown to the customer on the plans page."))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ScheduledActionForm(forms.Form):
    run_on = forms.DateField(label=_("Run on"), widget=DATE_WIDGET)
    reason = ReasonField()

    def clean_run_on(self):
        run_on = self.cleaned_data["run_on"]
        if run_on <= timezone.localdate():
            raise forms.ValidationError(_("Choose a date in the future."))
        return run_on


class CancelForm(forms.Form):
    reason = ReasonField(required=False, label=_("Comment"))
