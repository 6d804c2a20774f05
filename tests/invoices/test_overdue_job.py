"""The overdue job: set-based, batched, each transition recorded and e-mailed exactly once,
even run twice, concurrently, or with the broker down."""

import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from contacts.roles import Role
from invoices.models import Invoice, InvoiceStatus, InvoiceStatusChange
from invoices.services import invoices_notify_overdue, invoices_recalculate_overdue
from portal.emails import emails_deliver_pending
from portal.models import OutboundEmail
from tests.contacts.factories import ContactFactory
from tests.invoices.factories import make_invoice

ISSUED = date(2026, 3, 1)
DUE = date(2026, 3, 31)


def _open_invoices(org, count):
    with time_machine.travel(ISSUED, tick=False):
        return [make_invoice(org, issue_date=ISSUED, due_date=DUE) for _ in range(count)]


def _overdue_emails():
    return OutboundEmail.objects.filter(template="invoice_overdue")


@pytest.mark.django_db
def test_job_run_twice_flips_and_emails_once(tenants, django_capture_on_commit_callbacks):
    _open_invoices(tenants.org_a, 3)
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        assert invoices_recalculate_overdue(batch_size=2)["overdue"] == 3  # Two batches.
        assert invoices_recalculate_overdue(batch_size=2)["overdue"] == 0
        with django_capture_on_commit_callbacks(execute=True):
            invoices_notify_overdue()
            invoices_notify_overdue()
    assert Invoice.objects.filter(status=InvoiceStatus.OVERDUE).count() == 3
    assert InvoiceStatusChange.objects.filter(to_status="overdue").count() == 3
    # Alice and Fin are the finance contacts of org A: one e-mail each per invoice.
    assert _overdue_emails().count() == 6
    assert len(mail.outbox) == 6
    assert {m.to[0] for m in mail.outbox} == {tenants.alice.user.email, tenants.fin.user.email}


@pytest.mark.django_db
def test_overdue_email_is_in_the_recipients_language(tenants, django_capture_on_commit_callbacks):
    german = ContactFactory(organization=tenants.org_b, roles=[Role.FINANCE])
    german.user.language = "de"
    german.user.save()
    _open_invoices(tenants.org_b, 1)
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        invoices_recalculate_overdue()
        with django_capture_on_commit_callbacks(execute=True):
            invoices_notify_overdue()
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert "überfällig" in subjects[german.user.email]


@pytest.mark.django_db
def test_broker_down_loses_nothing(tenants, monkeypatch, django_capture_on_commit_callbacks):
    """Nothing lost: the e-mails wait in the outbox and go out once, when the broker is back."""
    from portal import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis down")

    _open_invoices(tenants.org_a, 2)
    monkeypatch.setattr(tasks.email_deliver_task, "delay", broker_down)
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        invoices_recalculate_overdue()
        with django_capture_on_commit_callbacks(execute=True):
            invoices_notify_overdue()
    assert mail.outbox == []
    assert _overdue_emails().filter(status="pending").count() == 4
    monkeypatch.undo()
    emails_deliver_pending()
    emails_deliver_pending()
    assert len(mail.outbox) == 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_flip_each_invoice_once(tenants):
    _open_invoices(tenants.org_a, 40)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            results.append(
                invoices_recalculate_overdue(today=DUE + timedelta(days=1), batch_size=7)
            )
            invoices_notify_overdue(limit=7)
            invoices_notify_overdue()
        except Exception as exc:  # Surface in the main thread.
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r["overdue"] for r in results) == 40
    assert InvoiceStatusChange.objects.filter(to_status="overdue").count() == 40
    assert _overdue_emails().count() == 80  # Two finance contacts × 40, never more.
    assert len(set(_overdue_emails().values_list("dedupe_key", flat=True))) == 80


@pytest.mark.django_db
def test_management_command_runs_the_job(tenants, capsys):
    from django.core.management import call_command

    _open_invoices(tenants.org_a, 1)
    with time_machine.travel(DUE + timedelta(days=1), tick=False):
        call_command("recalculate_overdue")
    assert "1 invoice(s) became overdue" in capsys.readouterr().out
