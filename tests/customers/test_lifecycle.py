import pytest
from django.urls import reverse

from contacts.models import ActivityEvent, Organization
from customers import services
from customers.models import ScheduledAction, StaffAction
from plans.models import Subscription
from portal.models import OutboundEmail
from tests.accounts.factories import UserFactory
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.customers.factories import ScheduledActionFactory
from tests.plans.factories import SubscriptionFactory

Status = Organization.Status
Sub = Subscription.Status


def _subscriptions(org, *statuses):
    return [SubscriptionFactory(organization=org, status=status) for status in statuses]


def _reload(*objects):
    for obj in objects:
        obj.refresh_from_db()


@pytest.mark.django_db
def test_inactivation_suspends_active_services_and_reactivation_restores_only_those(tenants, staff):
    org = tenants.org_a
    active_one, active_two = _subscriptions(org, Sub.ACTIVE, Sub.ACTIVE)
    suspended_before = SubscriptionFactory(
        organization=org, status=Sub.SUSPENDED, status_reason="Customer asked"
    )
    terminated = SubscriptionFactory(organization=org, status=Sub.TERMINATED)
    other_org = SubscriptionFactory(organization=tenants.org_b, status=Sub.ACTIVE)

    change = services.organization_set_status(
        organization=org, status=Status.INACTIVE, staff_user=staff, reason="Unpaid invoices"
    )
    assert change.suspended == 2
    _reload(active_one, active_two, suspended_before, terminated, other_org, org)
    assert org.status == Status.INACTIVE
    assert [s.status for s in (active_one, active_two)] == [Sub.SUSPENDED, Sub.SUSPENDED]
    assert active_one.suspended_by_account and active_one.status_reason == "Unpaid invoices"
    assert active_one.status_changed_at is not None
    assert not suspended_before.suspended_by_account
    assert suspended_before.status_reason == "Customer asked"
    assert other_org.status == Sub.ACTIVE

    change = services.organization_set_status(
        organization=org, status=Status.ACTIVE, staff_user=staff, reason="Paid"
    )
    assert change.reactivated == 2
    _reload(active_one, active_two, suspended_before, terminated, org)
    assert org.status == Status.ACTIVE
    assert [s.status for s in (active_one, active_two)] == [Sub.ACTIVE, Sub.ACTIVE]
    assert not active_one.suspended_by_account
    assert suspended_before.status == Sub.SUSPENDED  # Suspended on its own: stays suspended.
    assert terminated.status == Sub.TERMINATED


@pytest.mark.django_db
def test_a_service_ended_while_inactive_is_not_restored(tenants, staff):
    org = tenants.org_a
    kept, ended = _subscriptions(org, Sub.ACTIVE, Sub.ACTIVE)
    services.organization_set_status(
        organization=org, status=Status.INACTIVE, staff_user=staff, reason="Unpaid"
    )
    services.subscription_terminate(subscription=ended, staff_user=staff, reason="Cancelled")
    services.organization_set_status(
        organization=org, status=Status.ACTIVE, staff_user=staff, reason="Paid"
    )
    _reload(kept, ended)
    assert (kept.status, ended.status) == (Sub.ACTIVE, Sub.TERMINATED)


