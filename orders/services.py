"""Orders: import from order documents, totals, the status timeline and its e-mails."""

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from contacts.models import Contact, Organization
from contacts.roles import Module, Role
from contacts.services import ProvisionResult, organization_provision
from orders.forms import OrderDocumentForm
from orders.models import (
    Order,
    OrderContact,
    OrderLine,
    OrderStatusEvent,
    sees_only_awaiting_payment,
)
from portal.emails import email_queue
from portal.money import ZERO, quantize

CSV_COLUMNS = [
    "number",
    "kind",
    "account_number",
    "customer_name",
    "currency",
    "language",
    "order_date",
    "finance",
    "technical",
    "executive",
]
# The reason recorded for status changes that arrive with order documents.
IMPORT_REASON = "Imported"
Status = Order.Status
# The normal path: each step may only move on to the next one.
NEXT_STEP = dict(zip(Order.STEPS, Order.STEPS[1:], strict=False))


class OrderError(Exception):
    """A refused change, with a message fit for the person who asked."""


class OrderImportError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: list[str]
    unchanged: list[str]
    provisioned: list[ProvisionResult]
    status_changed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OrderLineData:
    product: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = ZERO


# --- Totals -----------------------------------------------------------------------------------


def _line_tax(amount: Decimal, tax_rate: Decimal, currency: str) -> Decimal:
    return quantize(amount * tax_rate / 100, currency)


def order_add_lines(*, order: Order, lines: list[OrderLineData]) -> Order:
    """Append lines after the existing ones and recompute the totals."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        start = locked.lines.aggregate(last=Max("position"))["last"] or 0
        OrderLine.objects.bulk_create(
            OrderLine(
                order=locked,
                position=start + index,
                product=line.product,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                amount=quantize(line.quantity * line.unit_price, locked.currency),
            )
            for index, line in enumerate(lines, start=1)
        )
        order_recalculate(order=locked)
    order.refresh_from_db()
    return order


def order_recalculate(*, order: Order) -> Order:
    """Store subtotal, tax and total from the lines: amounts and tax rounded per line."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        subtotal, tax = ZERO, ZERO
        for amount, tax_rate in locked.lines.values_list("amount", "tax_rate"):
            subtotal += amount
            tax += _line_tax(amount, tax_rate, locked.currency)
        locked.subtotal = quantize(subtotal, locked.currency)
        locked.tax_total = quantize(tax, locked.currency)
        locked.total = locked.subtotal + locked.tax_total
        locked.save(update_fields=["subtotal", "tax_total", "total"])
    order.subtotal, order.tax_total, order.total = locked.subtotal, locked.tax_total, locked.total
    return order


# --- Creating orders --------------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    return min(timezone.make_aware(datetime.combine(day, time.min)), timezone.now())


