"""The end-of-contract reminders: 90, 30 and 7 days before the end, once each; a missed day
still sends once; a renewal starts them again; concurrent runs send exactly once."""

import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from contacts.models import Contact, Organization
from contacts.roles import Role
from contracts.models import Contract, ContractReminder
from contracts.services import contract_renew, contracts_send_end_reminders, reminder_due
from portal.models import OutboundEmail
from tests.contacts.factories import ContactFactory
from tests.contracts.factories import make_contract

END = date(2026, 12, 31)


def _reminder_emails():
    return OutboundEmail.objects.filter(template="contract_end_reminder")


def _run_on(day: date) -> int:
    return contracts_send_end_reminders(today=day)


@pytest.mark.parametrize(
    ("days_left", "due"),
    [(120, None), (91, None), (90, 90), (31, 90), (30, 30), (8, 30), (7, 7), (0, 7), (-1, None)],
)
def test_reminder_due_is_the_smallest_threshold_reached(days_left, due):
    assert reminder_due(days_left=days_left) == due


@pytest.mark.django_db
def test_each_threshold_is_sent_once_to_every_contact(tenants, django_capture_on_commit_callbacks):
    contract = make_contract(tenants.org_a, end_date=END)
    make_contract(tenants.org_b, end_date=END + timedelta(days=200))  # Far from its end.
    sent_per_day = {}
    with django_capture_on_commit_callbacks(execute=True):
        for day in range(120, -3, -1):  # Every day from 120 days before to after the end.
            today = END - timedelta(days=day)
            sent_per_day[day] = _run_on(today) + _run_on(today)  # Twice a day.
    # Alice, Bob and Fin (org A's contacts) each get the 90-, 30- and 7-day reminders.
    assert {day: count for day, count in sent_per_day.items() if count} == {90: 3, 30: 3, 7: 3}
    assert sorted(
        ContractReminder.objects.filter(contract=contract).values_list("days_before", flat=True)
    ) == [7, 30, 90]
    assert len(mail.outbox) == 9
    assert {m.to[0] for m in mail.outbox} == {
        tenants.alice.user.email,
        tenants.bob.user.email,
        tenants.fin.user.email,
    }
    assert contract.number in mail.outbox[0].subject


@pytest.mark.django_db
def test_second_run_sends_nothing(tenants):
    make_contract(tenants.org_a, end_date=END)
    assert _run_on(END - timedelta(days=30)) == 3
    assert _run_on(END - timedelta(days=30)) == 0
    assert _reminder_emails().count() == 3


@pytest.mark.django_db
def test_a_missed_day_still_sends_once(tenants):
    make_contract(tenants.org_a, end_date=END)
    assert _run_on(END - timedelta(days=29)) == 3  # The job did not run on day 30.
    assert _run_on(END - timedelta(days=28)) == 0
    reminder = ContractReminder.objects.get()
    assert reminder.days_before == 30
    # Missed 90 and 30 entirely: only the 7-day one goes out, not three at once.
    late = make_contract(tenants.org_a, end_date=END)
    ContractReminder.objects.filter(contract=late).delete()
    assert _run_on(END - timedelta(days=5)) == 6  # 7-day reminder of both contracts.
    assert list(
        ContractReminder.objects.filter(contract=late).values_list("days_before", flat=True)
    ) == [7]


@pytest.mark.django_db
def test_a_renewal_allows_reminders_for_the_new_end_date(tenants):
    contract = make_contract(tenants.org_a, end_date=END)
    assert _run_on(END - timedelta(days=7)) == 3
    new_end = END + timedelta(days=365)
    contract_renew(contract=contract, new_end_date=new_end)
    assert _run_on(new_end - timedelta(days=90)) == 3
    assert _run_on(new_end - timedelta(days=90)) == 0
    assert set(ContractReminder.objects.values_list("days_before", "end_date")) == {
        (7, END),
        (90, new_end),
    }


@pytest.mark.django_db
def test_terminated_expired_and_closed_get_no_reminder(tenants):
    make_contract(tenants.org_a, end_date=END, status=Contract.Status.TERMINATED)
    make_contract(tenants.org_a, end_date=END - timedelta(days=40))  # Already ended.
    make_contract(tenants.org_b, end_date=END)
    Organization.objects.filter(pk=tenants.org_b.pk).update(status=Organization.Status.CLOSED)
    assert _run_on(END - timedelta(days=30)) == 0
    assert not ContractReminder.objects.exists()


@pytest.mark.django_db
def test_removed_contacts_get_nothing_and_each_gets_their_language(
    tenants, django_capture_on_commit_callbacks
):
    german = ContactFactory(organization=tenants.org_a, roles=[Role.TECHNICAL])
    german.user.language = "de"
    german.user.save()
    Contact.objects.filter(pk=tenants.bob.pk).update(removed_at=timezone.now())
    make_contract(tenants.org_a, end_date=END, number="C-DE-1")
    with django_capture_on_commit_callbacks(execute=True):
        assert _run_on(END - timedelta(days=7)) == 3
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert tenants.bob.user.email not in subjects
    # Rendered in German (the wording is translated separately; the date shows the language).
    assert "C-DE-1" in subjects[german.user.email]
    assert "31. Dezember 2026" in subjects[german.user.email]
    assert subjects[tenants.alice.user.email] == "Contract C-DE-1 ends on Dec. 31, 2026"
    body = next(m for m in mail.outbox if m.to[0] == tenants.alice.user.email).body
    assert "in 7 days" in body and "/contracts/C-DE-1/" in body


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_exactly_once(tenants):
    contracts = [make_contract(tenants.org_a, end_date=END) for _ in range(15)]
    results, errors = [], []
    barrier = threading.Barrier(3)

    def run():
        try:
            barrier.wait()
            results.append(_run_on(END - timedelta(days=30)))
        except Exception as exc:  # Surface in the main thread.
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(results) == 45  # 15 contracts × 3 contacts, whoever sent them.
    assert ContractReminder.objects.count() == len(contracts)
    assert _reminder_emails().count() == 45
    assert len(set(_reminder_emails().values_list("dedupe_key", flat=True))) == 45


@pytest.mark.django_db
def test_the_task_runs_the_job(tenants):
    import time_machine

    from contracts.tasks import contracts_send_end_reminders_task

    make_contract(tenants.org_a, end_date=END)
    with time_machine.travel(END - timedelta(days=90), tick=False):
        assert contracts_send_end_reminders_task.delay().get() == 3
        assert contracts_send_end_reminders_task.delay().get() == 0
