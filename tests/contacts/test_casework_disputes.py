"""Disputes customers raise flow into the contact log as cases: once per dispute."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts import casework
from contacts.models import CustomerContact, CustomerContactLogEntry
from contacts.tasks import dispute_to_case_task, disputes_to_cases_task
from invoices.models import Dispute
from tests.contacts.casework_factories import make_dispute, make_person
from tests.contacts.factories import OrganizationFactory


@pytest.mark.django_db
def test_a_dispute_opens_a_billing_dispute_case_for_the_person_who_raised_it():
    acme, other = OrganizationFactory(), OrganizationFactory()
    person = make_person(acme, other)
    dispute = make_dispute(acme, person=person)

    case = casework.dispute_to_case(dispute=dispute)

    assert case.person == person
    assert list(case.organizations.all()) == [acme]  # The disputed invoice's organization.
    assert (case.contact_class.code, case.contact_type.code) == ("billing", "dispute")
    assert case.status == CustomerContact.Status.OPEN
    assert case.channel == CustomerContact.Channel.PORTAL
    assert case.invoice == dispute.invoice and case.dispute == dispute
    assert case.source == CustomerContact.Source.DISPUTE
    assert case.contacted_at == dispute.opened_at and case.notes == dispute.message
    entry = case.log_entries.get()
    assert entry.kind == CustomerContactLogEntry.Kind.OPENED_FROM_DISPUTE
    assert entry.summary == (
        f"The customer disputed line 1 of invoice {dispute.invoice.number}: The amount is wrong."
    )


@pytest.mark.django_db
def test_a_dispute_opens_its_case_only_once():
    dispute = make_dispute(OrganizationFactory())

    first = casework.dispute_to_case(dispute=dispute)
    second = casework.dispute_to_case(dispute=dispute)
    dispute_to_case_task.delay(dispute.pk)

    assert first == second
    assert CustomerContact.objects.filter(dispute=dispute).count() == 1
    assert CustomerContactLogEntry.objects.count() == 1


@pytest.mark.django_db
def test_staff_contacts_about_a_dispute_do_not_count_as_its_case():
    from tests.contacts.casework_factories import make_customer_contact

    acme = OrganizationFactory()
    dispute = make_dispute(acme)
    follow_up = make_customer_contact(person=dispute.opened_by, dispute=dispute)
    assert follow_up.invoice == dispute.invoice  # Linked to the disputed invoice too.

    case = casework.dispute_to_case(dispute=dispute)

    assert case != follow_up
    assert CustomerContact.objects.filter(dispute=dispute).count() == 2


@pytest.mark.django_db
def test_the_database_refuses_a_second_case_for_a_dispute():
    from django.db import IntegrityError, transaction

    dispute = make_dispute(OrganizationFactory())
    case = casework.dispute_to_case(dispute=dispute)
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerContact.objects.create(
            person=case.person,
            contact_class=case.contact_class,
            contact_type=case.contact_type,
            channel=case.channel,
            dispute=dispute,
            source=CustomerContact.Source.DISPUTE,
        )


@pytest.mark.django_db
def test_the_backfill_opens_cases_for_existing_disputes_and_then_nothing():
    acme = OrganizationFactory()
    open_dispute = make_dispute(acme)
    resolved = make_dispute(acme)
    Dispute.objects.filter(pk=resolved.pk).update(
        status=Dispute.Status.REJECTED, resolved_at=timezone.now()
    )

    assert disputes_to_cases_task.delay().get() == 2
    assert casework.disputes_to_cases() == 0
    call_command("casework_backfill_disputes")

    assert CustomerContact.objects.get(dispute=open_dispute).status == CustomerContact.Status.OPEN
    # A dispute resolved before its case existed arrives as a closed case.
    closed = CustomerContact.objects.get(dispute=resolved)
    assert closed.status == CustomerContact.Status.CLOSED and closed.closed_at is not None
    assert CustomerContact.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_hooks_open_one_case():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL's unique index under concurrency.")
    dispute = make_dispute(OrganizationFactory())
    barrier = threading.Barrier(3)
    cases, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            cases.append(casework.dispute_to_case(dispute=dispute).pk)
        except BaseException as error:  # Reported by the assertion below.
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(set(cases)) == 1 and len(cases) == 3
    assert CustomerContact.objects.filter(dispute=dispute).count() == 1


@pytest.mark.django_db
def test_the_dispute_hook_opens_the_case_after_commit(django_capture_on_commit_callbacks):
    from django.db import transaction

    from contacts.tasks import dispute_to_case_later

    dispute = make_dispute(OrganizationFactory())
    with django_capture_on_commit_callbacks(execute=True):
        transaction.on_commit(lambda: dispute_to_case_later(dispute.pk))
        assert not CustomerContact.objects.exists()  # Nothing before the commit.

    assert CustomerContact.objects.get().dispute == dispute


@pytest.mark.django_db
def test_the_dispute_hook_never_fails_the_customers_request(monkeypatch, caplog):
    from contacts import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.dispute_to_case_task, "delay", broker_down)
    dispute = make_dispute(OrganizationFactory())

    tasks.dispute_to_case_later(dispute.pk)

    assert "the sweep opens it" in caplog.text
    assert casework.disputes_to_cases() == 1  # The sweep catches up.
