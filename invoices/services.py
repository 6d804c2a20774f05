"""Invoice totals, status and the overdue job: the only code that writes invoice money."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contacts.models import ActivityEvent, Contact, Organization
from contacts.roles import Role
from contacts.services import activity_record
from invoices.models import (
    ZERO,
    Dispute,
    Invoice,
    InvoiceAdjustment,
    InvoiceLine,
    InvoiceStatus,
    InvoiceStatusChange,
)
from portal.emails import email_queue
from portal.money import quantize


class InvoiceError(Exception):
    """A refused change, with a message fit for the person who asked."""


@dataclass(frozen=True)
class LineData:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = ZERO
    period_start: date | None = None
    period_end: date | None = None
    reference: str = ""
    subscription_id: int | None = None


def _status_for(*, balance: Decimal, due_date: date, today: date) -> str:
    if balance <= 0:
        return InvoiceStatus.CLOSED
    return InvoiceStatus.OVERDUE if due_date < today else InvoiceStatus.OPEN


def invoice_create(
    *,
    organization: Organization,
    number: str,
    issue_date: date,
    due_date: date,
    currency: str,
    lines: list[LineData],
) -> Invoice:
    """Issue an invoice with its lines; totals and status computed here, once."""
    if not lines:
        raise InvoiceError(_("An invoice needs at least one line."))
    if due_date < issue_date:
        raise InvoiceError(_("The due date can't be before the issue date."))
    with transaction.atomic():
        invoice = Invoice.objects.create(
            organization=organization,
            number=number,
            issue_date=issue_date,
            due_date=due_date,
            currency=currency,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=line.description,
                period_start=line.period_start,
                period_end=line.period_end,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                amount=quantize(line.quantity * line.unit_price, currency),
                tax_amount=quantize(
                    quantize(line.quantity * line.unit_price, currency) * line.tax_rate / 100,
                    currency,
                ),
                reference=line.reference,
                subscription_id=line.subscription_id,
            )
            for position, line in enumerate(lines, start=1)
        )
        invoice_recalculate(invoice=invoice, reason=InvoiceStatusChange.Reason.ISSUED)
    return invoice


def invoice_recalculate(
    *,
    invoice: Invoice,
    reason: str = InvoiceStatusChange.Reason.RECALCULATED,
    today: date | None = None,
) -> Invoice:
    """Recompute stored totals and status from lines and adjustments; record a transition."""
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        lines = locked.lines.aggregate(net=Sum("amount"), tax=Sum("tax_amount"))
        sums = dict(
            locked.adjustments.values("kind")
            .annotate(total=Sum("amount"))
            .values_list("kind", "total")
        )
        subtotal, tax = lines["net"] or ZERO, lines["tax"] or ZERO
        paid = sums.get(InvoiceAdjustment.Kind.PAYMENT, ZERO) - sums.get(
            InvoiceAdjustment.Kind.REFUND, ZERO
        )
        credits = sums.get(InvoiceAdjustment.Kind.CREDIT, ZERO)
        total = subtotal + tax
        balance = total - paid - credits
        status = _status_for(balance=balance, due_date=locked.due_date, today=today)
        previous = "" if reason == InvoiceStatusChange.Reason.ISSUED else locked.status
        locked.subtotal, locked.tax_total, locked.total = subtotal, tax, total
        locked.amount_paid, locked.credits_applied, locked.balance = paid, credits, balance
        locked.status = status
        locked.save(
            update_fields=[
                "subtotal",
                "tax_total",
                "total",
                "amount_paid",
                "credits_applied",
                "balance",
                "status",
            ]
        )
        if status != previous:
            InvoiceStatusChange.objects.create(
                invoice=locked, from_status=previous, to_status=status, reason=reason
            )
    invoice.refresh_from_db()
    return invoice


def invoice_apply_adjustment(
    *,
    invoice: Invoice,
    kind: str,
    amount: Decimal,
    reference: str = "",
    note: str = "",
    idempotency_key: str | None = None,
) -> InvoiceAdjustment | None:
    """Apply a payment, refund or credit exactly once; None if the key was applied before.

    Payments and credits can never exceed the balance; refunds never exceed what was paid.
    """
    amount = quantize(amount, invoice.currency)
    if amount <= 0:
        raise InvoiceError(_("The amount must be greater than zero."))
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if (
            idempotency_key
            and InvoiceAdjustment.objects.filter(idempotency_key=idempotency_key).exists()
        ):
            return None
        if kind == InvoiceAdjustment.Kind.REFUND:
            if amount > locked.amount_paid:
                raise InvoiceError(_("A refund can't exceed what was paid."))
        elif amount > locked.balance:
            raise InvoiceError(
                _("%(number)s has only %(balance)s left to pay.")
                % {"number": locked.number, "balance": locked.balance}
            )
        try:
            with transaction.atomic():
                adjustment = InvoiceAdjustment.objects.create(
                    invoice=locked,
                    kind=kind,
                    amount=amount,
                    reference=reference,
                    note=note,
                    idempotency_key=idempotency_key,
                )
        except IntegrityError:
            return None
        invoice_recalculate(invoice=locked)
    invoice.refresh_from_db()
    return adjustment


# --- The overdue job ------------------------------------------------------------------------

_FLIP_SQL = """
WITH batch AS (
    SELECT id, due_date FROM {invoice}
    WHERE status = %(from_status)s AND balance > 0 AND due_date {comparison} %(today)s
      AND (due_date, id) > (%(after_due)s, %(after_id)s)
    ORDER BY due_date, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), flipped AS (
    UPDATE {invoice} AS i SET status = %(to_status)s
    WHERE i.id = ANY(ARRAY(SELECT id FROM batch)) AND i.status = %(from_status)s
    RETURNING i.id
), logged AS (
    INSERT INTO {history} (invoice_id, from_status, to_status, reason, changed_at)
    SELECT id, %(from_status)s, %(to_status)s, %(reason)s, %(now)s FROM flipped
    RETURNING 1
)
SELECT (SELECT count(*) FROM logged), (SELECT count(*) FROM batch), due_date, id
FROM batch ORDER BY due_date DESC, id DESC LIMIT 1
"""
# Keyset start: before any real (due_date, id).
_FIRST_KEY = (date(1, 1, 1), 0)


def _flip_batch(
    *, from_status, to_status, comparison, reason, today, limit, after
) -> tuple[int, int, tuple | None]:
    """One batch: (flipped, selected, last key). Each batch reads only its own slice."""
    sql = _FLIP_SQL.format(
        invoice=Invoice._meta.db_table,
        history=InvoiceStatusChange._meta.db_table,
        comparison=comparison,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "from_status": from_status,
                "to_status": to_status,
                "today": today,
                "limit": limit,
                "reason": reason,
                "now": timezone.now(),
                "after_due": after[0],
                "after_id": after[1],
            },
        )
        row = cursor.fetchone()
    if row is None:
        return 0, 0, None
    flipped, selected, last_due, last_id = row
    return flipped, selected, (last_due, last_id)


def invoices_recalculate_overdue(
    *, today: date | None = None, batch_size: int = 5000, max_batches: int | None = None
) -> dict[str, int]:
    """Open → Overdue past the due date, Overdue → Open if it moved; set-based, batched.

    Batches walk the due-date index by key, so each reads only its own slice. Concurrent
    runs skip each other's locked rows, and the status guard makes a second run find
    nothing: each transition is written (and later e-mailed) exactly once.
    """
    today = today or timezone.localdate()
    counts = {"overdue": 0, "reopened": 0}
    for key, from_status, to_status, comparison, reason in (
        (
            "overdue",
            InvoiceStatus.OPEN,
            InvoiceStatus.OVERDUE,
            "<",
            InvoiceStatusChange.Reason.DUE_DATE_PASSED,
        ),
        (
            "reopened",
            InvoiceStatus.OVERDUE,
            InvoiceStatus.OPEN,
            ">=",
            InvoiceStatusChange.Reason.DUE_DATE_MOVED,
        ),
    ):
        batches, after = 0, _FIRST_KEY
        while max_batches is None or batches < max_batches:
            flipped, selected, after = _flip_batch(
                from_status=from_status,
                to_status=to_status,
                comparison=comparison,
                reason=reason,
                today=today,
                limit=batch_size,
                after=after,
            )
            counts[key] += flipped
            batches += 1
            if selected < batch_size:
                break  # Rows locked by a concurrent run are left for the next run.
    return counts


def invoices_notify_overdue(*, limit: int = 500) -> int:
    """Queue one "invoice overdue" e-mail per transition to each finance contact; once."""
    changes = list(
        InvoiceStatusChange.objects.filter(
            to_status=InvoiceStatus.OVERDUE, notified_at__isnull=True
        )
        .select_related("invoice__organization")
        .order_by("id")[:limit]
    )
    organizations = {change.invoice.organization_id for change in changes}
    recipients: dict[int, list] = {}
    for contact in (
        Contact.objects.with_role(Role.FINANCE)
        .filter(organization_id__in=organizations)
        .select_related("user")
    ):
        recipients.setdefault(contact.organization_id, []).append(contact.user)
    queued = 0
    for change in changes:
        with transaction.atomic():
            claimed = InvoiceStatusChange.objects.filter(
                pk=change.pk, notified_at__isnull=True
            ).update(notified_at=timezone.now())
            if not claimed:
                continue  # Another run took it.
            invoice = change.invoice
            for user in recipients.get(invoice.organization_id, []):
                email_queue(
                    template="invoice_overdue",
                    to=[user.email],
                    context={"invoice": invoice, "organization": invoice.organization},
                    language=user.language,
                    dedupe_key=f"invoice-overdue:{change.pk}:{user.pk}",
                )
                queued += 1
    return queued


# --- Disputes ---------------------------------------------------------------------------------


def dispute_open(
    *, contact: Contact, line: InvoiceLine, reason: str, message: str, amount: Decimal
) -> Dispute:
    """A customer disputes one invoice line; staff follow it up."""
    invoice = line.invoice
    amount = quantize(amount, invoice.currency)
    if amount <= 0 or amount > line.amount + line.tax_amount:
        raise InvoiceError(
            _("The disputed amount must be more than zero and at most the line's amount.")
        )
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                organization=invoice.organization,
                invoice=invoice,
                line=line,
                reason=reason,
                message=message,
                amount=amount,
                opened_by=contact.user,
            )
    except IntegrityError:
        raise InvoiceError(_("This line already has an open dispute.")) from None
    activity_record(
        organization=invoice.organization,
        actor=contact.user,
        verb=ActivityEvent.Verb.DISPUTE_OPENED,
        target=invoice.number,
        data={"line": line.position, "amount": str(amount)},
    )
    from contacts.tasks import dispute_to_case_later

    # Staff follow disputes up as cases in the customer contact log.
    transaction.on_commit(lambda: dispute_to_case_later(dispute.pk))
    return dispute


def dispute_resolve(
    *, dispute: Dispute, status: str, note: str, credit_amount: Decimal = ZERO
) -> Dispute:
    """Staff close a dispute; a credit goes through the invoice totals like any other."""
    if status not in (
        Dispute.Status.UNDER_REVIEW,
        Dispute.Status.RESOLVED_CREDIT,
        Dispute.Status.REJECTED,
    ):
        raise InvoiceError(_("Unknown dispute status."))
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().select_related("invoice").get(pk=dispute.pk)
        if not locked.is_unresolved:
            raise InvoiceError(_("This dispute is already resolved."))
        if status == Dispute.Status.RESOLVED_CREDIT:
            credit_amount = quantize(credit_amount, locked.invoice.currency)
            if credit_amount <= 0 or credit_amount > locked.amount:
                raise InvoiceError(
                    _("The credit must be more than zero and at most the disputed amount.")
                )
            invoice_apply_adjustment(
                invoice=locked.invoice,
                kind=InvoiceAdjustment.Kind.CREDIT,
                amount=credit_amount,
                reference=str(locked.public_id),
                note=_("Dispute resolved"),
                idempotency_key=f"dispute:{locked.public_id}",
            )
            locked.credit_amount = credit_amount
        locked.status, locked.resolution_note = status, note
        if status != Dispute.Status.UNDER_REVIEW:
            locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "resolution_note", "credit_amount", "resolved_at"])
    return locked


# --- E-mailing invoices -------------------------------------------------------------------------


def invoices_email_list(
    *, contact: Contact, invoice_ids: list[int], recipients: list[str], message: str
) -> None:
    """Queue the list e-mail (CSV + PDF built by a task) and log it; says so if it can't."""
    from invoices.tasks import invoices_email_list_task

    try:
        invoices_email_list_task.delay(contact.pk, invoice_ids, recipients, message)
    except Exception:
        raise InvoiceError(
            _("The e-mail could not be queued just now. Nothing was sent; please try again.")
        ) from None
    activity_record(
        organization=contact.organization,
        actor=contact.user,
        verb=ActivityEvent.Verb.INVOICES_EMAILED,
        target=", ".join(recipients),
        data={"invoices": len(invoice_ids)},
    )


