from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from invoices.models import Dispute, InvoiceLine
from portal.money import decimals_for, format_money

AMOUNT_ERRORS = {
    "required": _("Enter the amount you dispute."),
    "invalid": _("Enter an amount as a number, such as 12.50."),
    "max_digits": _("This amount is far too large."),
    "max_whole_digits": _("This amount is far too large."),
    "max_decimal_places": _("Use at most %(max)s decimal places."),
}


class DisputeForm(forms.Form):
    """A customer's dispute of one invoice line; the service checks the amount again."""

    reason = forms.ChoiceField(label=_("What is wrong?"), choices=Dispute.Reason.choices)
    message = forms.CharField(
        label=_("Tell us more"),
        max_length=2000,
        error_messages={"required": _("Tell us what is wrong with this charge.")},
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 2000}),
        help_text=_("What you expected to be charged, and why. At most 2,000 characters."),
    )

    def __init__(self, *args, line: InvoiceLine, **kwargs):
        super().__init__(*args, **kwargs)
        currency = line.invoice.currency
        self.currency = currency
        self.line_total = line.amount + line.tax_amount
        places = decimals_for(currency)
        # Built here: the precision (and the upper limit) depend on the line's currency.
        self.fields["amount"] = forms.DecimalField(
            label=_("Disputed amount (%(currency)s)") % {"currency": currency},
            max_digits=14,
            decimal_places=places,
            initial=self.line_total,
            error_messages=AMOUNT_ERRORS,
            help_text=_("At most the line's total including tax, %(total)s.")
            % {"total": format_money(self.line_total, currency)},
            widget=forms.NumberInput(attrs={"step": Decimal(1).scaleb(-places), "min": 0}),
        )
        self.order_fields(["reason", "amount", "message"])

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError(_("The disputed amount must be more than zero."))
        if amount > self.line_total:
            raise forms.ValidationError(
                _("The disputed amount can't be more than the line's total, %(total)s.")
                % {"total": format_money(self.line_total, self.currency)}
            )
        return amount


class DisputeResolveForm(forms.Form):
    """Staff's decision on a dispute (Django admin); dispute_resolve does the writing."""

    status = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (Dispute.Status.RESOLVED_CREDIT, Dispute.Status.RESOLVED_CREDIT.label),
            (Dispute.Status.REJECTED, Dispute.Status.REJECTED.label),
            (Dispute.Status.UNDER_REVIEW, Dispute.Status.UNDER_REVIEW.label),
        ],
        widget=forms.RadioSelect,
    )
    credit_amount = forms.DecimalField(
        label=_("Credit"),
        max_digits=14,
        decimal_places=2,
        required=False,
        error_messages=AMOUNT_ERRORS,
        help_text=_("Only for a credit: at most the disputed amount."),
    )
    note = forms.CharField(
        label=_("Note to the customer"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("Shown to the customer on their disputes page."),
    )

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if status == Dispute.Status.RESOLVED_CREDIT and not cleaned.get("credit_amount"):
            self.add_error("credit_amount", _("Enter the credit to grant."))
        if (
            status in (Dispute.Status.RESOLVED_CREDIT, Dispute.Status.REJECTED)
            and not (cleaned.get("note") or "").strip()
        ):
            self.add_error("note", _("Explain the decision to the customer."))
        return cleaned
