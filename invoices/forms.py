from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

MAX_RECIPIENTS = 10


class RecipientsField(forms.CharField):
    """Comma- or line-separated e-mail addresses, validated, at most MAX_RECIPIENTS."""

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [part.strip().lower() for part in text.replace("\n", ",").split(",") if part.strip()]

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(value) > MAX_RECIPIENTS:
            raise forms.ValidationError(
                _("Send to at most %(count)d addresses at a time.") % {"count": MAX_RECIPIENTS}
            )
        for email in value:
            try:
                validate_email(email)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("%(email)s is not a valid e-mail address.") % {"email": email}
                ) from None


class EmailInvoicesForm(forms.Form):
    SEND_TO_ME, SEND_TO_OTHERS = "me", "others"
    send_to = forms.ChoiceField(
        label=_("Send to"),
        widget=forms.RadioSelect,
        initial=SEND_TO_ME,
        choices=[(SEND_TO_ME, _("Me")), (SEND_TO_OTHERS, _("Other addresses"))],
    )
    recipients = RecipientsField(
        label=_("E-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Separate addresses with commas; at most 10."),
    )
    message = forms.CharField(
        label=_("Message (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if data.get("send_to") == self.SEND_TO_OTHERS and not data.get("recipients"):
            self.add_error("recipients", _("Enter at least one e-mail address."))
        return data
