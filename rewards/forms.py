from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from invoices.models import Invoice
from portal.money import decimals_for, format_money
from rewards.services import currency_mismatch

AMOUNT_ERRORS = {
    "required": _("Enter the amount of rewards to apply."),
    "invalid": _("Enter the amount as a number, such as 12.50."),
    "max_digits": _("This amount is far too large."),
    "max_whole_digits": _("This amount is far too large."),
    "max_decimal_places": _("Use at most %(max)s decimal places."),
}

STALE_FORM = {
    "required": _("This form is out of date. Reload the page and try again."),
    "invalid": _("This form is out of date. Reload the page and try again."),
    "max_length": _("This form is out of date. Reload the page and try again."),
}


class RedeemForm(forms.Form):
    """Apply rewards of one currency to one unpaid invoice; the service checks it all again.

    `token` is generated when the form is shown, so a double click applies the rewards once.
    """

    token = forms.UUIDField(widget=forms.HiddenInput, error_messages=STALE_FORM)
    currency = forms.CharField(max_length=3, widget=forms.HiddenInput, error_messages=STALE_FORM)
    invoice = forms.CharField(
        label=_("Invoice"),
        widget=forms.Select,
        error_messages={"required": _("Choose the invoice to apply the rewards to.")},
    )

    def __init__(self, *args, currency: str, balance: Decimal, invoices: list[Invoice], **kwargs):
        # Distinct ids when the page shows one form per currency.
        kwargs.setdefault("auto_id", f"id_redeem_{currency.lower()}_%s")
        super().__init__(*args, **kwargs)
        # Not `currency`: templates would find the field of that name first.
        self.balance_currency, self.balance = currency, balance
        # Every unpaid invoice of the organization may be posted (and is checked); the list
        # offers those in this currency.
        self.invoices = {invoice.number: invoice for invoice in invoices}
        offered = [invoice for invoice in invoices if invoice.currency == currency]
        self.offered = offered
        self.fields["invoice"].widget.choices = [
            (
                invoice.number,
                _("%(number)s — %(balance)s due")
                % {"number": invoice.number, "balance": format_money(invoice.balance, currency)},
            )
            for invoice in offered
        ]
        places = decimals_for(currency)
        self.fields["amount"] = forms.DecimalField(
            label=_("Amount (%(currency)s)") % {"currency": currency},
            max_digits=14,
            decimal_places=places,
            error_messages=AMOUNT_ERRORS,
            help_text=_("At most your balance, %(balance)s, and the invoice's balance due.")
            % {"balance": format_money(balance, currency)},
            widget=forms.NumberInput(attrs={"step": Decimal(1).scaleb(-places), "min": 0}),
        )
        if not self.is_bound:
            self.initial.setdefault("currency", currency)
            chosen = self.invoices.get(self.initial.get("invoice")) or (
                offered[0] if offered else None
            )
            if chosen is not None and chosen.currency == currency:
                self.initial["invoice"] = chosen.number
                self.initial["amount"] = min(balance, chosen.balance)

    def clean_invoice(self) -> Invoice:
        invoice = self.invoices.get(self.cleaned_data["invoice"])
        if invoice is None:
            raise forms.ValidationError(_("Choose one of your organization's unpaid invoices."))
        return invoice

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("The amount must be more than zero."))
        if amount > self.balance:
            raise forms.ValidationError(
                _("You have only %(balance)s in rewards to redeem.")
                % {"balance": format_money(self.balance, self.balance_currency)}
            )
        return amount

    def clean(self):
        cleaned = super().clean()
        invoice, amount = cleaned.get("invoice"), cleaned.get("amount")
        if invoice is None:
            return cleaned
        if cleaned.get("currency") != invoice.currency:
            self.add_error("invoice", currency_mismatch(invoice, cleaned.get("currency")))
        elif amount is not None and amount > invoice.balance:
            self.add_error(
                "amount",
                _("Invoice %(number)s has only %(balance)s left to pay.")
                % {
                    "number": invoice.number,
                    "balance": format_money(invoice.balance, invoice.currency),
                },
            )
        return cleaned
