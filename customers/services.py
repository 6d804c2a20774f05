"""Account lifecycle, ranks, services (assets) and deferred actions: every staff write.

Each write records a `StaffAction` (who, when, why) in the same transaction; the ones a
customer should know about (status changes, service actions) also go to the customer's
activity log. Status changes are all-or-nothing: the organization, its subscriptions, its
users' sessions, the audit rows and the outbox e-mails commit together or not at all.

Lifecycle (Oracle Monetization Cloud's FAQ, "managing customers"):
- active → inactive: every *active* subscription is suspended and flagged
  `suspended_by_account`; services suspended one by one before keep their own suspension.
- inactive → active: exactly the flagged subscriptions are reactivated.
- active/inactive → closed: every subscription not yet terminated is terminated, pending
  scheduled actions are cancelled, and the sessions of all the organization's users end
  (each of them loses the right to change anything in it).
- closed is final: a closed account can't be reopened, rescheduled or changed, only renamed
  or re-ranked. A customer who comes back gets a new account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from contacts.models import Contact, Organization
from contacts.services import activity_record
from customers.models import ScheduledAction, StaffAction
from plans import services as plan_services
from plans.models import Subscription
from portal.emails import email_queue_rendered
from portal.sessions import sessions_end_for_user

logger = logging.getLogger(__name__)

Status = Organization.Status
Kind = StaffAction.Kind

# The allowed moves; closed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ACTIVE: frozenset({Status.INACTIVE, Status.CLOSED}),
    Status.INACTIVE: frozenset({Status.ACTIVE, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class Verb:
    """Customer activity verbs written here (contacts.ActivityEvent.Verb should list them)."""

    ACCOUNT_STATUS_CHANGED = "account_status_changed"
    SERVICE_SUSPENDED = "service_suspended"
    SERVICE_REACTIVATED = "service_reactivated"
    SERVICE_TERMINATED = "service_terminated"


class CustomerError(Exception):
    """A refused staff change, with a message fit for the staff member who asked."""


def _required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CustomerError(_("Give a reason."))
    return reason


def staff_action_record(
    *,
    organization: Organization,
    staff_user: User | None,
    action: str,
    reason: str = "",
    customer_visible: bool = False,
    data: dict | None = None,
) -> StaffAction:
    """The one writer of the staff audit trail."""
    return StaffAction.objects.create(
        organization=organization,
        staff_user=staff_user,
        action=action,
        reason=(reason or "").strip(),
        customer_visible=customer_visible,
        data=data or {},
    )


# --- Account status -------------------------------------------------------------------------


@dataclass
class StatusChange:
    organization: Organization
    from_status: str
    to_status: str
    staff_action: StaffAction
    suspended: int = 0
    reactivated: int = 0
    terminated: int = 0
    sessions_ended: int = 0
    scheduled_cancelled: int = 0
    notified: list[str] = field(default_factory=list)

    def as_result(self) -> dict:
        return {
            "from": self.from_status,
            "to": self.to_status,
            "suspended": self.suspended,
            "reactivated": self.reactivated,
            "terminated": self.terminated,
            "sessions_ended": self.sessions_ended,
            "scheduled_cancelled": self.scheduled_cancelled,
            "notified": len(self.notified),
            "staff_action": self.staff_action.pk,
        }


def _check_transition(organization: Organization, status: str) -> None:
    if status not in Status.values:
        raise CustomerError(_("Unknown account status."))
    if organization.status == status:
        raise CustomerError(_("The account already has this status."))
    if status not in TRANSITIONS[organization.status]:
        raise CustomerError(_("A closed account is final: it can't be reopened or changed."))


def organization_set_status(
    *,
    organization: Organization,
    status: str,
    staff_user: User,
    reason: str,
    scheduled_action: ScheduledAction | None = None,
) -> StatusChange:
    """Make an account active, inactive or closed, with everything that goes with it."""
    reason = _required(reason)
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        _check_transition(locked, status)
        now = timezone.now()
        from_status = locked.status
        subscriptions = Subscription.objects.filter(organization=locked)
        counts: dict[str, int] = {}
        if status == Status.INACTIVE:
            counts["suspended"] = subscriptions.filter(status=Subscription.Status.ACTIVE).update(
                status=Subscription.Status.SUSPENDED,
                suspended_by_account=True,
                status_changed_at=now,
                status_reason=reason,
            )
        elif status == Status.ACTIVE:
            counts["reactivated"] = subscriptions.filter(
                status=Subscription.Status.SUSPENDED, suspended_by_account=True
            ).update(
                status=Subscription.Status.ACTIVE,
                suspended_by_account=False,
                status_changed_at=now,
                status_reason=reason,
            )
        else:
            counts["terminated"] = subscriptions.exclude(
                status=Subscription.Status.TERMINATED
            ).update(
                status=Subscription.Status.TERMINATED,
                suspended_by_account=False,
                status_changed_at=now,
                status_reason=reason,
            )
        locked.status = status
        locked.save(update_fields=["status"])
        staff_action = staff_action_record(
            organization=locked,
            staff_user=staff_user,
            action=Kind.STATUS_CHANGED,
            reason=reason,
            customer_visible=True,
            data={
                "from": from_status,
                "to": status,
                **counts,
                **(
                    {"scheduled_action": str(scheduled_action.public_id)}
                    if scheduled_action
                    else {}
                ),
            },
        )
        change = StatusChange(
            organization=locked,
            from_status=from_status,
            to_status=status,
            staff_action=staff_action,
            **counts,
        )
        if status == Status.CLOSED:
            change.scheduled_cancelled = _cancel_pending_actions(locked, staff_action)
            change.sessions_ended = _end_sessions(locked)
            staff_action.data.update(
                sessions_ended=change.sessions_ended,
                scheduled_cancelled=change.scheduled_cancelled,
            )
            staff_action.save(update_fields=["data"])
        activity_record(
            organization=locked,
            actor=None,  # The seller, not a user of the organization.
            verb=Verb.ACCOUNT_STATUS_CHANGED,
            target=_label_in(locked.language, Status(status).label),
            data={"from": from_status, "to": status, "reason": reason},
        )
        change.notified = _notify_admins(change, reason=reason)
    organization.status = locked.status
    return change


def _label_in(language: str, label) -> str:
    with translation.override(language):
        return str(label)


def _cancel_pending_actions(organization: Organization, staff_action: StaffAction) -> int:
    """A closed account has nothing left to schedule."""
    return ScheduledAction.objects.filter(
        organization=organization, status__in=ScheduledAction.EDITABLE
    ).update(
        status=ScheduledAction.Status.CANCELLED,
        result={"cancelled_by_closure": staff_action.pk},
    )


def _end_sessions(organization: Organization) -> int:
    """Every user of a closed account loses the right to change anything there: all of
    their sessions end (on their next request), also those working in other organizations."""
    users = list(
        User.objects.filter(
            contacts__organization=organization, contacts__removed_at__isnull=True
        ).distinct()
    )
    for user in users:
        sessions_end_for_user(user=user)
    return len(users)


def _render_status_email(change: StatusChange, *, reason: str, language: str) -> dict[str, str]:
    with translation.override(language):
        context = {
            "site_url": settings.SITE_URL,
            "organization": change.organization,
            "status": change.to_status,
            "status_label": Status(change.to_status).label,
            "reason": reason,
            "changed_at": change.staff_action.created_at,
        }
        subject = render_to_string("customers/emails/account_status_changed_subject.txt", context)
        return {
            "subject": " ".join(subject.split()),
            "body_text": render_to_string("customers/emails/account_status_changed.txt", context),
            "body_html": render_to_string("customers/emails/account_status_changed.html", context),
        }


def _notify_admins(change: StatusChange, *, reason: str) -> list[str]:
    """One e-mail per administrator and change, in the administrator's language."""
    admins = (
        Contact.objects.admins()
        .filter(organization=change.organization, user__is_active=True)
        .select_related("user")
        .order_by("user__email")
    )
    queued = []
    for contact in admins:
        user = contact.user
        email = email_queue_rendered(
            template="account_status_changed",
            to=[user.email],
            dedupe_key=f"account-status:{change.staff_action.pk}:{user.pk}",
            **_render_status_email(change, reason=reason, language=user.language),
        )
        if email is not None:
            queued.append(user.email)
    return queued


