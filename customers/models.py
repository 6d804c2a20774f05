"""The staff side of customer accounts: the audit trail of staff writes, deferred status
changes, and the read-only contact a staff member uses to view the portal as a customer."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, Organization

Rank = Organization.Rank

# Support priority: Platinum first. TextChoices values don't sort by importance.
RANK_PRIORITY = {Rank.PLATINUM: 1, Rank.GOLD: 2, Rank.SILVER: 3, Rank.BRONZE: 4}


def rank_priority(field: str = "rank") -> Case:
    """An expression to order organizations (or rows joined to them) by rank, Platinum first:
    `.annotate(priority=rank_priority("organization__rank")).order_by("priority")`."""
    return Case(
        *(When(**{field: rank}, then=Value(order)) for rank, order in RANK_PRIORITY.items()),
        default=Value(len(RANK_PRIORITY) + 1),
        output_field=models.IntegerField(),
    )


class StaffActionQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization):
        return self.filter(organization=organization)

    def customer_visible(self):
        return self.filter(customer_visible=True)


class StaffAction(models.Model):
    """Who on the seller's staff changed what on a customer account, when and why.

    Append-only, like Kill Bill's audit log: rows are written by customers.services and
    never edited or deleted.
    """

    class Kind(models.TextChoices):
        STATUS_CHANGED = "status_changed", _("Changed the account status")
        STATUS_SCHEDULED = "status_scheduled", _("Scheduled a status change")
        SCHEDULE_EDITED = "schedule_edited", _("Edited a scheduled status change")
        SCHEDULE_CANCELLED = "schedule_cancelled", _("Cancelled a scheduled status change")
        RENAMED = "renamed", _("Renamed the account")
        RANK_CHANGED = "rank_changed", _("Changed the rank")
        SERVICE_SUSPENDED = "service_suspended", _("Suspended a service")
        SERVICE_REACTIVATED = "service_reactivated", _("Reactivated a service")
        SERVICE_TERMINATED = "service_terminated", _("Terminated a service")
        VIEW_AS_STARTED = "view_as_started", _("Started viewing as the customer")
        VIEW_AS_ENDED = "view_as_ended", _("Stopped viewing as the customer")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="staff_actions"
    )
    # Null only for actions no person asked for (none today; kept for system jobs).
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    action = models.CharField(_("action"), max_length=30, choices=Kind.choices)
    reason = models.TextField(_("reason or comment"), blank=True)
    # Also written to the customer's activity log (status changes, service actions).
    customer_visible = models.BooleanField(_("shown to the customer"), default=False)
    # Before/after values and counts, e.g. {"from": "active", "to": "inactive", "suspended": 3}.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    objects = StaffActionQuerySet.as_manager()

    class Meta:
        verbose_name = _("staff action")
        verbose_name_plural = _("staff actions")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit trail on the customer 360 page: one organization, newest first.
            models.Index(
                fields=["organization", "-created_at", "-id"], name="staffaction_org_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.organization}"


class ScheduledActionQuerySet(models.QuerySet):
    def pending(self):
        """Not run yet, or failed and waiting for another attempt: staff may edit or cancel."""
        return self.filter(status__in=ScheduledAction.EDITABLE)

    def due(self, today):
        return self.filter(
            Q(status=ScheduledAction.Status.SCHEDULED)
            | Q(status=ScheduledAction.Status.FAILED, attempts__lt=ScheduledAction.MAX_ATTEMPTS),
            run_on__lte=today,
        )


class ScheduledAction(models.Model):
    """A status change deferred to a date, executed once by `scheduled_actions_run`."""

    class Action(models.TextChoices):
        SET_STATUS = "set_status", _("Change the account status")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    # A failed action is retried by the next runs until it has been attempted this often.
    MAX_ATTEMPTS = 3
    EDITABLE = (Status.SCHEDULED, Status.FAILED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="scheduled_actions"
    )
    action = models.CharField(
        _("action"), max_length=20, choices=Action.choices, default=Action.SET_STATUS
    )
    target_status = models.CharField(
        _("new status"), max_length=10, choices=Organization.Status.choices
    )
    run_on = models.DateField(_("run on"))
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("scheduled by"),
    )
    created_at = models.DateTimeField(_("scheduled at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # What the run changed, e.g. {"from": "active", "to": "closed", "terminated": 3}.
    result = models.JSONField(_("result"), default=dict, blank=True)
    # When it last ran (successfully or not).
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)

    objects = ScheduledActionQuerySet.as_manager()

    class Meta:
        verbose_name = _("scheduled action")
        verbose_name_plural = _("scheduled actions")
        ordering = ["run_on", "id"]
        indexes = [
            # scheduled_actions_run: pending actions by date.
            models.Index(
                fields=["run_on", "id"],
                name="scheduledaction_pending",
                condition=Q(status__in=["scheduled", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.get_target_status_display()} on {self.run_on}"

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE


class StaffViewContact(Contact):
    """The contact of a staff member viewing the portal as a customer (never saved).

    It sees every module of the organization, as an administrator with every role would,
    and may do nothing: `can_do()` is always False, so every `check_action` refuses.
    """

    is_staff_view = True

    class Meta:
        proxy = True
        verbose_name = _("staff view of a customer")
        verbose_name_plural = _("staff views of customers")

    def save(self, *args, **kwargs):
        raise RuntimeError("A staff view of a customer is never saved.")

    save.alters_data = True

    def can_do(self, action) -> bool:
        return False
