from django import forms
from django.utils.translation import gettext_lazy as _

from contracts.models import ContractRequest
from contracts.services import STAFF_STATUSES


class ContractRequestForm(forms.Form):
    """A customer's renewal or cancellation request; the message is optional."""

    message = forms.CharField(
        label=_("Message (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 2000}),
        help_text=_("Anything we should know, such as changes you want. At most 2,000 characters."),
    )


class ContractRequestUpdateForm(forms.Form):
    """Staff's answer to a request (Django admin); contract_request_update does the writing."""

    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(status, ContractRequest.Status(status).label) for status in STAFF_STATUSES],
        widget=forms.RadioSelect,
    )
    staff_note = forms.CharField(
        label=_("Reply to the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown to the customer on the contract page. Required when declining."),
    )


class ContractRenewForm(forms.Form):
    new_end_date = forms.DateField(
        label=_("New end date"), widget=forms.DateInput(attrs={"type": "date"})
    )
