"""The staff's customer contact log: contacts, their append-only log, characteristics,
status (a contact can serve as a case file), letters, reminders, and the cases customers'
disputes open. Every write goes through here; views, tasks and the demo call these."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from contacts.letters import letter_render
from contacts.models import (
    NO_ORGANIZATION_PRIORITY,
    CharacteristicType,
    ContactReminder,
    CustomerContact,
    CustomerContactCharacteristic,
    CustomerContactClass,
    CustomerContactLogEntry,
    CustomerContactType,
    Letter,
    Organization,
)
from invoices.exports import safe_filename
from invoices.models import Dispute, Invoice
from orders.models import Order
from portal.emails import Attachment, email_queue

logger = logging.getLogger(__name__)

Kind = CustomerContactLogEntry.Kind
Status = CustomerContact.Status

# The reference data a fresh installation starts with (also seeded by migration 0007).
DEFAULT_CONTACT_TYPES: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "billing",
        "Billing",
        [
            ("billing_question", "Billing question"),
            ("dispute", "Dispute"),
            ("payment_promise", "Payment promise"),
            ("complaint", "Complaint"),
        ],
    ),
    (
        "account",
        "Account",
        [("details_change", "Change of details"), ("cancellation", "Cancellation request")],
    ),
    (
        "service",
        "Service",
        [("service_problem", "Service problem"), ("information", "Information request")],
    ),
]
# The type of the cases customers' disputes open.
DISPUTE_CLASS = ("billing", "Billing")
DISPUTE_TYPE = ("dispute", "Dispute")
REMINDERS_PER_RUN = 500
DISPUTES_PER_RUN = 500
STATISTICS_MONTHS = 12


class CaseworkError(Exception):
    """A refused change, with a message fit for the staff member who asked."""


# --- Reference data ---------------------------------------------------------------------------


def contact_types_ensure() -> None:
    """Create the default classes and types that are missing; existing ones stay as staff
    edited them."""
    for class_code, class_label, types in DEFAULT_CONTACT_TYPES:
        contact_class, _created = CustomerContactClass.objects.get_or_create(
            code=class_code, defaults={"label": class_label}
        )
        for code, label in types:
            CustomerContactType.objects.get_or_create(
                contact_class=contact_class, code=code, defaults={"label": label}
            )


def dispute_contact_type() -> CustomerContactType:
    contact_class, _created = CustomerContactClass.objects.get_or_create(
        code=DISPUTE_CLASS[0], defaults={"label": DISPUTE_CLASS[1]}
    )
    contact_type, _created = CustomerContactType.objects.get_or_create(
        contact_class=contact_class, code=DISPUTE_TYPE[0], defaults={"label": DISPUTE_TYPE[1]}
    )
    return contact_type


# --- Contacts -----------------------------------------------------------------------------------


def person_organizations(person: User) -> list[Organization]:
    """The organizations a person belongs to now (active memberships), by name."""
    return list(
        Organization.objects.filter(contacts__user=person, contacts__removed_at__isnull=True)
        .distinct()
        .order_by("name", "pk")
    )


def _log(
    contact: CustomerContact,
    *,
    author: User | None,
    kind: str = Kind.NOTE,
    text: str = "",
    data: dict | None = None,
) -> CustomerContactLogEntry:
    return CustomerContactLogEntry.objects.create(
        contact=contact, author=author, kind=kind, text=text, data=data or {}
    )


def _check_staff(user: User | None, *, allow_none: bool = True) -> None:
    if user is None:
        if not allow_none:
            raise CaseworkError(_("Choose a staff member."))
        return
    if not (user.is_staff and user.is_active):
        raise CaseworkError(_("Only active staff members can be assigned."))


def _check_links(
    organizations: list[Organization],
    invoice: Invoice | None,
    dispute: Dispute | None,
    order: Order | None,
) -> None:
    allowed = {organization.pk for organization in organizations}
    for record, message in (
        (invoice, _("Invoice %(ref)s belongs to another organization.")),
        (dispute, _("The dispute on %(ref)s belongs to another organization.")),
        (order, _("Order %(ref)s belongs to another organization.")),
    ):
        if record is not None and record.organization_id not in allowed:
            ref = record.invoice.number if isinstance(record, Dispute) else record.number
            raise CaseworkError(message % {"ref": ref})
    if dispute is not None and invoice is not None and dispute.invoice_id != invoice.pk:
        raise CaseworkError(_("The dispute is about another invoice."))


def customer_contact_create(
    *,
    person: User,
    contact_type: CustomerContactType,
    channel: str,
    staff_user: User,
    contacted_at: datetime | None = None,
    organizations: list[Organization] | None = None,
    assigned_to: User | None = None,
    notes: str = "",
    invoice: Invoice | None = None,
    dispute: Dispute | None = None,
    order: Order | None = None,
) -> CustomerContact:
    """Log that a person got in touch; organizations default to all they belong to now."""
    if not contact_type.is_active or not contact_type.contact_class.is_active:
        raise CaseworkError(_("This contact type is no longer in use."))
    if channel not in CustomerContact.Channel.values:
        raise CaseworkError(_("Unknown channel."))
    now = timezone.now()
    contacted_at = contacted_at or now
    if contacted_at > now + timedelta(minutes=5):
        raise CaseworkError(_("A contact can't be logged in the future."))
    _check_staff(assigned_to)
    current = person_organizations(person)
    if organizations is None:
        organizations = current
    else:
        organizations = list(organizations)
        current_ids = {organization.pk for organization in current}
        if any(organization.pk not in current_ids for organization in organizations):
            raise CaseworkError(_("The person doesn't belong to that organization."))
    if invoice is None and dispute is not None:
        invoice = dispute.invoice
    _check_links(organizations, invoice, dispute, order)
    with transaction.atomic():
        contact = CustomerContact.objects.create(
            person=person,
            contact_class=contact_type.contact_class,
            contact_type=contact_type,
            channel=channel,
            contacted_at=contacted_at,
            assigned_to=assigned_to,
            notes=notes.strip(),
            invoice=invoice,
            dispute=dispute,
            order=order,
            created_by=staff_user,
        )
        contact.organizations.set(organizations)
    return contact


def _lock(contact: CustomerContact) -> CustomerContact:
    """The contact's row, locked: writes to one contact happen one at a time."""
    return CustomerContact.objects.select_for_update().get(pk=contact.pk)


