"""Contract requests, renewals and the end-of-contract reminders: every contract write."""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from contacts.models import Contact, Organization
from contacts.roles import Action, Module
from contacts.services import activity_record
from contracts.models import EXPIRING_WITHIN, Contract, ContractReminder, ContractRequest
from portal.emails import email_queue_rendered

logger = logging.getLogger(__name__)

# Activity verbs (contacts.ActivityEvent.verb is a CharField; the choices are listed there).
VERB_REQUESTED = "contract_request"
VERB_WITHDRAWN = "contract_request_withdrawn"

# Days before the end date on which the contract's contacts are reminded, largest first.
REMINDER_DAYS = (90, 30, 7)
assert max(REMINDER_DAYS) <= EXPIRING_WITHIN.days  # The job reads only the 90-day window.

# The moves staff may make on an open request (contract_request_update).
STAFF_STATUSES = (
    ContractRequest.Status.IN_PROGRESS,
    ContractRequest.Status.COMPLETED,
    ContractRequest.Status.DECLINED,
)


class ContractError(Exception):
    """A refused change, with a message fit for the person who asked."""


# --- Customer requests --------------------------------------------------------------------------


def contract_request_refusal(
    *, contract: Contract, kind: str, open_kinds: set[str], today: date | None = None
) -> str | None:
    """Why this request can't be raised now, or None; the page uses it to show the buttons.

    - Only running contracts: a terminated or expired contract has nothing left to renew or
      cancel (a lapsed support contract is renewed by a new quote, not a request).
    - Cancellation at term only for contracts that renew automatically: the others end on
      their end date anyway, so there is nothing to cancel.
    - One open request per kind (also a database constraint), and not a renewal and a
      cancellation at once: the customer withdraws one before asking for the other.
    """
    if kind not in ContractRequest.Kind.values:
        return _("Unknown request.")
    if contract.status == Contract.Status.TERMINATED:
        return _("This contract was terminated: it can't be renewed or cancelled any more.")
    if contract.end_date < (today or timezone.localdate()):
        return _("This contract has ended: it can't be renewed or cancelled any more.")
    if kind == ContractRequest.Kind.CANCELLATION and not contract.auto_renew:
        return _(
            "This contract does not renew automatically: it ends on its end date without "
            "a cancellation."
        )
    if kind in open_kinds:
        if kind == ContractRequest.Kind.RENEWAL:
            return _("A renewal request for this contract is already open.")
        return _("A cancellation request for this contract is already open.")
    if open_kinds:
        return _(
            "Another request for this contract is open. Withdraw it first if you changed your mind."
        )
    return None


def _open_kinds(contract: Contract) -> set[str]:
    return set(contract.requests.open().values_list("kind", flat=True))


def contract_request_create(
    *, contact: Contact, contract: Contract, kind: str, message: str = ""
) -> ContractRequest:
    """A customer asks for a renewal or a cancellation at term; staff act on it."""
    if not contact.can_do(Action.REQUEST):
        raise ContractError(_("Your role in this organization does not allow this action."))
    if contract.organization_id != contact.organization_id:
        raise ContractError(_("This contract belongs to another organization."))
    with transaction.atomic():
        # Serialises requests on one contract, so the "one open request" checks hold.
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        refusal = contract_request_refusal(
            contract=locked, kind=kind, open_kinds=_open_kinds(locked)
        )
        if refusal:
            raise ContractError(refusal)
        try:
            with transaction.atomic():
                request = ContractRequest.objects.create(
                    organization_id=locked.organization_id,
                    contract=locked,
                    kind=kind,
                    message=message.strip(),
                    requested_by=contact.user,
                )
        except IntegrityError:  # contract_request_one_open, should the lock be bypassed.
            raise ContractError(_("A request of this kind is already open.")) from None
        activity_record(
            organization=locked.organization,
            actor=contact.user,
            verb=VERB_REQUESTED,
            target=locked.number,
            data={"kind": kind, "request": str(request.public_id)},
        )
    return request