def order_timeline_start(*, order: Order) -> OrderStatusEvent | None:
    """Record the first step (submitted, on the order date) if the order has no events yet."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.events.exists():
            return None
        return OrderStatusEvent.objects.create(
            order=locked, status=Status.SUBMITTED, changed_at=_start_of(locked.order_date)
        )


def order_create(
    *,
    organization: Organization,
    number: str,
    order_date: date,
    currency: str,
    kind: str = Order.Kind.ORDER,
    lines: Sequence[OrderLineData] = (),
    payment_status: str = Order.PaymentStatus.NOT_DUE,
    status: str = Status.SUBMITTED,
    reason: str = IMPORT_REASON,
    contacts_by_role: dict[str, list[str]] | None = None,
) -> Order:
    """Store an order with its lines, totals, contacts and first timeline step.

    An order that arrives further along (a document exported later) records its status as a
    second event with `reason`; no e-mail, as nothing changed for the customer yet.
    """
    with transaction.atomic():
        order = Order.objects.create(
            number=number,
            kind=kind,
            organization=organization,
            order_date=order_date,
            currency=currency,
            status=status,
            payment_status=payment_status,
        )
        OrderContact.objects.bulk_create(
            OrderContact(order=order, role=role, email=email)
            for role in Role.values
            for email in dict.fromkeys((contacts_by_role or {}).get(role) or [])
        )
        if lines:
            order_add_lines(order=order, lines=list(lines))
        order_timeline_start(order=order)
        if status != Status.SUBMITTED:
            OrderStatusEvent.objects.create(order=order, status=status, reason=reason)
    return order


# --- The status timeline ----------------------------------------------------------------------


def order_status_before_hold(*, order: Order) -> str:
    """Where an order on hold resumes: the last status it had that was not on hold."""
    return (
        order.events.exclude(status=Status.ON_HOLD)
        .order_by("-changed_at", "-id")
        .values_list("status", flat=True)
        .first()
        or Status.SUBMITTED
    )


def order_allowed_statuses(*, order: Order) -> list[str]:
    """The statuses the order may move to now, in the order staff would pick them."""
    if order.status in Order.FINAL:
        return []
    if order.status == Status.ON_HOLD:
        return [order_status_before_hold(order=order), Status.CANCELLED]
    return [s for s in (NEXT_STEP.get(order.status), Status.ON_HOLD, Status.CANCELLED) if s]


def _refusal(order: Order, status: str, allowed: list[str]) -> str:
    if status not in Status.values:
        return _("“%(status)s” is not an order status.") % {"status": status}
    names = {"number": order.number, "current": order.get_status_display()}
    if not allowed:
        return _("Order %(number)s is %(current)s; its status can no longer change.") % names
    if status == order.status:
        return _("Order %(number)s is already %(current)s.") % names
    return _(
        "Order %(number)s can't move from %(current)s to %(new)s; it can move to: %(allowed)s."
    ) % {
        **names,
        "new": Status(status).label,
        "allowed": ", ".join(str(Status(s).label) for s in allowed),
    }


def order_check_status_change(*, order: Order, status: str) -> None:
    """Raise OrderError unless the order may move to `status` now."""
    allowed = order_allowed_statuses(order=order)
    if status not in allowed:
        raise OrderError(_refusal(order, status, allowed))


def order_change_status(
    *,
    order: Order,
    status: str,
    changed_by: User | None,
    reason: str,
    changed_at: datetime | None = None,
) -> OrderStatusEvent:
    """Move an order along its timeline, record who and why, and e-mail who opted in."""
    reason = (reason or "").strip()
    if not reason:
        raise OrderError(_("Give a reason for the change."))
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",))
            .select_related("organization")
            .get(pk=order.pk)
        )
        order_check_status_change(order=locked, status=status)
        event = OrderStatusEvent.objects.create(
            order=locked,
            status=status,
            changed_by=changed_by,
            reason=reason[:255],
            changed_at=changed_at or timezone.now(),
        )
        locked.status = status
        updated = ["status"]
        if status == Status.CANCELLED and locked.is_awaiting_payment:
            # Nothing is left to pay for a cancelled order.
            locked.payment_status = Order.PaymentStatus.NOT_DUE
            updated.append("payment_status")
        locked.save(update_fields=updated)
        order_status_notify(event=event, order=locked)
    order.status, order.payment_status = locked.status, locked.payment_status
    return event


def _recipients(order: Order) -> list[Contact]:
    """Active contacts who opted into order e-mails and may see this order."""
    contacts = (
        Contact.objects.active()
        .filter(organization_id=order.organization_id, notify_order_updates=True)
        .filter(user__is_active=True)
        .select_related("user")
        .order_by("pk")
    )
    return [
        contact
        for contact in contacts
        if contact.can_see(Module.ORDERS)
        and (order.is_awaiting_payment or not sees_only_awaiting_payment(contact))
    ]


def order_status_notify(*, event: OrderStatusEvent, order: Order) -> int:
    """Queue one e-mail per opted-in contact for a status change; never twice for an event."""
    claimed = OrderStatusEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return 0
    queued = 0
    for contact in _recipients(order):
        user = contact.user
        email = email_queue(
            template="order_status_changed",
            to=[user.email],
            context={"order": order, "event": event, "organization": order.organization},
            language=user.language or order.organization.language,
            dedupe_key=f"order-status:{event.pk}:{user.pk}",
        )
        queued += email is not None
    return queued


def order_notifications_set(*, contact: Contact, enabled: bool) -> Contact:
    """A contact's own choice to get an e-mail whenever one of their orders changes status."""
    if contact.notify_order_updates != enabled:
        contact.notify_order_updates = enabled
        contact.save(update_fields=["notify_order_updates"])
    return contact


# --- Import from order documents --------------------------------------------------------------