def contact_log_append(
    *, contact: CustomerContact, author: User, text: str
) -> CustomerContactLogEntry:
    """Append a note to the contact's log; the log is never edited."""
    text = (text or "").strip()
    if not text:
        raise CaseworkError(_("Write something to add to the log."))
    with transaction.atomic():
        locked = _lock(contact)
        if locked.is_closed:
            raise CaseworkError(_("This case is closed. Reopen it to add to its log."))
        return _log(locked, author=author, text=text)


def contact_status_change(
    *, contact: CustomerContact, status: str, staff_user: User, note: str = ""
) -> CustomerContact:
    """Open, pend or close a case; every change (closing included) is logged."""
    if status not in Status.values:
        raise CaseworkError(_("Unknown status."))
    with transaction.atomic():
        locked = _lock(contact)
        if locked.status == status:
            raise CaseworkError(
                _("The case is already “%(status)s”.") % {"status": Status(status).label}
            )
        previous = locked.status
        locked.status = status
        locked.closed_at = timezone.now() if status == Status.CLOSED else None
        locked.save(update_fields=["status", "closed_at"])
        _log(
            locked,
            author=staff_user,
            kind=Kind.STATUS_CHANGED,
            text=(note or "").strip(),
            data={"from": previous, "to": status},
        )
    return locked


def contact_assign(
    *, contact: CustomerContact, assigned_to: User | None, staff_user: User
) -> CustomerContact:
    """Hand the case to a staff member (or to nobody)."""
    _check_staff(assigned_to)
    with transaction.atomic():
        locked = _lock(contact)
        if locked.assigned_to_id == (assigned_to.pk if assigned_to else None):
            raise CaseworkError(_("Nothing changed."))
        locked.assigned_to = assigned_to
        locked.save(update_fields=["assigned_to"])
        _log(
            locked,
            author=staff_user,
            kind=Kind.ASSIGNED,
            data={"to": assigned_to.email if assigned_to else ""},
        )
    return locked