def contract_request_withdraw(*, contact: Contact, request: ContractRequest) -> ContractRequest:
    """The customer takes back a request staff have not started on."""
    if not contact.can_do(Action.REQUEST):
        raise ContractError(_("Your role in this organization does not allow this action."))
    if request.organization_id != contact.organization_id:
        raise ContractError(_("This request belongs to another organization."))
    with transaction.atomic():
        changed = ContractRequest.objects.filter(
            pk=request.pk, status=ContractRequest.Status.SUBMITTED
        ).update(status=ContractRequest.Status.WITHDRAWN, updated_at=timezone.now())
        if not changed:
            raise ContractError(
                _("This request can no longer be withdrawn: only new requests can be.")
            )
        request.refresh_from_db()
        activity_record(
            organization=contact.organization,
            actor=contact.user,
            verb=VERB_WITHDRAWN,
            target=request.contract.number,
            data={"kind": request.kind, "request": str(request.public_id)},
        )
    return request


def contract_request_update(
    *, request: ContractRequest, status: str, staff_note: str
) -> ContractRequest:
    """Staff move an open request on (in progress, completed, declined) with a note."""
    if status not in STAFF_STATUSES:
        raise ContractError(_("Choose in progress, completed or declined."))
    with transaction.atomic():
        locked = ContractRequest.objects.select_for_update().get(pk=request.pk)
        if not locked.is_open:
            raise ContractError(_("This request is closed: it can't be changed any more."))
        if status == ContractRequest.Status.DECLINED and not staff_note.strip():
            raise ContractError(_("Explain to the customer why the request is declined."))
        locked.status = status
        locked.staff_note = staff_note.strip()
        locked.save(update_fields=["status", "staff_note", "updated_at"])
    return locked


# --- Renewal ------------------------------------------------------------------------------------


def contract_renew(*, contract: Contract, new_end_date: date, paid_order=None) -> Contract:
    """Extend the contract to `new_end_date` (a paid renewal quote, or staff); idempotent.

    Renewing to the end date it already has changes nothing, so a payment delivered twice
    renews once — provided the caller passes a fixed date (from the quote's term), not one
    computed from the current end date. The renewal date keeps its distance to the end date
    (e.g. a notice period).
    Open renewal requests are completed: the customer sees the answer on the contract page.
    """
    if paid_order is not None and paid_order.contract_id != contract.pk:
        raise ContractError(_("This order does not renew this contract."))
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        if locked.status == Contract.Status.TERMINATED:
            raise ContractError(_("A terminated contract can't be renewed."))
        if new_end_date == locked.end_date:
            return locked
        if new_end_date < locked.end_date:
            raise ContractError(_("The new end date must be after the current end date."))
        if locked.renewal_date is not None:
            locked.renewal_date = new_end_date - (locked.end_date - locked.renewal_date)
        locked.end_date = new_end_date
        locked.save(update_fields=["end_date", "renewal_date"])
        with translation.override(locked.organization.language):
            note = _("Renewed until %(date)s.") % {
                "date": _date_text(new_end_date),
            }
            if paid_order is not None:
                note = _("Renewed until %(date)s with %(order)s.") % {
                    "date": _date_text(new_end_date),
                    "order": paid_order.number,
                }
        ContractRequest.objects.filter(
            contract=locked,
            kind=ContractRequest.Kind.RENEWAL,
            status__in=ContractRequest.OPEN,
        ).update(
            status=ContractRequest.Status.COMPLETED, staff_note=note, updated_at=timezone.now()
        )
    contract.refresh_from_db()
    return contract


def _date_text(day: date) -> str:
    return date_format(day, "DATE_FORMAT")


