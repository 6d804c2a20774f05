from datetime import timedelta

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from contacts.roles import Role
from orders.models import Order, OrderStatusEvent
from orders.services import (
    OrderError,
    order_allowed_statuses,
    order_change_status,
    order_status_notify,
)
from tests.accounts.factories import UserFactory
from tests.contacts.factories import ContactFactory
from tests.orders.factories import make_order

S = Order.Status


def _move(order, *statuses, by=None):
    for status in statuses:
        order_change_status(order=order, status=status, changed_by=by, reason=f"to {status}")
    return order


def test_the_normal_path_goes_step_by_step_and_records_who_and_why(tenants):
    order = make_order(tenants.org_a)
    staff = UserFactory(is_staff=True)
    _move(order, S.BOOKED, S.PROVISIONING, S.DELIVERED, S.COMPLETED, by=staff)
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    events = list(order.events.order_by("changed_at", "id"))
    assert [e.status for e in events] == [
        S.SUBMITTED,
        S.BOOKED,
        S.PROVISIONING,
        S.DELIVERED,
        S.COMPLETED,
    ]
    assert all(e.changed_by == staff for e in events[1:])
    assert [e.reason for e in events[1:]] == [
        "to booked",
        "to provisioning",
        "to delivered",
        "to completed",
    ]
    assert events[-1].changed_at <= timezone.now()


@pytest.mark.parametrize(
    ("path", "refused", "message"),
    [
        ([], S.PROVISIONING, "can't move from Submitted to Provisioning"),
        ([S.BOOKED], S.SUBMITTED, "can't move from Booked to Submitted"),
        ([S.BOOKED], S.BOOKED, "is already Booked"),
        ([S.BOOKED, S.PROVISIONING, S.DELIVERED, S.COMPLETED], S.CANCELLED, "can no longer"),
        ([S.CANCELLED], S.SUBMITTED, "can no longer change"),
        ([S.BOOKED, S.ON_HOLD], S.PROVISIONING, "can move to: Booked, Cancelled"),
        ([S.BOOKED, S.ON_HOLD], S.SUBMITTED, "can't move from On hold to Submitted"),
        ([], "shipped", "is not an order status"),
    ],
)
def test_refused_moves_say_why_and_change_nothing(tenants, path, refused, message):
    order = _move(make_order(tenants.org_a), *path)
    before = (order.status, order.events.count())
    with pytest.raises(OrderError, match=message):
        order_change_status(order=order, status=refused, changed_by=None, reason="try")
    order.refresh_from_db()
    assert (order.status, order.events.count()) == before


def test_a_reason_is_required(tenants):
    order = make_order(tenants.org_a)
    with pytest.raises(OrderError, match="reason"):
        order_change_status(order=order, status=S.BOOKED, changed_by=None, reason="  ")
    assert Order.objects.get(pk=order.pk).status == S.SUBMITTED


@pytest.mark.parametrize("status", [S.SUBMITTED, S.BOOKED, S.PROVISIONING, S.DELIVERED])
def test_hold_resumes_to_the_status_before_it(tenants, status):
    path = Order.STEPS[1 : Order.STEPS.index(status) + 1]
    order = _move(make_order(tenants.org_a), *path, S.ON_HOLD)
    assert order_allowed_statuses(order=order) == [status, S.CANCELLED]
    _move(order, status)
    assert Order.objects.get(pk=order.pk).status == status


@pytest.mark.parametrize("path", [[], [S.BOOKED, S.PROVISIONING], [S.BOOKED, S.ON_HOLD]])
def test_any_open_order_can_be_cancelled(tenants, path):
    order = _move(make_order(tenants.org_a), *path, S.CANCELLED)
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert order_allowed_statuses(order=order) == []


def test_cancelling_ends_the_wait_for_payment(tenants):
    order = make_order(tenants.org_a, payment_status="awaiting")
    _move(order, S.CANCELLED)
    assert Order.objects.get(pk=order.pk).payment_status == Order.PaymentStatus.NOT_DUE


# --- E-mails ----------------------------------------------------------------------------------


@pytest.fixture
def opted_in(tenants):
    """Alice (every role) and Bob (technical) opted in; Fin did not; Charlie is elsewhere."""
    for contact in (tenants.alice, tenants.bob, tenants.charlie):
        contact.notify_order_updates = True
        contact.save()
    return tenants