# --- Name and rank --------------------------------------------------------------------------


def organization_rename(
    *, organization: Organization, name: str, staff_user: User, reason: str = ""
) -> StaffAction:
    """Rename an account (accounts are renamed, never deleted); records old and new names."""
    name = " ".join((name or "").split())
    if not name:
        raise CustomerError(_("Give the new name."))
    if len(name) > Organization._meta.get_field("name").max_length:
        raise CustomerError(_("The name is too long."))
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        if locked.name == name:
            raise CustomerError(_("The account already has this name."))
        old = locked.name
        locked.name = name
        locked.save(update_fields=["name"])
        action = staff_action_record(
            organization=locked,
            staff_user=staff_user,
            action=Kind.RENAMED,
            reason=reason,
            data={"old": old, "new": name},
        )
    organization.name = name
    return action


def organization_set_rank(
    *, organization: Organization, rank: str, staff_user: User, reason: str = ""
) -> StaffAction:
    """Change an account's rank (Platinum, Gold, Silver, Bronze) at any time."""
    if rank not in Organization.Rank.values:
        raise CustomerError(_("Unknown rank."))
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        if locked.rank == rank:
            raise CustomerError(_("The account already has this rank."))
        old = locked.rank
        locked.rank = rank
        locked.save(update_fields=["rank"])
        action = staff_action_record(
            organization=locked,
            staff_user=staff_user,
            action=Kind.RANK_CHANGED,
            reason=reason,
            data={"old": old, "new": rank},
        )
    organization.rank = rank
    return action