def contact_characteristic_set(
    *,
    contact: CustomerContact,
    characteristic_type: CharacteristicType,
    value,
    staff_user: User,
) -> CustomerContactCharacteristic:
    """Set (or replace) one typed value; the value is checked against its type."""
    if not characteristic_type.is_active:
        raise CaseworkError(_("This characteristic is no longer in use."))
    try:
        cleaned = characteristic_type.clean_value(value)
    except ValidationError as error:
        raise CaseworkError(" ".join(error.messages)) from None
    with transaction.atomic():
        locked = _lock(contact)
        if locked.is_closed:
            raise CaseworkError(_("This case is closed. Reopen it to change it."))
        existing = CustomerContactCharacteristic.objects.filter(
            contact=locked, characteristic_type=characteristic_type
        ).first()
        if existing is not None and existing.value == cleaned:
            return existing
        previous = existing.value if existing is not None else ""
        if existing is None:
            existing = CustomerContactCharacteristic(
                contact=locked, characteristic_type=characteristic_type
            )
        existing.value, existing.set_by, existing.set_at = cleaned, staff_user, timezone.now()
        existing.save()
        _log(
            locked,
            author=staff_user,
            kind=Kind.CHARACTERISTIC_SET,
            data={
                "code": characteristic_type.code,
                "label": characteristic_type.label,
                "from": characteristic_type.display_value(previous) if previous else "",
                "to": characteristic_type.display_value(cleaned),
            },
        )
    return existing


# --- Letters ------------------------------------------------------------------------------------


def letter_generate(*, contact: CustomerContact, template: str, staff_user: User) -> Letter:
    """Render a letter in the person's language and keep the PDF with the contact."""
    if template not in Letter.Template.values:
        raise CaseworkError(_("Unknown letter."))
    contact = (
        CustomerContact.objects.select_related("person", "invoice__organization", "dispute__line")
        .prefetch_related("organizations")
        .get(pk=contact.pk)
    )
    language = contact.person.language or settings.LANGUAGE_CODE
    # Rendering takes a moment: outside the transaction, which then only stores the result.
    pdf = letter_render(contact=contact, template=template, language=language)
    with transaction.atomic():
        letter = Letter.objects.create(
            contact=contact,
            template=template,
            language=language,
            pdf=pdf,
            created_by=staff_user,
        )
        _log(
            contact,
            author=staff_user,
            kind=Kind.LETTER_GENERATED,
            data={"template": template, "letter": str(letter.public_id), "language": language},
        )
    return letter


def letter_email(*, letter: Letter, staff_user: User | None = None) -> Letter:
    """E-mail the letter to the person, once (the claim on emailed_at decides)."""
    letter = Letter.objects.select_related("contact__person").get(pk=letter.pk)
    person = letter.contact.person
    with transaction.atomic():
        now = timezone.now()
        claimed = Letter.objects.filter(pk=letter.pk, emailed_at__isnull=True).update(
            emailed_at=now, emailed_to=person.email
        )
        if not claimed:
            raise CaseworkError(_("This letter was already e-mailed."))
        letter.emailed_at, letter.emailed_to = now, person.email
        email_queue(
            template="casework_letter",
            to=[person.email],
            language=letter.language,
            context={"person": person, "letter": letter},
            dedupe_key=f"casework-letter:{letter.public_id}",
            attachments=(
                Attachment(
                    filename=safe_filename(letter.filename_stem, "pdf"),
                    content=bytes(letter.pdf),
                    mimetype="application/pdf",
                ),
            ),
        )
        _log(
            letter.contact,
            author=staff_user,
            kind=Kind.LETTER_EMAILED,
            data={
                "template": letter.template,
                "letter": str(letter.public_id),
                "email": person.email,
            },
        )
    return letter


# --- Reminders ----------------------------------------------------------------------------------


def _reminder_data(reminder: ContactReminder) -> dict:
    return {
        "reminder": str(reminder.public_id),
        "due": reminder.due_at.isoformat(),
        "assigned_to": reminder.assigned_to.email,
    }


def reminder_create(
    *,
    contact: CustomerContact,
    due_at: datetime,
    assigned_to: User,
    staff_user: User,
    note: str = "",
) -> ContactReminder:
    """A dated follow-up; the beat job e-mails it to the assigned staff member when due."""
    _check_staff(assigned_to, allow_none=False)
    with transaction.atomic():
        locked = _lock(contact)
        if locked.is_closed:
            raise CaseworkError(_("This case is closed. Reopen it to add a reminder."))
        reminder = ContactReminder.objects.create(
            contact=locked,
            due_at=due_at,
            assigned_to=assigned_to,
            note=(note or "").strip(),
            created_by=staff_user,
        )
        _log(locked, author=staff_user, kind=Kind.REMINDER_CREATED, data=_reminder_data(reminder))
    return reminder


