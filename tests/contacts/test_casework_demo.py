import pytest

from accounts.demo import seed_users
from contacts import casework
from contacts.casework_demo import seed_casework
from contacts.demo import seed_organizations
from contacts.models import (
    ContactReminder,
    CustomerContact,
    CustomerContactCharacteristic,
    CustomerContactLogEntry,
    Letter,
)
from invoices.demo import seed_invoices
from invoices.models import Dispute

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            CustomerContact,
            CustomerContactLogEntry,
            CustomerContactCharacteristic,
            Letter,
            ContactReminder,
        )
    }


def test_the_demo_logs_contacts_with_a_log_a_characteristic_a_letter_and_a_due_reminder_once():
    seed_users()
    seed_organizations()
    seed_invoices()

    seed_casework()
    snapshot = _snapshot()
    seed_casework()

    assert _snapshot() == snapshot
    staff_logged = CustomerContact.objects.filter(source=CustomerContact.Source.STAFF)
    assert staff_logged.count() == 3
    assert CustomerContactLogEntry.objects.filter(kind="note").count() >= 4
    assert CustomerContactCharacteristic.objects.filter(
        contact__person__email="finance@acme.example"
    ).exists()
    letter = Letter.objects.get()
    assert letter.contact.person.email == "finance@globex.example" and letter.language == "de"
    reminder = ContactReminder.objects.get()
    assert reminder.raised_at is None and reminder.is_pending
    # Every demo dispute became a case.
    assert Dispute.objects.exists()
    assert not casework.disputes_without_case().exists()
    # The due reminder is what the beat job raises next, once.
    assert casework.contact_reminders_raise() == 1
    assert casework.contact_reminders_raise() == 0