# --- Services (assets): one subscription at a time -------------------------------------------


def _subscription_change(
    *, subscription: Subscription, status: str, staff_user: User, reason: str
) -> StaffAction:
    reason = _required(reason)
    kind, verb = {
        Subscription.Status.SUSPENDED: (Kind.SERVICE_SUSPENDED, Verb.SERVICE_SUSPENDED),
        Subscription.Status.ACTIVE: (Kind.SERVICE_REACTIVATED, Verb.SERVICE_REACTIVATED),
        Subscription.Status.TERMINATED: (Kind.SERVICE_TERMINATED, Verb.SERVICE_TERMINATED),
    }[status]
    with transaction.atomic():
        # Same lock order as organization_set_status (organization, then subscriptions).
        organization = Organization.objects.select_for_update().get(pk=subscription.organization_id)
        if organization.is_closed:
            raise CustomerError(_("The account is closed: its services are terminated."))
        if status != Subscription.Status.TERMINATED and organization.status != Status.ACTIVE:
            raise CustomerError(
                _(
                    "The account is inactive, so all its services are suspended. "
                    "Reactivate the account first."
                )
            )
        previous = Subscription.objects.values_list("status", flat=True).get(pk=subscription.pk)
        try:
            plan_services.subscription_set_status(
                subscription=subscription, status=status, reason=reason
            )
        except plan_services.PlanError as error:
            raise CustomerError(str(error)) from None
        # Suspended, reactivated or ended one by one: no longer the account action's to undo.
        Subscription.objects.filter(pk=subscription.pk).update(suspended_by_account=False)
        subscription.suspended_by_account = False
        data = {
            "subscription": str(subscription.public_id),
            "plan": subscription.plan.name,
            "from": previous,
            "to": status,
        }
        action = staff_action_record(
            organization=organization,
            staff_user=staff_user,
            action=kind,
            reason=reason,
            customer_visible=True,
            data=data,
        )
        activity_record(
            organization=organization,
            actor=None,
            verb=verb,
            target=subscription.plan.name,
            data={**data, "reason": reason},
        )
    return action