def reminder_cancel(*, reminder: ContactReminder, staff_user: User) -> ContactReminder:
    """Cancel a reminder that has not been raised yet."""
    with transaction.atomic():
        now = timezone.now()
        claimed = ContactReminder.objects.pending().filter(pk=reminder.pk).update(cancelled_at=now)
        if not claimed:
            raise CaseworkError(_("This reminder was already raised or cancelled."))
        reminder = ContactReminder.objects.select_related("contact", "assigned_to").get(
            pk=reminder.pk
        )
        _log(
            reminder.contact,
            author=staff_user,
            kind=Kind.REMINDER_CANCELLED,
            data=_reminder_data(reminder),
        )
    return reminder


def _contact_url(contact: CustomerContact) -> str:
    path = reverse("contact_log:detail", kwargs={"customer_contact_id": contact.public_id})
    return settings.SITE_URL.rstrip("/") + path


def contact_reminders_raise(*, now: datetime | None = None, limit: int = REMINDERS_PER_RUN) -> int:
    """E-mail every due reminder to its staff member, exactly once; returns how many.

    Each reminder is claimed with a compare-and-set on `raised_at IS NULL`: a second run, or
    a concurrent one, finds nothing left to claim. The e-mail's dedupe key backs that up.
    """
    now = now or timezone.now()
    due = list(
        ContactReminder.objects.due(now)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    raised = 0
    for pk in due:
        with transaction.atomic():
            if not ContactReminder.objects.pending().filter(pk=pk).update(raised_at=now):
                continue  # Cancelled meanwhile, or another run claimed it.
            reminder = ContactReminder.objects.select_related(
                "assigned_to", "contact__person", "contact__contact_class", "contact__contact_type"
            ).get(pk=pk)
            staff = reminder.assigned_to
            email_queue(
                template="casework_reminder",
                to=[staff.email],
                language=staff.language or settings.LANGUAGE_CODE,
                context={
                    "reminder": reminder,
                    "contact": reminder.contact,
                    "url": _contact_url(reminder.contact),
                },
                dedupe_key=f"casework-reminder:{reminder.public_id}",
            )
            _log(
                reminder.contact,
                author=None,
                kind=Kind.REMINDER_RAISED,
                data=_reminder_data(reminder),
            )
            raised += 1
    return raised


# --- Disputes become cases ----------------------------------------------------------------------


def dispute_to_case(*, dispute: Dispute) -> CustomerContact:
    """The case a customer's dispute opens: Billing / dispute, linked to the invoice and the
    dispute, attached to the person who disputed. Once per dispute, however often it runs."""
    existing = CustomerContact.objects.filter(
        dispute=dispute, source=CustomerContact.Source.DISPUTE
    ).first()
    if existing is not None:
        return existing
    dispute = Dispute.objects.select_related("invoice", "line", "opened_by").get(pk=dispute.pk)
    contact_type = dispute_contact_type()
    resolved = not dispute.is_unresolved
    try:
        with transaction.atomic():
            contact = CustomerContact.objects.create(
                person=dispute.opened_by,
                contact_class=contact_type.contact_class,
                contact_type=contact_type,
                channel=CustomerContact.Channel.PORTAL,
                contacted_at=dispute.opened_at,
                # Disputes resolved before their case existed (backfill) arrive closed.
                status=Status.CLOSED if resolved else Status.OPEN,
                closed_at=(dispute.resolved_at or timezone.now()) if resolved else None,
                notes=dispute.message,
                invoice=dispute.invoice,
                dispute=dispute,
                source=CustomerContact.Source.DISPUTE,
            )
            contact.organizations.set([dispute.organization_id])
            _log(
                contact,
                author=dispute.opened_by,
                kind=Kind.OPENED_FROM_DISPUTE,
                data={
                    "invoice": dispute.invoice.number,
                    "line": dispute.line.position,
                    "reason": dispute.reason,
                    "amount": str(dispute.amount),
                    "currency": dispute.invoice.currency,
                },
            )
    except IntegrityError:
        # A concurrent run opened it first (custcontact_one_case_per_dispute).
        return CustomerContact.objects.get(dispute=dispute, source=CustomerContact.Source.DISPUTE)
    return contact


def disputes_without_case():
    cases = CustomerContact.objects.filter(
        dispute=OuterRef("pk"), source=CustomerContact.Source.DISPUTE
    )
    return Dispute.objects.filter(~Exists(cases))


def disputes_to_cases(*, limit: int = DISPUTES_PER_RUN) -> int:
    """Backfill: open the case of every dispute that has none yet; returns how many."""
    pending = list(disputes_without_case().order_by("opened_at", "id")[:limit])
    for dispute in pending:
        dispute_to_case(dispute=dispute)
    return len(pending)


# --- Reading ------------------------------------------------------------------------------------


def recent_contacts_for_organization(
    organization: Organization, limit: int = 10
) -> list[CustomerContact]:
    """The organization's latest customer contacts, for the customer 360 page (one query)."""
    return list(
        CustomerContact.objects.filter(organizations=organization)
        .select_related("person", "contact_class", "contact_type", "assigned_to", "invoice")
        .order_by("-contacted_at", "-id")[:limit]
    )


def bar_width(value: int, maximum: int) -> int:
    """A CSS width bucket (0, 5, 10 … 100) for a bar; a non-zero value shows at least 5."""
    if value <= 0 or maximum <= 0:
        return 0
    return min(100, max(5, round(value * 20 / maximum) * 5))


def _month_starts(today: date, months: int) -> list[date]:
    starts, year, month = [], today.year, today.month
    for _i in range(months):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(starts))