def invoices_email_list_send(
    *, contact_id: int, invoice_ids: list[int], recipients: list[str], message: str
) -> None:
    """The task's work: render attachments and put the e-mail in the outbox."""
    from invoices.exports import invoices_dataset
    from invoices.pdf import invoice_list_pdf
    from portal.emails import Attachment

    contact = Contact.objects.select_related("organization", "user").get(pk=contact_id)
    invoices = list(
        Invoice.objects.visible_to(contact)
        .filter(pk__in=invoice_ids)
        .order_by("-issue_date", "-id")
    )
    language = contact.user.language
    with translation.override(language):
        csv_bytes = invoices_dataset(invoices).export("csv").encode("utf-8")
        pdf_bytes = invoice_list_pdf(invoices=invoices, organization=contact.organization)
    email_queue(
        template="invoice_list",
        to=recipients,
        reply_to=[contact.user.email],
        context={
            "invoices": invoices,
            "organization": contact.organization,
            "sender": contact.user,
            "message": message,
        },
        language=language,
        attachments=(
            Attachment("invoices.csv", csv_bytes, "text/csv"),
            Attachment("invoices.pdf", pdf_bytes, "application/pdf"),
        ),
    )


def invoice_email(
    *, contact: Contact, invoice: Invoice, recipients: list[str], message: str
) -> None:
    """E-mail one invoice with its PDF; the PDF is rendered now so nothing waits on a broker."""
    from invoices.pdf import invoice_pdf
    from portal.emails import Attachment

    email_queue(
        template="invoice_single",
        to=recipients,
        reply_to=[contact.user.email],
        context={
            "invoice": invoice,
            "organization": invoice.organization,
            "sender": contact.user,
            "message": message,
        },
        language=contact.user.language,
        attachments=(
            Attachment(f"invoice-{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf"),
        ),
    )
    activity_record(
        organization=invoice.organization,
        actor=contact.user,
        verb=ActivityEvent.Verb.INVOICE_EMAILED,
        target=invoice.number,
        data={"recipients": recipients},
    )
