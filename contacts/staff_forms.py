"""Forms of the staff's customer contact log. They read and check input; the services in
contacts.casework decide what is allowed."""

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from contacts.models import (
    CharacteristicType,
    CustomerContact,
    CustomerContactType,
    Letter,
    Organization,
)
from invoices.models import Invoice
from orders.models import Order

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def staff_members():
    return User.objects.filter(is_staff=True, is_active=True).order_by("name", "email")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class GroupedByClassIterator(ModelChoiceIterator):
    """Choices as one <optgroup> per contact class, evaluated only when rendered."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        groups: dict[str, list] = {}
        for contact_type in self.queryset:
            groups.setdefault(contact_type.contact_class.label, []).append(
                self.choice(contact_type)
            )
        yield from groups.items()


class ContactTypeChoiceField(forms.ModelChoiceField):
    """Active types grouped by their class."""

    iterator = GroupedByClassIterator

    def __init__(self, **kwargs):
        super().__init__(
            queryset=CustomerContactType.objects.filter(
                is_active=True, contact_class__is_active=True
            ).select_related("contact_class"),
            **kwargs,
        )

    def label_from_instance(self, obj) -> str:
        return obj.label


def find_person(email: str | None) -> User | None:
    email = (email or "").strip()
    if not email or "\x00" in email:  # PostgreSQL refuses NUL in text: nobody has it.
        return None
    return User.objects.filter(email__iexact=email).first()


class CustomerContactForm(forms.Form):
    email = forms.EmailField(
        label=_("Person's e-mail address"),
        help_text=_("The person who got in touch. They must already have a user account."),
    )
    organizations = forms.ModelMultipleChoiceField(
        label=_("Organizations"),
        queryset=Organization.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked to record every organization the person belongs to."),
    )
    contact_type = ContactTypeChoiceField(label=_("Reason (class and type)"))
    channel = forms.ChoiceField(label=_("Channel"), choices=CustomerContact.Channel.choices)
    contacted_at = forms.DateTimeField(
        label=_("When"), widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )
    assigned_to = StaffChoiceField(label=_("Assigned to"), queryset=staff_members(), required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000, required=False
    )
    invoice_number = forms.CharField(label=_("Invoice number"), max_length=40, required=False)
    order_number = forms.CharField(label=_("Order number"), max_length=40, required=False)

    def __init__(self, *args, person: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            person = find_person(self.data.get("email"))
        self.person = person
        if person is not None:
            self.fields["organizations"].queryset = Organization.objects.filter(
                contacts__user=person, contacts__removed_at__isnull=True
            ).order_by("name")
        self.fields["contacted_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_email(self):
        person = find_person(self.cleaned_data["email"])
        if person is None:
            raise forms.ValidationError(
                _("Nobody has a user account with this e-mail address."), code="unknown_person"
            )
        self.person = person
        return person.email

    def clean_invoice_number(self):
        number = self.cleaned_data["invoice_number"].strip()
        if not number:
            return None
        invoice = Invoice.objects.filter(number=number).first()
        if invoice is None:
            raise forms.ValidationError(_("There is no invoice with this number."))
        return invoice

    def clean_order_number(self):
        number = self.cleaned_data["order_number"].strip()
        if not number:
            return None
        order = Order.objects.filter(number=number).first()
        if order is None:
            raise forms.ValidationError(_("There is no order with this number."))
        return order


class LogEntryForm(forms.Form):
    text = forms.CharField(
        label=_("Add to the log"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=CustomerContact.Status.choices)
    note = forms.CharField(label=_("Comment"), max_length=1000, required=False)


class AssignForm(forms.Form):
    assigned_to = StaffChoiceField(
        label=_("Assigned to"),
        queryset=staff_members(),
        required=False,
        empty_label=_("Nobody"),
    )


class CharacteristicForm(forms.Form):
    characteristic_type = forms.ModelChoiceField(
        label=_("Characteristic"),
        queryset=CharacteristicType.objects.filter(is_active=True).order_by("label"),
    )
    value = forms.CharField(
        label=_("Value"),
        max_length=255,
        help_text=_("Numbers like 99.50; dates as YYYY-MM-DD; choices exactly as listed."),
    )


class LetterForm(forms.Form):
    template = forms.ChoiceField(label=_("Letter"), choices=Letter.Template.choices)


class ReminderForm(forms.Form):
    due_at = forms.DateTimeField(
        label=_("Due"), widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )
    assigned_to = StaffChoiceField(label=_("Remind"), queryset=staff_members())
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
