import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contacts.models import ActivityEvent, Organization
from customers import services
from customers.models import ScheduledAction, StaffAction
from customers.tasks import scheduled_actions_run_task
from plans.models import Subscription
from portal.models import OutboundEmail
from tests.conftest import sign_in
from tests.customers.factories import ScheduledActionFactory, make_staff
from tests.plans.factories import SubscriptionFactory

Status = Organization.Status
Run = ScheduledAction.Status


def _due_closure(org, *, staff=None, days_ago=0):
    action = ScheduledActionFactory(
        organization=org, target_status=Status.CLOSED, created_by=staff or make_staff()
    )
    # Created in the past for a date that has come.
    ScheduledAction.objects.filter(pk=action.pk).update(
        run_on=timezone.localdate() - timedelta(days=days_ago)
    )
    action.refresh_from_db()
    return action


def _closure_effects(org) -> dict:
    org.refresh_from_db()
    return {
        "status": org.status,
        "audit": StaffAction.objects.filter(
            organization=org, action=StaffAction.Kind.STATUS_CHANGED
        ).count(),
        "activity": ActivityEvent.objects.filter(
            organization=org, verb="account_status_changed"
        ).count(),
        "emails": OutboundEmail.objects.filter(template="account_status_changed").count(),
        "live_services": Subscription.objects.filter(organization=org)
        .exclude(status=Subscription.Status.TERMINATED)
        .count(),
    }


@pytest.mark.django_db
def test_a_due_closure_runs_once_even_when_the_job_runs_twice(tenants, staff, client):
    org = tenants.org_a
    SubscriptionFactory.create_batch(2, organization=org)
    action = _due_closure(org, staff=staff)
    sign_in(client, tenants.alice.user)
    assert client.get(reverse("home")).status_code == 200

    assert services.scheduled_actions_run() == {"done": 1}
    assert services.scheduled_actions_run() == {}
    assert scheduled_actions_run_task.delay().get() == {}

    action.refresh_from_db()
    assert action.status == Run.DONE and action.attempts == 1 and action.executed_at
    assert action.result["to"] == "closed" and action.result["terminated"] == 2
    assert _closure_effects(org) == {
        "status": "closed",
        "audit": 1,
        "activity": 1,
        "emails": 1,  # Alice is org A's only administrator.
        "live_services": 0,
    }
    audit = StaffAction.objects.get(action=StaffAction.Kind.STATUS_CHANGED)
    assert audit.staff_user == staff and audit.data["scheduled_action"] == str(action.public_id)
    # Alice's session ended with the closure.
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_future_actions_wait_for_their_date(tenants):
    action = ScheduledActionFactory(organization=tenants.org_a)
    assert services.scheduled_actions_run() == {}
    assert services.scheduled_actions_run(today=action.run_on - timedelta(days=1)) == {}
    assert services.scheduled_actions_run(today=action.run_on) == {"done": 1}
    tenants.org_a.refresh_from_db()
    assert tenants.org_a.status == Status.CLOSED


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_execute_a_due_closure_once(tenants, monkeypatch):
    org = tenants.org_a
    SubscriptionFactory.create_batch(3, organization=org)
    action = _due_closure(org)
    original = services._end_sessions

    def slow_end_sessions(organization):
        time.sleep(0.5)  # Hold the claimed row while the other run tries to claim it.
        return original(organization)

    monkeypatch.setattr(services, "_end_sessions", slow_end_sessions)
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run():
        try:
            barrier.wait()
            outcomes.append(services.scheduled_actions_run())
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(outcomes, key=len) == [{}, {"done": 1}]
    action.refresh_from_db()
    assert action.status == Run.DONE and action.attempts == 1
    assert _closure_effects(org) == {
        "status": "closed",
        "audit": 1,
        "activity": 1,
        "emails": 1,
        "live_services": 0,
    }


@pytest.mark.django_db
def test_a_failed_run_changes_nothing_is_visible_and_is_retried(tenants, monkeypatch):
    org = tenants.org_a
    SubscriptionFactory.create_batch(2, organization=org)
    action = _due_closure(org)
    before = _closure_effects(org)

    def boom(*, user):
        raise RuntimeError("session store down")

    monkeypatch.setattr(services, "sessions_end_for_user", boom)
    assert services.scheduled_actions_run() == {"failed": 1}
    action.refresh_from_db()
    assert action.status == Run.FAILED and action.attempts == 1
    assert "session store down" in action.last_error
    # Never half-applied: services were terminated before the failure, and rolled back.
    assert _closure_effects(org) == before
    assert before["status"] == "active" and before["live_services"] == 2

    monkeypatch.undo()
    assert services.scheduled_actions_run() == {"done": 1}
    action.refresh_from_db()
    assert action.status == Run.DONE and action.attempts == 2 and action.last_error == ""
    assert _closure_effects(org)["status"] == "closed"