def order_documents_parse(*, content: str, file_format: str) -> list[tuple[int, dict]]:
    """(line number, raw row) pairs from a JSON array or a CSV file with a header row."""
    if file_format == "json":
        try:
            # Decimal, never float, for quantities and prices.
            data = json.loads(content, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise OrderImportError(
                [
                    _("Line %(line)s: not valid JSON (%(error)s).")
                    % {"line": exc.lineno, "error": exc.msg}
                ]
            ) from None
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise OrderImportError([_("The JSON file must hold a list of order objects.")])
        rows = []
        for index, row in enumerate(data, start=1):
            flat = {k: v for k, v in row.items() if k != "contacts"}
            contacts = row.get("contacts") or {}
            if not isinstance(contacts, dict):
                contacts = {"invalid": contacts}
            flat.update({role: contacts.get(role) for role in Role.values})
            rows.append((index, flat))
        return rows
    if file_format == "csv":
        reader = csv.DictReader(io.StringIO(content))
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise OrderImportError(
                [
                    _("Line 1: missing columns: %(columns)s.")
                    % {"columns": ", ".join(sorted(missing))}
                ]
            )
        return [(reader.line_num, dict(row)) for row in reader]
    raise OrderImportError([_("Unknown file format; use .json or .csv.")])


def _validate(rows: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """Every document checked (fields, duplicates, status moves) before anything is written."""
    errors, documents, seen = [], [], set()
    for line, row in rows:
        form = OrderDocumentForm(row)
        if not form.is_valid():
            for name, messages in form.errors.items():
                label = "" if name == "__all__" else f"{name}: "
                errors.extend(f"Line {line}: {label}{message}" for message in messages)
            continue
        if form.cleaned_data["number"] in seen:
            errors.append(f"Line {line}: number: {_('appears twice in this file.')}")
        seen.add(form.cleaned_data["number"])
        documents.append((line, form.cleaned_data))
    known = {order.number: order for order in Order.objects.filter(number__in=seen)}
    for line, document in documents:
        order, status = known.get(document["number"]), document["status"]
        if order is not None and status and status != order.status:
            try:
                order_check_status_change(order=order, status=status)
            except OrderError as error:
                errors.append(f"Line {line}: status: {error}")
    if errors:
        raise OrderImportError(errors)
    if not documents:
        raise OrderImportError([_("The file holds no orders.")])
    return documents


def orders_import(*, rows: list[tuple[int, dict]]) -> ImportResult:
    """Validate every row first; import all of them, or nothing and every error by line."""
    documents = _validate(rows)
    result = ImportResult(created=[], unchanged=[], provisioned=[])
    with transaction.atomic():
        for line, document in documents:
            order, was_created = order_record(document=document)
            status = document["status"]
            if was_created:
                result.created.append(order.number)
            elif status and status != order.status:
                try:
                    order_change_status(
                        order=order, status=status, changed_by=None, reason=IMPORT_REASON
                    )
                except OrderError as error:  # Changed since validation: still all or nothing.
                    raise OrderImportError([f"Line {line}: status: {error}"]) from None
                result.status_changed.append(order.number)
            else:
                result.unchanged.append(order.number)
            result.provisioned.append(order_provision_contacts(order=order))
    return result


def order_record(*, document: dict) -> tuple[Order, bool]:
    """Store an order document once; a known number is left as it is (status aside)."""
    existing = Order.objects.filter(number=document["number"]).first()
    if existing:
        return existing, False
    organization, _created = Organization.objects.get_or_create(
        account_number=document["account_number"],
        defaults={
            "name": document["customer_name"],
            "currency": document["currency"],
            "language": document["language"],
        },
    )
    order = order_create(
        organization=organization,
        number=document["number"],
        kind=document["kind"],
        order_date=document["order_date"],
        currency=document["currency"],
        status=document.get("status") or Status.SUBMITTED,
        payment_status=document.get("payment_status") or Order.PaymentStatus.NOT_DUE,
        lines=[OrderLineData(**line) for line in document.get("lines") or []],
        contacts_by_role={role: document.get(role) or [] for role in Role.values},
    )
    return order, True


def order_provision_contacts(*, order: Order) -> ProvisionResult:
    """Give the order's contact e-mails access to its organization (idempotent)."""
    organization = order.organization
    result = organization_provision(
        account_number=organization.account_number,
        name=organization.name,
        currency=organization.currency,
        language=organization.language,
        contacts_by_role=order.contacts_by_role(),
    )
    if order.provisioned_at is None:
        Order.objects.filter(pk=order.pk, provisioned_at__isnull=True).update(
            provisioned_at=timezone.now()
        )
    return result