@dataclass
class TypeRow:
    label: str
    counts: list[int]
    total: int = 0


@dataclass
class Statistics:
    months: list[date]
    month_totals: list[dict] = field(default_factory=list)
    types: list[TypeRow] = field(default_factory=list)
    open_by_rank: list[dict] = field(default_factory=list)
    total: int = 0
    open_total: int = 0


def contact_statistics(*, today: date | None = None, months: int = STATISTICS_MONTHS) -> Statistics:
    """Contacts per type per month (last `months` months) and unclosed cases per rank, in two
    aggregate queries."""
    from customers.models import RANK_PRIORITY

    today = today or timezone.localdate()
    starts = _month_starts(today, months)
    since = timezone.make_aware(datetime.combine(starts[0], datetime.min.time()))
    rows = (
        CustomerContact.objects.filter(contacted_at__gte=since)
        .annotate(month=TruncMonth("contacted_at"))
        .values("month", "contact_type_id", "contact_type__label", "contact_class__label")
        .annotate(count=Count("id"))
        .order_by("contact_class__label", "contact_type__label")
    )
    index = {start: position for position, start in enumerate(starts)}
    types: dict[int, TypeRow] = {}
    per_month = [0] * len(starts)
    for row in rows:
        month = row["month"]
        month = timezone.localtime(month).date() if isinstance(month, datetime) else month
        position = index.get(month.replace(day=1))
        if position is None:
            continue
        type_row = types.setdefault(
            row["contact_type_id"],
            TypeRow(
                label=f"{row['contact_class__label']} · {row['contact_type__label']}",
                counts=[0] * len(starts),
            ),
        )
        type_row.counts[position] += row["count"]
        type_row.total += row["count"]
        per_month[position] += row["count"]
    peak = max(per_month, default=0)
    statistics = Statistics(
        months=starts,
        month_totals=[
            {"month": start, "count": count, "width": bar_width(count, peak)}
            for start, count in zip(starts, per_month, strict=True)
        ],
        types=list(types.values()),
        total=sum(per_month),
    )

    by_priority = {
        row["priority"]: row["count"]
        for row in CustomerContact.objects.unclosed()
        .with_priority()
        .values("priority")
        .annotate(count=Count("id"))
        .order_by()
    }
    ranks = sorted(RANK_PRIORITY.items(), key=lambda item: item[1])
    buckets = [(str(Organization.Rank(rank).label), priority) for rank, priority in ranks]
    buckets.append((_("No organization"), NO_ORGANIZATION_PRIORITY))
    rank_peak = max(by_priority.values(), default=0)
    statistics.open_by_rank = [
        {
            "label": label,
            "count": by_priority.get(priority, 0),
            "width": bar_width(by_priority.get(priority, 0), rank_peak),
        }
        for label, priority in buckets
    ]
    statistics.open_total = sum(by_priority.values())
    return statistics