def contract_terminate(*, contract: Contract) -> Contract:
    """Staff end a contract now; it stays on the customer's page as terminated."""
    with transaction.atomic():
        changed = Contract.objects.filter(pk=contract.pk, status=Contract.Status.ACTIVE).update(
            status=Contract.Status.TERMINATED, terminated_at=timezone.now()
        )
        if not changed:
            raise ContractError(_("This contract is already terminated."))
        contract.refresh_from_db()
        # Nothing is left to ask for: open requests close with the contract, with a word why.
        with translation.override(contract.organization.language):
            note = _("The contract was terminated.")
        now = timezone.now()
        open_requests = ContractRequest.objects.filter(
            contract_id=contract.pk, status__in=ContractRequest.OPEN
        )
        open_requests.filter(kind=ContractRequest.Kind.CANCELLATION).update(
            status=ContractRequest.Status.COMPLETED, staff_note=note, updated_at=now
        )
        open_requests.filter(kind=ContractRequest.Kind.RENEWAL).update(
            status=ContractRequest.Status.DECLINED, staff_note=note, updated_at=now
        )
    return contract


# --- End-of-contract reminders ------------------------------------------------------------------


def reminder_due(*, days_left: int) -> int | None:
    """The reminder a contract `days_left` days from its end is owed: the smallest threshold
    already reached. A day the job missed still sends once; an older, larger one is skipped."""
    if days_left < 0:
        return None
    reached = [days for days in REMINDER_DAYS if days_left <= days]
    return min(reached) if reached else None


def _render_reminder(contract: Contract, days_left: int, language: str) -> dict[str, str]:
    with translation.override(language):
        context = {
            "site_url": settings.SITE_URL,
            "contract": contract,
            "organization": contract.organization,
            "days_left": days_left,
        }
        subject = render_to_string("contracts/emails/end_reminder_subject.txt", context)
        return {
            "subject": " ".join(subject.split()),
            "body_text": render_to_string("contracts/emails/end_reminder.txt", context),
            "body_html": render_to_string("contracts/emails/end_reminder.html", context),
        }


def contracts_send_end_reminders(*, today: date | None = None) -> int:
    """E-mail each active contract's contacts 90, 30 and 7 days before its end; once each.

    The ContractReminder row (unique per contract, threshold and end date) is inserted in the
    same transaction as the outbox e-mails: a second or concurrent run hits the constraint
    and skips, so each reminder is queued exactly once. A renewal moves the end date, and the
    reminders start again for the new one. Returns the number of e-mails queued.
    """
    today = today or timezone.localdate()
    contracts = list(
        Contract.objects.in_force()
        .filter(end_date__gte=today, end_date__lte=today + EXPIRING_WITHIN)
        .exclude(organization__status=Organization.Status.CLOSED)
        .select_related("organization")
        .order_by("end_date", "id")
    )
    sent = {
        (contract_id, days, end_date)
        for contract_id, days, end_date in ContractReminder.objects.filter(
            contract__in=[c.pk for c in contracts]
        ).values_list("contract_id", "days_before", "end_date")
    }
    due = []
    for contract in contracts:
        days = reminder_due(days_left=contract.days_left(today))
        if days is not None and (contract.pk, days, contract.end_date) not in sent:
            due.append((contract, days))
    if not due:
        return 0
    recipients: dict[int, list] = {}
    for contact in (
        Contact.objects.active()
        .filter(organization_id__in={contract.organization_id for contract, _days in due})
        .select_related("user")
        .order_by("user__email")
    ):
        if contact.can_see(Module.CONTRACTS) and contact.user.is_active:
            recipients.setdefault(contact.organization_id, []).append(contact.user)
    queued = 0
    for contract, days in due:
        try:
            with transaction.atomic():
                ContractReminder.objects.create(
                    contract=contract, days_before=days, end_date=contract.end_date
                )
                for user in recipients.get(contract.organization_id, []):
                    email = email_queue_rendered(
                        template="contract_end_reminder",
                        to=[user.email],
                        dedupe_key=(
                            f"contract-end:{contract.pk}:{days}:{contract.end_date}:{user.pk}"
                        ),
                        **_render_reminder(contract, contract.days_left(today), user.language),
                    )
                    queued += email is not None
        except IntegrityError:
            logger.info("Reminder %s −%sd already sent by another run.", contract, days)
    return queued
