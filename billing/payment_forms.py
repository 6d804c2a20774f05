"""The pay form (Payments due) and the payment history filters."""

from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from billing.models import FailedCharge, Payment, PaymentMethod
from invoices.models import Invoice
from orders.models import Order
from portal.money import parse_amount

NEW_CARD = "new"
MAX_TARGETS = 200


# No invoice comes near 10^15; larger amounts cannot even be rounded to cents.
MAX_AMOUNT_DIGITS = 15


def _storable(values: list[str]) -> list[str]:
    """Values PostgreSQL can compare (it refuses NUL in text): the rest match nothing."""
    return [value for value in values if "\x00" not in value]


class PayForm(forms.Form):
    """What to pay and how. Invoices (`invoice` + `amount-<number>`), orders (`order`) and a
    failed charge (`failed_charge`) are read from the raw data and looked up in the contact's
    organization only; the payment service checks everything again on locked rows."""

    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    method = forms.CharField(max_length=64, error_messages={"required": _("Choose a card.")})
    make_default = forms.BooleanField(
        label=_("Also make this card my default"),
        required=False,
        help_text=_("Otherwise your default card stays as it is."),
    )
    partial_reason = forms.CharField(
        label=_("Reason for paying part of an invoice"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed only when you pay less than an invoice's balance."),
    )

    def __init__(self, *args, contact, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact = contact

    def clean(self):
        cleaned = super().clean()
        data = self.data
        numbers = [n for n in dict.fromkeys(data.getlist("invoice")) if n]
        order_numbers = [n for n in dict.fromkeys(data.getlist("order")) if n]
        failed_id = data.get("failed_charge", "")
        if len(numbers) + len(order_numbers) > MAX_TARGETS:
            raise ValidationError(
                _("Pay at most %(count)d invoices and orders at once.") % {"count": MAX_TARGETS}
            )
        invoices = {
            invoice.number: invoice
            for invoice in Invoice.objects.visible_to(self.contact).filter(
                number__in=_storable(numbers)
            )
        }
        pairs: list[tuple[Invoice, Decimal]] = []
        for number in numbers:
            invoice = invoices.get(number)
            if invoice is None:
                raise ValidationError(_("Invoice %(number)s was not found.") % {"number": number})
            amount = parse_amount(data.get(f"amount-{number}", ""))
            if amount is None or amount.adjusted() >= MAX_AMOUNT_DIGITS:  # 1e309 can't round.
                raise ValidationError(
                    _("Enter the amount to pay for %(number)s.") % {"number": number}
                )
            pairs.append((invoice, amount))
        orders = list(
            Order.objects.visible_to(self.contact)
            .filter(number__in=_storable(order_numbers))
            .select_related("contract")
        )
        if len(orders) != len(order_numbers):
            raise ValidationError(_("One of the orders was not found."))
        failed_charge = None
        if failed_id:
            try:
                failed_charge = (
                    FailedCharge.objects.visible_to(self.contact)
                    .select_related("payment")
                    .filter(public_id=failed_id)
                    .first()
                )
            except ValidationError:
                failed_charge = None
            if failed_charge is None:
                raise ValidationError(_("This failed charge was not found."))
        if not pairs and not orders and failed_charge is None:
            raise ValidationError(_("Choose at least one invoice, order or failed charge to pay."))
        method = cleaned.get("method")
        payment_method = None
        if method and method != NEW_CARD:
            try:
                payment_method = (
                    PaymentMethod.objects.visible_to(self.contact)
                    .usable()
                    .filter(public_id=method)
                    .first()
                )
            except ValidationError:
                payment_method = None
            if payment_method is None:
                self.add_error("method", _("This card is no longer available."))
        cleaned.update(
            invoices=pairs,
            orders=orders,
            failed_charge=failed_charge,
            payment_method=payment_method,
            new_card=method == NEW_CARD,
        )
        return cleaned


class PaymentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Payment.Status.choices, empty_label=_("Any status")
    )
    paid_from = django_filters.DateFilter(
        label=_("From"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    paid_to = django_filters.DateFilter(
        label=_("To"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Payment
        fields = ["status", "paid_from", "paid_to"]
