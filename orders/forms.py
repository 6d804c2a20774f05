from decimal import Decimal

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


class OrderLineDocumentForm(forms.Form):
    """One line of an order document: product or service, quantity, unit price, tax rate."""

    product = forms.CharField(max_length=200)
    quantity = forms.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    unit_price = forms.DecimalField(max_digits=14, decimal_places=4, min_value=Decimal("0"))
    tax_rate = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        required=False,
    )


class OrderLinesField(forms.Field):
    """The document's lines: a JSON list of {product, quantity, unit_price, tax_rate}."""

    default_error_messages = {
        "invalid": _(
            "Give the lines as a list of objects with product, quantity, unit_price and "
            "tax_rate (JSON files only)."
        ),
    }

    def clean(self, value):
        if value in (None, "", []):
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        lines, errors = [], []
        for index, item in enumerate(value, start=1):
            form = OrderLineDocumentForm(item)
            if not form.is_valid():
                errors.extend(
                    forms.ValidationError(
                        _("item %(index)s: %(field)s: %(message)s"),
                        params={"index": index, "field": field, "message": message},
                    )
                    for field, messages in form.errors.items()
                    for message in messages
                )
                continue
            data = form.cleaned_data
            data["tax_rate"] = data["tax_rate"] if data["tax_rate"] is not None else Decimal("0")
            lines.append(data)
        if errors:
            raise forms.ValidationError(errors)
        return lines


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
    # A new order arrives in this status; a known order moves to it (if the move is allowed).
    status = forms.ChoiceField(choices=Order.Status.choices, required=False)
    payment_status = forms.ChoiceField(
        choices=[
            (Order.PaymentStatus.NOT_DUE, Order.PaymentStatus.NOT_DUE.label),
            (Order.PaymentStatus.AWAITING, Order.PaymentStatus.AWAITING.label),
        ],
        required=False,
    )
    lines = OrderLinesField(required=False)
    finance = EmailListField(required=False)
    technical = EmailListField(required=False)
    executive = EmailListField(required=False)

    def clean(self):
        data = super().clean()
        if not any(data.get(role) for role in Role.values):
            raise forms.ValidationError(_("An order must name at least one contact e-mail."))
        data["kind"] = data.get("kind") or Order.Kind.ORDER
        data["language"] = data.get("language") or settings.LANGUAGE_CODE
        data["payment_status"] = data.get("payment_status") or Order.PaymentStatus.NOT_DUE
        return data


class OrderStatusChangeForm(forms.Form):
    """Staff move an order along its timeline; the reason is shown to the customer."""

    status = forms.ChoiceField(label=_("New status"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        help_text=_("Shown to the customer on the order's timeline and in the e-mail."),
    )

    def __init__(self, *args, allowed: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(status, Order.Status(status).label) for status in allowed]