@pytest.mark.django_db
def test_retries_stop_after_the_maximum_attempts(tenants, monkeypatch):
    action = _due_closure(tenants.org_a)

    def boom(**kwargs):
        raise RuntimeError("still broken")

    monkeypatch.setattr(services, "organization_set_status", boom)
    for _ in range(ScheduledAction.MAX_ATTEMPTS):
        assert services.scheduled_actions_run() == {"failed": 1}
    assert services.scheduled_actions_run() == {}
    action.refresh_from_db()
    assert action.status == Run.FAILED and action.attempts == ScheduledAction.MAX_ATTEMPTS


@pytest.mark.django_db
def test_an_action_whose_status_is_already_reached_is_done_without_changes(tenants, staff):
    action = ScheduledActionFactory(organization=tenants.org_a, target_status=Status.INACTIVE)
    services.organization_set_status(
        organization=tenants.org_a, status=Status.INACTIVE, staff_user=staff, reason="Now"
    )
    assert services.scheduled_actions_run(today=action.run_on) == {"done": 1}
    action.refresh_from_db()
    assert action.result == {"noop": True, "to": "inactive"}
    assert StaffAction.objects.filter(action=StaffAction.Kind.STATUS_CHANGED).count() == 1


@pytest.mark.django_db
def test_cancelled_actions_never_run(tenants, staff):
    action = ScheduledActionFactory(organization=tenants.org_a)
    services.scheduled_action_cancel(scheduled_action=action, staff_user=staff, reason="Renewed")
    assert services.scheduled_actions_run(today=action.run_on) == {}
    tenants.org_a.refresh_from_db()
    assert tenants.org_a.status == Status.ACTIVE
    with pytest.raises(services.CustomerError):
        services.scheduled_action_cancel(scheduled_action=action, staff_user=staff)
    assert StaffAction.objects.get(action=StaffAction.Kind.SCHEDULE_CANCELLED).reason == "Renewed"


@pytest.mark.django_db
def test_editing_moves_the_date_before_it_runs(tenants, staff):
    action = ScheduledActionFactory(organization=tenants.org_a)
    old_date = action.run_on
    later = old_date + timedelta(days=30)
    services.scheduled_action_update(
        scheduled_action=action, run_on=later, reason="Notice extended", staff_user=staff
    )
    assert services.scheduled_actions_run(today=old_date) == {}
    assert services.scheduled_actions_run(today=later) == {"done": 1}
    audit = StaffAction.objects.get(action=StaffAction.Kind.SCHEDULE_EDITED)
    assert audit.data["old"]["run_on"] == old_date.isoformat()
    assert audit.data["new"]["run_on"] == later.isoformat()
    action.refresh_from_db()
    with pytest.raises(services.CustomerError):  # Done: no longer editable.
        services.scheduled_action_update(
            scheduled_action=action, run_on=later, reason="x", staff_user=staff
        )


@pytest.mark.django_db
def test_scheduling_refuses_past_dates_and_closed_accounts(tenants, staff):
    today = timezone.localdate()
    with pytest.raises(services.CustomerError):
        services.scheduled_action_create(
            organization=tenants.org_a, status="closed", run_on=today, reason="x", staff_user=staff
        )
    services.organization_set_status(
        organization=tenants.org_a, status=Status.CLOSED, staff_user=staff, reason="Ended"
    )
    with pytest.raises(services.CustomerError):
        services.scheduled_action_create(
            organization=tenants.org_a,
            status="active",
            run_on=today + timedelta(days=1),
            reason="x",
            staff_user=staff,
        )


@pytest.mark.django_db
def test_closing_cancels_the_other_pending_actions(tenants, staff):
    inactivation = ScheduledActionFactory(organization=tenants.org_a, target_status="inactive")
    closure = ScheduledActionFactory(
        organization=tenants.org_a, run_on=inactivation.run_on + timedelta(days=1)
    )
    services.scheduled_actions_run(today=closure.run_on)
    inactivation.refresh_from_db()
    closure.refresh_from_db()
    # The inactivation ran first (earlier date), then the closure.
    assert (inactivation.status, closure.status) == (Run.DONE, Run.DONE)

    later = ScheduledActionFactory(organization=tenants.org_b, target_status="inactive")
    services.organization_set_status(
        organization=tenants.org_b, status=Status.CLOSED, staff_user=staff, reason="Ended"
    )
    later.refresh_from_db()
    assert later.status == Run.CANCELLED and later.result["cancelled_by_closure"]


@pytest.mark.django_db
def test_management_command_runs_the_due_actions(tenants, capsys):
    action = ScheduledActionFactory(organization=tenants.org_a)
    call_command("run_scheduled_actions", "--today", action.run_on.isoformat())
    assert "1 scheduled action(s) done, 0 failed." in capsys.readouterr().out
    tenants.org_a.refresh_from_db()
    assert tenants.org_a.status == Status.CLOSED