def subscription_suspend(*, subscription: Subscription, staff_user: User, reason: str):
    """Suspend one service of an active account; the others are untouched."""
    return _subscription_change(
        subscription=subscription,
        status=Subscription.Status.SUSPENDED,
        staff_user=staff_user,
        reason=reason,
    )


def subscription_reactivate(*, subscription: Subscription, staff_user: User, reason: str):
    """Reactivate one suspended service of an active account."""
    return _subscription_change(
        subscription=subscription,
        status=Subscription.Status.ACTIVE,
        staff_user=staff_user,
        reason=reason,
    )


def subscription_terminate(*, subscription: Subscription, staff_user: User, reason: str):
    """Terminate one service permanently (terminated is final)."""
    return _subscription_change(
        subscription=subscription,
        status=Subscription.Status.TERMINATED,
        staff_user=staff_user,
        reason=reason,
    )


# --- Deferred actions -------------------------------------------------------------------------


def _check_run_on(run_on: date) -> None:
    if run_on <= timezone.localdate():
        raise CustomerError(_("Choose a date in the future, or change the status now."))


def scheduled_action_create(
    *, organization: Organization, status: str, run_on: date, reason: str, staff_user: User
) -> ScheduledAction:
    """Schedule a status change for a future date."""
    reason = _required(reason)
    _check_run_on(run_on)
    if status not in Status.values:
        raise CustomerError(_("Unknown account status."))
    with transaction.atomic():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        if locked.is_closed:
            raise CustomerError(_("A closed account is final: it can't be reopened or changed."))
        chained = ScheduledAction.objects.filter(organization=locked).pending().exists()
        if status == locked.status and not chained:
            raise CustomerError(_("The account already has this status."))
        action = ScheduledAction.objects.create(
            organization=locked,
            target_status=status,
            run_on=run_on,
            reason=reason,
            created_by=staff_user,
        )
        staff_action_record(
            organization=locked,
            staff_user=staff_user,
            action=Kind.STATUS_SCHEDULED,
            reason=reason,
            data={
                "scheduled_action": str(action.public_id),
                "to": status,
                "run_on": run_on.isoformat(),
            },
        )
    return action


def scheduled_action_update(
    *, scheduled_action: ScheduledAction, run_on: date, reason: str, staff_user: User
) -> ScheduledAction:
    """Move or re-explain a pending action; a failed one goes back to the schedule afresh."""
    reason = _required(reason)
    _check_run_on(run_on)
    with transaction.atomic():
        locked = ScheduledAction.objects.select_for_update().get(pk=scheduled_action.pk)
        if not locked.is_editable:
            raise CustomerError(_("This action has already run or was cancelled."))
        old = {"run_on": locked.run_on.isoformat(), "reason": locked.reason}
        locked.run_on, locked.reason = run_on, reason
        locked.status, locked.attempts, locked.last_error = ScheduledAction.Status.SCHEDULED, 0, ""
        locked.save(update_fields=["run_on", "reason", "status", "attempts", "last_error"])
        staff_action_record(
            organization=locked.organization,
            staff_user=staff_user,
            action=Kind.SCHEDULE_EDITED,
            reason=reason,
            data={
                "scheduled_action": str(locked.public_id),
                "old": old,
                "new": {"run_on": run_on.isoformat(), "reason": reason},
            },
        )
    return locked


