from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from contacts.roles import Role
from orders.models import Order


class EmailListField(forms.Field):
    """E-mails separated by ';' or ',' (CSV) or given as a JSON list."""

    def to_python(self, value):
        if value in (None, ""):
            return []
        items = value if isinstance(value, list) else str(value).replace(",", ";").split(";")
        return [str(item).strip().lower() for item in items if str(item).strip()]

    def validate(self, value):
        super().validate(value)
        for email in value:
            validate_email(email)


class OrderDocumentForm(forms.Form):
    """One order document row of an import file, validated before anything is written."""

    number = forms.CharField(max_length=40)
    kind = forms.ChoiceField(choices=Order.Kind.choices, required=False)
    account_number = forms.CharField(max_length=40)
    customer_name = forms.CharField(max_length=200)
    currency = forms.RegexField(
        regex=r"^[A-Z]{3}$", error_messages={"invalid": _("Use a three-letter ISO currency code.")}
    )
    language = forms.ChoiceField(choices=settings.LANGUAGES, required=False)
    order_date = forms.DateField(input_formats=["%Y-%m-%d"])
    finance = EmailListField(required=False)
    technical = EmailListField(required=False)
    executive = EmailListField(required=False)

    def clean(self):
        data = super().clean()
        if not any(data.get(role) for role in Role.values):
            raise forms.ValidationError(_("An order must name at least one contact e-mail."))
        data["kind"] = data.get("kind") or Order.Kind.ORDER
        data["language"] = data.get("language") or settings.LANGUAGE_CODE
        return data
