from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.countries import COUNTRIES
from billing.models import PaymentMethod
from billing.profiles import EXPIRY_YEARS_AHEAD, expiry_is_valid, method_label
from invoices.forms import RecipientsField

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ()./-]{5,38}$",
    _("Enter a phone number with digits, spaces and + ( ) . / - only, e.g. +1 555 010 0200."),
)
postal_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9 -]{1,18}$", _("Enter a postal code of letters, digits and spaces.")
)
tax_id_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9 .-]{1,38}$",
    _("Enter the tax ID with letters and digits, e.g. DE123456789."),
)


class BillingProfileForm(forms.Form):
    contact_name = forms.CharField(label=_("Billing contact"), max_length=200, required=False)
    contact_email = forms.EmailField(label=_("Billing e-mail"), required=False)
    contact_phone = forms.CharField(
        label=_("Phone"), max_length=40, required=False, validators=[phone_validator]
    )
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (line 2)"), max_length=200, required=False)
    postal_code = forms.CharField(
        label=_("Postal code"), max_length=20, required=False, validators=[postal_code_validator]
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.ChoiceField(label=_("Country"), required=False, choices=[("", "—"), *COUNTRIES])
    tax_id = forms.CharField(
        label=_("Tax ID"), max_length=40, required=False, validators=[tax_id_validator]
    )
    invoice_recipients = RecipientsField(
        label=_("Invoice e-mail recipients"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Who receives new invoices by e-mail. Separate addresses with commas; at most 10."
        ),
    )
    auto_pay = forms.BooleanField(
        label=_("Pay due invoices automatically with the default card"), required=False
    )

    def __init__(
        self, *args, tax_id_locked: bool = False, has_default_method: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.tax_id_locked = tax_id_locked
        self.has_default_method = has_default_method
        if tax_id_locked:
            self.fields["tax_id"].label = _("Request a tax ID change")
            self.fields["tax_id"].help_text = _(
                "Invoices were already issued with the current tax ID, so our staff review a "
                "change. Enter the new tax ID to send them a request."
            )

    def clean_tax_id(self):
        return self.cleaned_data["tax_id"].strip().upper()

    def clean(self):
        data = super().clean()
        if data.get("auto_pay") and not self.has_default_method:
            self.add_error(
                "auto_pay", _("Add a card first: automatic payments use the default card.")
            )
        return data


def _year_choices():
    year = timezone.localdate().year
    return [(y, str(y)) for y in range(year, year + EXPIRY_YEARS_AHEAD + 1)]


class ExpiryForm(forms.Form):
    """Only the expiry date of a saved card may change (the FAQ's rule)."""

    exp_month = forms.TypedChoiceField(
        label=_("Expiry month"),
        coerce=int,
        choices=[(m, f"{m:02d}") for m in range(1, 13)],
    )
    exp_year = forms.TypedChoiceField(label=_("Expiry year"), coerce=int, choices=_year_choices)

    def clean(self):
        data = super().clean()
        if "exp_month" in data and "exp_year" in data:
            problem = expiry_is_valid(data["exp_month"], data["exp_year"])
            if problem:
                raise forms.ValidationError(problem)
        return data


class RemoveMethodForm(forms.Form):
    """Removing the default card while others exist: choose the next default."""

    new_default = forms.ModelChoiceField(
        label=_("New default card"),
        queryset=PaymentMethod.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        required=False,
    )

    def __init__(self, *args, method: PaymentMethod, others, **kwargs):
        super().__init__(*args, **kwargs)
        self.method = method
        self.needs_new_default = method.is_default and bool(others)
        field = self.fields["new_default"]
        field.queryset = PaymentMethod.objects.filter(pk__in=[m.pk for m in others])
        field.to_field_name = "public_id"
        field.label_from_instance = lambda m: (
            _("%(card)s, expires %(month)02d/%(year)d")
            % {
                "card": method_label(m),
                "month": m.exp_month,
                "year": m.exp_year,
            }
        )
        field.required = self.needs_new_default
        if not self.needs_new_default:
            del self.fields["new_default"]
