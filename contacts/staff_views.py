"""The staff's customer contact log: list, statistics, new contact, and the case page with
its log, characteristics, letters and reminders. Staff only (customers.access); every write
is a contacts.casework service, POST → redirect → GET with a message."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contacts import casework
from contacts.models import NO_ORGANIZATION_PRIORITY, ContactReminder, CustomerContact, Letter
from contacts.staff_filters import CustomerContactFilter
from contacts.staff_forms import (
    AssignForm,
    CharacteristicForm,
    CustomerContactForm,
    LetterForm,
    LogEntryForm,
    ReminderForm,
    StatusForm,
    find_person,
)
from contacts.staff_tables import CustomerContactTable, rank_for_priority
from customers.access import StaffRequiredMixin, staff_required
from invoices.exports import attachment_response


def _contact(customer_contact_id) -> CustomerContact:
    return get_object_or_404(
        CustomerContact.objects.select_related(
            "person",
            "contact_class",
            "contact_type",
            "assigned_to",
            "created_by",
            "invoice",
            "dispute__line",
            "order",
        ).with_priority(),
        public_id=customer_contact_id,
    )


def _back(contact: CustomerContact, anchor: str = ""):
    response = redirect("contact_log:detail", customer_contact_id=contact.public_id)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _run(request, service, success: str, **kwargs) -> bool:
    """Call a service; its refusal becomes an error message, success a success message."""
    try:
        service(**kwargs)
    except casework.CaseworkError as error:
        messages.error(request, str(error))
        return False
    messages.success(request, success)
    return True


# --- Lists ------------------------------------------------------------------------------------


class CustomerContactListView(StaffRequiredMixin, SingleTableMixin, FilterView):
    table_class = CustomerContactTable
    filterset_class = CustomerContactFilter
    template_name = "contacts/staff/contact_list.html"

    def get_queryset(self):
        return (
            CustomerContact.objects.select_related(
                "person", "contact_class", "contact_type", "assigned_to", "invoice"
            )
            .prefetch_related("organizations")
            .in_case_order()
        )


@staff_required
@require_GET
def contact_statistics(request):
    return render(
        request,
        "contacts/staff/statistics.html",
        {"statistics": casework.contact_statistics()},
    )


# --- New contact ------------------------------------------------------------------------------


@staff_required
def contact_create(request):
    """Pick the person by e-mail (?person= preselects their organizations), then log it."""
    person = find_person(request.GET.get("person"))
    initial = {"assigned_to": request.user}
    organizations = casework.person_organizations(person) if person is not None else []
    if person is not None:
        initial["email"] = person.email
        initial["organizations"] = organizations
    form = CustomerContactForm(request.POST or None, person=person, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = casework.customer_contact_create(
                person=form.person,
                contact_type=data["contact_type"],
                channel=data["channel"],
                contacted_at=data["contacted_at"],
                organizations=list(data["organizations"]) or None,
                assigned_to=data["assigned_to"],
                notes=data["notes"],
                invoice=data["invoice_number"],
                order=data["order_number"],
                staff_user=request.user,
            )
        except casework.CaseworkError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The customer contact was logged."))
            return _back(contact)
    context = {"form": form, "person": person, "organizations": organizations}
    return render(request, "contacts/staff/contact_create.html", context)


# --- The case page ----------------------------------------------------------------------------


@staff_required
@require_GET
def contact_detail(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    context = {
        "contact": contact,
        "rank_label": (
            rank_for_priority(contact.priority)
            if contact.priority != NO_ORGANIZATION_PRIORITY
            else ""
        ),
        "organizations": list(contact.organizations.order_by("name")),
        "log_entries": list(
            contact.log_entries.select_related("author").order_by("created_at", "id")
        ),
        "characteristics": list(
            contact.characteristics.select_related("characteristic_type", "set_by").order_by(
                "characteristic_type__label"
            )
        ),
        "letters": list(
            contact.letters.defer("pdf").select_related("created_by").order_by("created_at", "id")
        ),
        "reminders": list(contact.reminders.select_related("assigned_to").order_by("due_at", "id")),
        "log_form": LogEntryForm(),
        "status_form": StatusForm(initial={"status": contact.status}, auto_id="status-%s"),
        "assign_form": AssignForm(
            initial={"assigned_to": contact.assigned_to_id}, auto_id="assign-%s"
        ),
        "characteristic_form": CharacteristicForm(auto_id="characteristic-%s"),
        "letter_form": LetterForm(auto_id="letter-%s"),
        "reminder_form": ReminderForm(initial={"assigned_to": request.user}, auto_id="reminder-%s"),
    }
    return render(request, "contacts/staff/contact_detail.html", context)


@staff_required
@require_POST
def contact_log_append(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    form = LogEntryForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            casework.contact_log_append,
            _("Added to the log."),
            contact=contact,
            author=request.user,
            text=form.cleaned_data["text"],
        )
    return _back(contact, "log")


@staff_required
@require_POST
def contact_status(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            casework.contact_status_change,
            _("The status was changed."),
            contact=contact,
            staff_user=request.user,
            **form.cleaned_data,
        )
    return _back(contact)


@staff_required
@require_POST
def contact_assign(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    form = AssignForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            casework.contact_assign,
            _("The assignment was changed."),
            contact=contact,
            staff_user=request.user,
            assigned_to=form.cleaned_data["assigned_to"],
        )
    return _back(contact)


@staff_required
@require_POST
def contact_characteristic_set(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    form = CharacteristicForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            casework.contact_characteristic_set,
            _("The characteristic was saved."),
            contact=contact,
            staff_user=request.user,
            **form.cleaned_data,
        )
    return _back(contact, "characteristics")


@staff_required
@require_POST
def letter_generate(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    form = LetterForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            casework.letter_generate,
            _("The letter was generated."),
            contact=contact,
            staff_user=request.user,
            template=form.cleaned_data["template"],
        )
    return _back(contact, "letters")


@staff_required
@require_GET
def letter_download(request, letter_id):
    letter = get_object_or_404(Letter, public_id=letter_id)
    return attachment_response(
        bytes(letter.pdf), filename_stem=letter.filename_stem, file_format="pdf"
    )


@staff_required
@require_POST
def letter_email(request, letter_id):
    letter = get_object_or_404(
        Letter.objects.defer("pdf").select_related("contact"), public_id=letter_id
    )
    _run(
        request,
        casework.letter_email,
        _("The letter is on its way to the person."),
        letter=letter,
        staff_user=request.user,
    )
    return _back(letter.contact, "letters")


@staff_required
@require_POST
def reminder_create(request, customer_contact_id):
    contact = _contact(customer_contact_id)
    form = ReminderForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _run(
            request,
            casework.reminder_create,
            _("The reminder was set."),
            contact=contact,
            staff_user=request.user,
            **form.cleaned_data,
        )
    return _back(contact, "reminders")


@staff_required
@require_POST
def reminder_cancel(request, reminder_id):
    reminder = get_object_or_404(
        ContactReminder.objects.select_related("contact"), public_id=reminder_id
    )
    _run(
        request,
        casework.reminder_cancel,
        _("The reminder was cancelled."),
        reminder=reminder,
        staff_user=request.user,
    )
    return _back(reminder.contact, "reminders")
