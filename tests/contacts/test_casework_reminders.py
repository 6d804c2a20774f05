"""Reminders: a dated follow-up the beat job raises to the assigned staff member, once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from contacts import casework
from contacts.casework import CaseworkError
from contacts.models import ContactReminder, CustomerContactLogEntry
from contacts.tasks import contact_reminders_raise_task
from portal.models import OutboundEmail
from tests.contacts.casework_factories import make_customer_contact, make_person, make_staff

Kind = CustomerContactLogEntry.Kind


def _reminder(*, due_in: timedelta, staff=None, note: str = "Check the payment"):
    staff = staff or make_staff(email="sam@seller.example", name="Sam Staff")
    contact = make_customer_contact(staff=staff)
    return casework.reminder_create(
        contact=contact,
        due_at=timezone.now() + due_in,
        assigned_to=staff,
        staff_user=staff,
        note=note,
    )


@pytest.mark.django_db
def test_a_due_reminder_is_emailed_to_the_assigned_staff_member_once():
    reminder = _reminder(due_in=-timedelta(minutes=5))

    assert casework.contact_reminders_raise() == 1
    assert casework.contact_reminders_raise() == 0
    assert contact_reminders_raise_task.delay().get() == 0

    reminder.refresh_from_db()
    assert reminder.raised_at is not None
    queued = OutboundEmail.objects.get(template="casework_reminder")
    assert queued.to == ["sam@seller.example"]
    assert queued.dedupe_key == f"casework-reminder:{reminder.public_id}"
    assert "Check the payment" in queued.body_text
    assert f"/staff/contact-log/{reminder.contact.public_id}/" in queued.body_text
    raised = reminder.contact.log_entries.filter(kind=Kind.REMINDER_RAISED)
    assert raised.count() == 1 and raised.get().author is None


@pytest.mark.django_db
def test_reminders_not_yet_due_or_cancelled_are_not_raised():
    later = _reminder(due_in=timedelta(hours=2))
    cancelled = _reminder(due_in=-timedelta(hours=1), staff=later.assigned_to)
    casework.reminder_cancel(reminder=cancelled, staff_user=later.assigned_to)

    assert casework.contact_reminders_raise() == 0
    assert not OutboundEmail.objects.filter(template="casework_reminder").exists()

    # Its time comes: raised by the run after it.
    assert casework.contact_reminders_raise(now=timezone.now() + timedelta(hours=3)) == 1
    later.refresh_from_db()
    cancelled.refresh_from_db()
    assert later.raised_at is not None and cancelled.raised_at is None


@pytest.mark.django_db
def test_a_raised_or_cancelled_reminder_cannot_be_cancelled():
    reminder = _reminder(due_in=-timedelta(minutes=1))
    casework.contact_reminders_raise()
    with pytest.raises(CaseworkError, match="already raised or cancelled"):
        casework.reminder_cancel(reminder=reminder, staff_user=reminder.assigned_to)

    other = _reminder(due_in=timedelta(days=1), staff=reminder.assigned_to)
    casework.reminder_cancel(reminder=other, staff_user=other.assigned_to)
    with pytest.raises(CaseworkError, match="already raised or cancelled"):
        casework.reminder_cancel(reminder=other, staff_user=other.assigned_to)


@pytest.mark.django_db
def test_reminders_go_to_staff_only():
    staff = make_staff()
    contact = make_customer_contact(staff=staff)
    with pytest.raises(CaseworkError, match="staff"):
        casework.reminder_create(
            contact=contact, due_at=timezone.now(), assigned_to=make_person(), staff_user=staff
        )
    assert not ContactReminder.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_raise_each_reminder_once():
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL.")
    staff = make_staff()
    reminders = [_reminder(due_in=-timedelta(minutes=index + 1), staff=staff) for index in range(8)]
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(casework.contact_reminders_raise())
        except BaseException as error:  # Reported by the assertion below.
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(results) == len(reminders)
    assert OutboundEmail.objects.filter(template="casework_reminder").count() == len(reminders)
    assert CustomerContactLogEntry.objects.filter(kind=Kind.REMINDER_RAISED).count() == len(
        reminders
    )
    assert casework.contact_reminders_raise() == 0
