"""Demo customer contact log for `seed_demo`: reference data, the cases of the demo disputes,
a few contacts with log entries, a characteristic, a letter and a due reminder. Idempotent;
runs after accounts, contacts and invoices demo data."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from contacts import casework
from contacts.models import (
    CharacteristicType,
    ContactReminder,
    CustomerContact,
    CustomerContactType,
    Letter,
)
from invoices.models import Invoice

STAFF_EMAIL = "staff@customer-center.example"
VT = CharacteristicType.ValueType
CHARACTERISTIC_TYPES = [
    ("promised_payment_date", "Promised payment date", VT.DATE, []),
    ("promised_amount", "Promised amount", VT.NUMBER, []),
    ("callback_time", "Best time to call back", VT.CHOICE, ["morning", "afternoon", "evening"]),
    ("ticket_reference", "Ticket reference", VT.TEXT, []),
]
PROMISE_NOTES = "Called about the open invoice; promised to pay it by the end of next week."


def seed_characteristic_types() -> None:
    for code, label, value_type, choices in CHARACTERISTIC_TYPES:
        CharacteristicType.objects.get_or_create(
            code=code, defaults={"label": label, "value_type": value_type, "choices": choices}
        )


def _type(class_code: str, code: str) -> CustomerContactType:
    return CustomerContactType.objects.get(contact_class__code=class_code, code=code)


def _contact(*, email: str, notes: str, staff: User, **fields) -> CustomerContact | None:
    """The demo contact with these notes, created the first time only."""
    person = User.objects.filter(email=email).first()
    if person is None:
        return None
    existing = CustomerContact.objects.filter(person=person, notes=notes).first()
    if existing is not None:
        return existing
    return casework.customer_contact_create(person=person, notes=notes, staff_user=staff, **fields)


def seed_casework() -> None:
    casework.contact_types_ensure()
    seed_characteristic_types()
    # The demo disputes get their cases, as new ones do when customers open them.
    casework.disputes_to_cases()
    staff = User.objects.filter(email=STAFF_EMAIL).first()
    if staff is None:
        return
    now = timezone.now()

    # Acme's finance contact promised to pay: a log, a characteristic and a due reminder.
    invoice = (
        Invoice.objects.filter(organization__account_number="ACME-001")
        .unpaid()
        .order_by("due_date")
        .first()
    )
    promise = _contact(
        email="finance@acme.example",
        notes=PROMISE_NOTES,
        staff=staff,
        contact_type=_type("billing", "payment_promise"),
        channel="phone",
        contacted_at=now - timedelta(days=3, hours=2),
        assigned_to=staff,
        invoice=invoice,
    )
    if promise is not None and not promise.log_entries.exists():
        casework.contact_log_append(
            contact=promise,
            author=staff,
            text="Fiona said the payment run is on Thursday; the invoice is in it.",
        )
        casework.contact_log_append(
            contact=promise, author=staff, text="Sent her the invoice PDF again by e-mail."
        )
        casework.contact_characteristic_set(
            contact=promise,
            characteristic_type=CharacteristicType.objects.get(code="promised_payment_date"),
            value=(timezone.localdate() + timedelta(days=7)).isoformat(),
            staff_user=staff,
        )
    if promise is not None and not ContactReminder.objects.filter(contact=promise).exists():
        # Due already and not raised: the next beat run e-mails it to the staff member.
        casework.reminder_create(
            contact=promise,
            due_at=now - timedelta(hours=1),
            assigned_to=staff,
            staff_user=staff,
            note="Check that the promised payment arrived.",
        )

    # Globex's finance contact (German) asked about a bill: pending, with a German letter.
    question = _contact(
        email="finance@globex.example",
        notes="Asked why the last invoice is higher than the one before.",
        staff=staff,
        contact_type=_type("billing", "billing_question"),
        channel="email",
        contacted_at=now - timedelta(days=10),
        assigned_to=staff,
        invoice=Invoice.objects.filter(organization__account_number="GLOBEX-001")
        .unpaid()
        .order_by("due_date")
        .first(),
    )
    if question is not None and not question.log_entries.exists():
        casework.contact_log_append(
            contact=question,
            author=staff,
            text="The difference is the added seats from the new order; explained by e-mail.",
        )
        casework.contact_status_change(
            contact=question,
            status=CustomerContact.Status.PENDING,
            staff_user=staff,
            note="Waiting for the customer's answer.",
        )
    if question is not None and not Letter.objects.filter(contact=question).exists():
        casework.letter_generate(
            contact=question, template=Letter.Template.PAYMENT_REMINDER, staff_user=staff
        )

    # An older complaint, closed.
    complaint = _contact(
        email="exec@acme.example",
        notes="Unhappy about the response time of support last month.",
        staff=staff,
        contact_type=_type("billing", "complaint"),
        channel="in_person",
        contacted_at=now - timedelta(days=40),
        assigned_to=staff,
    )
    if complaint is not None and not complaint.is_closed:
        casework.contact_log_append(
            contact=complaint, author=staff, text="Apologised; a credit is not needed."
        )
        casework.contact_status_change(
            contact=complaint,
            status=CustomerContact.Status.CLOSED,
            staff_user=staff,
            note="Resolved in the meeting.",
        )