def test_opted_in_contacts_get_one_email_per_change(opted_in, django_capture_on_commit_callbacks):
    order = make_order(opted_in.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        event = order_change_status(
            order=order, status=S.BOOKED, changed_by=None, reason="Booked by sales"
        )
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([opted_in.alice.user.email, opted_in.bob.user.email])
    message = mail.outbox[0]
    assert order.number in message.subject and "Booked" in message.subject
    assert "Booked by sales" in message.body and f"/orders/{order.number}/" in message.body
    with django_capture_on_commit_callbacks(execute=True):
        assert order_status_notify(event=event, order=order) == 0
    assert len(mail.outbox) == 2
    assert OrderStatusEvent.objects.get(pk=event.pk).notified_at is not None


def test_each_change_sends_again_and_not_opted_in_get_none(
    opted_in, django_capture_on_commit_callbacks
):
    order = make_order(opted_in.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        _move(order, S.BOOKED, S.ON_HOLD)
    sent_to = [m.to[0] for m in mail.outbox]
    assert len(sent_to) == 4
    assert opted_in.fin.user.email not in sent_to
    assert opted_in.charlie.user.email not in sent_to


def test_finance_only_contacts_hear_only_about_orders_awaiting_payment(
    tenants, django_capture_on_commit_callbacks
):
    tenants.fin.notify_order_updates = True
    tenants.fin.save()
    normal = make_order(tenants.org_a)
    to_pay = make_order(tenants.org_a, payment_status="awaiting")
    with django_capture_on_commit_callbacks(execute=True):
        _move(normal, S.BOOKED)
        _move(to_pay, S.BOOKED)
    assert [m.to for m in mail.outbox] == [[tenants.fin.user.email]]
    assert to_pay.number in mail.outbox[0].subject


def test_removed_contacts_get_nothing(tenants, django_capture_on_commit_callbacks):
    tenants.bob.notify_order_updates = True
    tenants.bob.removed_at = timezone.now() - timedelta(days=1)
    tenants.bob.save()
    with django_capture_on_commit_callbacks(execute=True):
        _move(make_order(tenants.org_a), S.BOOKED)
    assert mail.outbox == []


def test_each_recipient_reads_the_email_in_their_language(
    tenants, django_capture_on_commit_callbacks
):
    german = ContactFactory(
        organization=tenants.org_a,
        roles=[Role.TECHNICAL],
        user=UserFactory(language="de"),
        notify_order_updates=True,
    )
    tenants.bob.notify_order_updates = True
    tenants.bob.save()
    order = make_order(tenants.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        event = order_change_status(order=order, status=S.BOOKED, changed_by=None, reason="ok")
    by_recipient = {m.to[0]: m for m in mail.outbox}
    context = {"order": order, "event": event, "organization": order.organization}
    for user, language in ((german.user, "de"), (tenants.bob.user, "en")):
        with translation.override(language):
            subject = " ".join(
                render_to_string("emails/order_status_changed_subject.txt", context).split()
            )
        message = by_recipient[user.email]
        assert message.subject == subject
        html = message.alternatives[0][0]
        assert f'<html lang="{language}">' in html


# --- The timeline drawn as steps ----------------------------------------------------------


def _states(order):
    order = Order.objects.prefetch_related("events").get(pk=order.pk)
    return [(item["status"], item["state"], item["event"] is not None) for item in order.timeline()]


def test_timeline_marks_steps_done_current_and_upcoming(tenants):
    order = _move(make_order(tenants.org_a), S.BOOKED, S.PROVISIONING)
    assert _states(order) == [
        (S.SUBMITTED, "done", True),
        (S.BOOKED, "done", True),
        (S.PROVISIONING, "current", True),
        (S.DELIVERED, "upcoming", False),
        (S.COMPLETED, "upcoming", False),
    ]


def test_timeline_shows_hold_and_resume_after_the_interrupted_step(tenants):
    order = _move(make_order(tenants.org_a), S.BOOKED, S.ON_HOLD, S.BOOKED, S.PROVISIONING)
    assert _states(order) == [
        (S.SUBMITTED, "done", True),
        (S.BOOKED, "done", True),
        (S.ON_HOLD, "done", True),
        (S.BOOKED, "done", True),
        (S.PROVISIONING, "current", True),
        (S.DELIVERED, "upcoming", False),
        (S.COMPLETED, "upcoming", False),
    ]


def test_timeline_of_a_cancelled_order_ends_at_the_cancellation(tenants):
    order = _move(make_order(tenants.org_a), S.BOOKED, S.CANCELLED)
    assert _states(order) == [
        (S.SUBMITTED, "done", True),
        (S.BOOKED, "done", True),
        (S.CANCELLED, "current", True),
        (S.PROVISIONING, "upcoming", False),
        (S.DELIVERED, "upcoming", False),
        (S.COMPLETED, "upcoming", False),
    ]


def test_completed_order_has_every_step_done(tenants):
    order = _move(make_order(tenants.org_a), S.BOOKED, S.PROVISIONING, S.DELIVERED, S.COMPLETED)
    assert {state for _s, state, _e in _states(order)} == {"done"}
