"""Redis (the Celery broker) down while e-mails are enqueued: a real outage, the broker URL
pointed at a loopback port where nothing listens and tasks not run eagerly.

"Nothing lost" here means: the person's action succeeds as if nothing happened (no error, no
500), every e-mail it owes waits in the outbox (or, for a receipt, the payment waits for the
receipts sweep), and after recovery — the beat sweeps run, as they do every minute / 15 minutes
— each e-mail is delivered exactly once, however often the sweeps run."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from billing import payments
from billing.models import Payment
from contacts.models import Invitation
from contacts.roles import Role
from invoices.models import InvoiceStatus
from invoices.services import invoices_notify_overdue, invoices_recalculate_overdue
from portal.emails import emails_deliver_pending
from portal.models import OutboundEmail
from tests.billing.pay_helpers import saved_method
from tests.conftest import sign_in
from tests.faults.helpers import broker_down
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


def _recover_and_sweep_twice() -> None:
    """Broker back (tasks eager again, as the worker would run them); the beat sweep runs
    twice (two beats, or a sweep racing a late task): the second must send nothing."""
    emails_deliver_pending()
    emails_deliver_pending()


def test_invitation_sent_while_redis_is_down_is_delivered_once_after_recovery(
    tenants, client, django_capture_on_commit_callbacks
):
    """Nothing lost: the admin sees "Invitation sent", the invitation exists, its e-mail is a
    pending outbox row; after recovery one e-mail reaches the invitee."""
    sign_in(client, tenants.alice.user)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("contacts:user_invite"),
            {"email": "new.person@example.com", "roles": [Role.FINANCE]},
        )
        assert response.status_code == 302
        assert mail.outbox == []
    assert Invitation.objects.filter(email="new.person@example.com").count() == 1
    pending = OutboundEmail.objects.get(template="invitation")
    assert pending.status == OutboundEmail.Status.PENDING
    assert pending.attempts == 0

    _recover_and_sweep_twice()
    assert [m.to for m in mail.outbox] == [["new.person@example.com"]]
    pending.refresh_from_db()
    assert pending.status == OutboundEmail.Status.SENT
    assert pending.attempts == 1


def test_overdue_emails_queued_while_redis_is_down_are_delivered_once_after_recovery(
    tenants, django_capture_on_commit_callbacks
):
    """Nothing lost: the flip and its e-mails are recorded (one per finance contact: Alice and
    Fin), nothing raises in the job; after recovery each is delivered once."""
    issued, due = date(2026, 3, 1), date(2026, 3, 31)
    with time_machine.travel(issued, tick=False):
        invoice = make_invoice(tenants.org_a, issue_date=issued, due_date=due)
    with time_machine.travel(due + timedelta(days=1), tick=False):
        with broker_down(), django_capture_on_commit_callbacks(execute=True):
            assert invoices_recalculate_overdue()["overdue"] == 1
            assert invoices_notify_overdue() == 2
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OVERDUE
        assert mail.outbox == []
        emails = OutboundEmail.objects.filter(template="invoice_overdue")
        assert [e.status for e in emails] == [OutboundEmail.Status.PENDING] * 2

        _recover_and_sweep_twice()
        assert invoices_notify_overdue() == 0  # The notify sweep does not queue them again.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [tenants.alice.user.email, tenants.fin.user.email]
    )
    assert set(emails.values_list("status", flat=True)) == {OutboundEmail.Status.SENT}


def test_payment_receipt_while_redis_is_down_is_delivered_once_after_recovery(
    tenants, stripe, django_capture_on_commit_callbacks
):
    """Nothing lost: the payment succeeds and is allocated (the payer sees success, no error);
    its receipt is not claimed (receipt_sent_at empty) so the receipts sweep owes it; after
    recovery the sweep sends one receipt to each of the payer and the finance contacts."""
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        payment = payments.payment_start(
            contact=tenants.fin,
            form_token="receipt-outage",
            invoices=[(invoice, invoice.balance)],
            payment_method=method,
        )
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.allocated_at is not None
    assert invoice.status == InvoiceStatus.CLOSED
    assert payment.receipt_sent_at is None
    assert mail.outbox == []

    # Recovery: the receipts sweep (beat, every 15 minutes) and the e-mail sweep, twice each.
    with django_capture_on_commit_callbacks(execute=True):
        assert payments.payments_send_pending_receipts() == 1
        assert payments.payments_send_pending_receipts() == 0
    _recover_and_sweep_twice()
    receipts = [m for m in mail.outbox if m.attachments]
    assert sorted(m.to[0] for m in receipts) == sorted(
        [tenants.fin.user.email, tenants.alice.user.email]
    )
    assert len(mail.outbox) == 2
    payment.refresh_from_db()
    assert payment.receipt_sent_at is not None