@pytest.mark.django_db
def test_closing_terminates_services_ends_sessions_audits_and_notifies_admins_once(
    tenants, staff, client, django_capture_on_commit_callbacks
):
    org = tenants.org_a
    # Alice administers org A (English); a German admin joins too.
    german_admin = ContactFactory(
        organization=org, user=UserFactory(language="de"), is_admin=True, roles=["finance"]
    )
    subs = _subscriptions(org, Sub.ACTIVE, Sub.SUSPENDED, Sub.TERMINATED)
    pending = ScheduledActionFactory(organization=org, target_status=Status.INACTIVE)
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("home")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        change = services.organization_set_status(
            organization=org, status=Status.CLOSED, staff_user=staff, reason="Contract ended"
        )

    org.refresh_from_db()
    assert org.status == Status.CLOSED
    assert {s.status for s in Subscription.objects.filter(organization=org)} == {Sub.TERMINATED}
    assert change.terminated == 2 and change.sessions_ended == 4  # alice, bob, fin, german
    pending.refresh_from_db()
    assert pending.status == ScheduledAction.Status.CANCELLED

    # Bob's signed-in client is signed out on its next request.
    response = client.get(reverse("home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Charlie (org B) keeps his session.
    sign_in(client, tenants.charlie.user)
    assert client.get(reverse("home")).status_code == 200

    audit = StaffAction.objects.get(organization=org, action=StaffAction.Kind.STATUS_CHANGED)
    assert audit.staff_user == staff and audit.reason == "Contract ended"
    assert audit.customer_visible
    assert audit.data["from"] == "active" and audit.data["to"] == "closed"
    assert audit.data["terminated"] == 2
    event = ActivityEvent.objects.get(organization=org, verb="account_status_changed")
    assert event.data == {"from": "active", "to": "closed", "reason": "Contract ended"}

    emails = OutboundEmail.objects.filter(template="account_status_changed")
    assert sorted(e.to[0] for e in emails) == sorted(
        [tenants.alice.user.email, german_admin.user.email]
    )
    german = emails.get(to=[german_admin.user.email])
    assert '<html lang="de">' in german.body_html  # Rendered in the admin's language.
    assert '<html lang="en">' in emails.get(to=[tenants.alice.user.email]).body_html
    assert {e.dedupe_key for e in emails} == {
        f"account-status:{audit.pk}:{tenants.alice.user.pk}",
        f"account-status:{audit.pk}:{german_admin.user.pk}",
    }
    assert emails.filter(status=OutboundEmail.Status.SENT).count() == 2
    del subs


@pytest.mark.django_db
def test_closed_is_final(tenants, staff):
    org = tenants.org_a
    services.organization_set_status(
        organization=org, status=Status.CLOSED, staff_user=staff, reason="Ended"
    )
    for status in (Status.ACTIVE, Status.INACTIVE, Status.CLOSED):
        with pytest.raises(services.CustomerError):
            services.organization_set_status(
                organization=org, status=status, staff_user=staff, reason="Again"
            )
    assert StaffAction.objects.filter(action=StaffAction.Kind.STATUS_CHANGED).count() == 1


@pytest.mark.django_db
def test_status_change_needs_a_reason_and_a_real_move(tenants, staff):
    with pytest.raises(services.CustomerError):
        services.organization_set_status(
            organization=tenants.org_a, status=Status.INACTIVE, staff_user=staff, reason="  "
        )
    with pytest.raises(services.CustomerError):
        services.organization_set_status(
            organization=tenants.org_a, status=Status.ACTIVE, staff_user=staff, reason="x"
        )
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_a_failure_midway_changes_nothing(tenants, staff, monkeypatch):
    org = tenants.org_a
    subs = _subscriptions(org, Sub.ACTIVE, Sub.ACTIVE)

    def boom(*, user):
        raise RuntimeError("session store down")

    monkeypatch.setattr(services, "sessions_end_for_user", boom)
    with pytest.raises(RuntimeError):
        services.organization_set_status(
            organization=org, status=Status.CLOSED, staff_user=staff, reason="Ended"
        )
    org.refresh_from_db()
    assert org.status == Status.ACTIVE
    assert all(s.status == Sub.ACTIVE for s in Subscription.objects.filter(organization=org))
    assert not StaffAction.objects.exists()
    assert not ActivityEvent.objects.filter(verb="account_status_changed").exists()
    assert not OutboundEmail.objects.exists()
    del subs


@pytest.mark.django_db
def test_rename_is_recorded_with_old_and_new_names(tenants, staff):
    org = tenants.org_a
    old = org.name
    services.organization_rename(
        organization=org, name="  Acme   Holdings ", staff_user=staff, reason="Merger"
    )
    org.refresh_from_db()
    assert org.name == "Acme Holdings"
    audit = StaffAction.objects.get(action=StaffAction.Kind.RENAMED)
    assert audit.data == {"old": old, "new": "Acme Holdings"} and audit.reason == "Merger"
    assert not audit.customer_visible
    with pytest.raises(services.CustomerError):
        services.organization_rename(organization=org, name="Acme Holdings", staff_user=staff)


@pytest.mark.django_db
def test_rank_defaults_to_bronze_and_changes_any_time(tenants, staff):
    org = tenants.org_a
    assert org.rank == Organization.Rank.BRONZE
    services.organization_set_rank(organization=org, rank="platinum", staff_user=staff)
    services.organization_set_rank(organization=org, rank="silver", staff_user=staff)
    org.refresh_from_db()
    assert org.rank == "silver"
    assert list(
        StaffAction.objects.filter(action=StaffAction.Kind.RANK_CHANGED)
        .order_by("id")
        .values_list("data", flat=True)
    ) == [{"old": "bronze", "new": "platinum"}, {"old": "platinum", "new": "silver"}]
    with pytest.raises(services.CustomerError):
        services.organization_set_rank(organization=org, rank="diamond", staff_user=staff)


@pytest.mark.django_db
def test_one_service_is_suspended_reactivated_and_terminated_without_touching_the_rest(
    tenants, staff
):
    org = tenants.org_a
    target, other = _subscriptions(org, Sub.ACTIVE, Sub.ACTIVE)
    services.subscription_suspend(subscription=target, staff_user=staff, reason="Abuse report")
    _reload(target, other)
    assert (target.status, other.status) == (Sub.SUSPENDED, Sub.ACTIVE)
    assert target.status_reason == "Abuse report" and target.status_changed_at
    assert not target.suspended_by_account

    services.subscription_reactivate(subscription=target, staff_user=staff, reason="Resolved")
    target.refresh_from_db()
    assert target.status == Sub.ACTIVE

    services.subscription_terminate(subscription=target, staff_user=staff, reason="Cancelled")
    _reload(target, other)
    assert (target.status, other.status) == (Sub.TERMINATED, Sub.ACTIVE)
    with pytest.raises(services.CustomerError):  # Terminated is final.
        services.subscription_reactivate(subscription=target, staff_user=staff, reason="Oops")
    with pytest.raises(services.CustomerError):  # A reason is required.
        services.subscription_suspend(subscription=other, staff_user=staff, reason="")

    kinds = list(
        StaffAction.objects.filter(organization=org).order_by("id").values_list("action", flat=True)
    )
    assert kinds == ["service_suspended", "service_reactivated", "service_terminated"]
    verbs = list(
        ActivityEvent.objects.filter(organization=org).order_by("id").values_list("verb", flat=True)
    )
    assert verbs == ["service_suspended", "service_reactivated", "service_terminated"]


@pytest.mark.django_db
def test_services_of_an_inactive_account_are_reactivated_with_the_account_only(tenants, staff):
    org = tenants.org_a
    (sub,) = _subscriptions(org, Sub.ACTIVE)
    services.organization_set_status(
        organization=org, status=Status.INACTIVE, staff_user=staff, reason="Unpaid"
    )
    sub.refresh_from_db()
    with pytest.raises(services.CustomerError):
        services.subscription_reactivate(subscription=sub, staff_user=staff, reason="Try")
    sub.refresh_from_db()
    assert sub.status == Sub.SUSPENDED and sub.suspended_by_account


@pytest.mark.django_db
def test_the_customer_sees_the_suspension_date_and_reason_on_the_plans_page(tenants, staff, client):
    (sub,) = _subscriptions(tenants.org_a, Sub.ACTIVE)
    services.subscription_suspend(subscription=sub, staff_user=staff, reason="Abuse report")
    sign_in(client, tenants.alice.user)
    page = client.get(reverse("plans:list")).content.decode()
    assert "Abuse report" in page and "suspended since" in page