def scheduled_action_cancel(
    *, scheduled_action: ScheduledAction, staff_user: User, reason: str = ""
) -> ScheduledAction:
    """Cancel a pending action before it runs."""
    with transaction.atomic():
        locked = ScheduledAction.objects.select_for_update().get(pk=scheduled_action.pk)
        if not locked.is_editable:
            raise CustomerError(_("This action has already run or was cancelled."))
        locked.status = ScheduledAction.Status.CANCELLED
        locked.save(update_fields=["status"])
        staff_action_record(
            organization=locked.organization,
            staff_user=staff_user,
            action=Kind.SCHEDULE_CANCELLED,
            reason=reason,
            data={"scheduled_action": str(locked.public_id), "to": locked.target_status},
        )
    return locked


def _execute(action: ScheduledAction) -> dict:
    organization = Organization.objects.select_for_update().get(pk=action.organization_id)
    if organization.status == action.target_status:
        return {"noop": True, "to": action.target_status}
    change = organization_set_status(
        organization=organization,
        status=action.target_status,
        staff_user=action.created_by,
        reason=action.reason,
        scheduled_action=action,
    )
    return change.as_result()


def scheduled_action_run(*, scheduled_action_id: int, today: date) -> str | None:
    """Run one due action once; returns its new status, or None if another run has it.

    The claim is a compare-and-set (`filter(status=…).update(status=RUNNING)`) in the same
    transaction as the work: a second or concurrent run finds the row no longer in the
    status it read (PostgreSQL re-checks the condition after the first run commits) and
    skips it. The work runs in a savepoint: a failure rolls all of it back, and the action
    is marked failed, with the error, for the next run to retry.
    """
    with transaction.atomic():
        current = (
            ScheduledAction.objects.filter(pk=scheduled_action_id)
            .values_list("status", "attempts")
            .first()
        )
        if current is None:
            return None
        status, attempts = current
        claimed = (
            ScheduledAction.objects.due(today)
            .filter(pk=scheduled_action_id, status=status, attempts=attempts)
            .update(status=ScheduledAction.Status.RUNNING, attempts=F("attempts") + 1)
        )
        if not claimed:
            return None
        action = ScheduledAction.objects.select_related("organization", "created_by").get(
            pk=scheduled_action_id
        )
        action.executed_at = timezone.now()
        try:
            with transaction.atomic():
                result = _execute(action)
        except Exception as error:  # Recorded for staff and retried; nothing was applied.
            logger.exception("Scheduled action %s failed", action.public_id)
            action.status = ScheduledAction.Status.FAILED
            action.last_error = f"{type(error).__name__}: {error}"[:2000]
            action.save(update_fields=["status", "last_error", "executed_at"])
        else:
            action.status = ScheduledAction.Status.DONE
            action.result, action.last_error = result, ""
            action.save(update_fields=["status", "result", "last_error", "executed_at"])
        return action.status


def scheduled_actions_run(*, today: date | None = None, limit: int = 500) -> dict[str, int]:
    """The beat job: run the due actions once each; returns how many ended in each status."""
    today = today or timezone.localdate()
    ids = list(
        ScheduledAction.objects.due(today)
        .order_by("run_on", "id")
        .values_list("pk", flat=True)[:limit]
    )
    outcome: dict[str, int] = {}
    for pk in ids:
        status = scheduled_action_run(scheduled_action_id=pk, today=today)
        if status is not None:
            outcome[str(status)] = outcome.get(str(status), 0) + 1
    return outcome


# --- View as customer -------------------------------------------------------------------------


def staff_view_start(*, organization: Organization, staff_user: User) -> StaffAction:
    """Record that a staff member opened the read-only customer view."""
    return staff_action_record(
        organization=organization, staff_user=staff_user, action=Kind.VIEW_AS_STARTED
    )


def staff_view_end(*, organization: Organization, staff_user: User) -> StaffAction:
    return staff_action_record(
        organization=organization, staff_user=staff_user, action=Kind.VIEW_AS_ENDED
    )
