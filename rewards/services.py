"""Rewards: earning on paid invoices, redemption, reversal and expiry — the ledger's writers.

Concurrency: every change to one (organization, currency) balance runs in a transaction
holding `_lock_balance` (a PostgreSQL transaction-scoped advisory lock), and recomputes the
balance and the unspent remainders from the ledger inside it. Where an invoice is involved
its row is locked first (invoice → balance, the same order as the invoice totals service
followed by earning or reversal), so the two locks can't deadlock each other.

Rules (documented for support and the help pages):
- Earning: an invoice earns when it is closed and its payments (net of refunds) cover its
  whole total; an invoice settled partly by credits (rewards, dispute credits) earns nothing,
  so rewards never earn rewards. Each line billing a subscription whose plan has a reward
  rate earns quantize(line net amount × rate / 100), once per line.
- Rewards can be redeemed until their `expires_on` date (12 months after earning).
- Redemption: a finance contact applies rewards to any unpaid (open or overdue) invoice of
  their organization in the same currency, at most the balance and the invoice's balance.
  Redemptions use up the earned rewards that expire soonest (FIFO).
- Reversal: when a refund reopens an invoice, the rewards earned on it are taken back —
  first what is left of them, then from other unspent rewards (FIFO), never below zero; what
  was already spent and can't be recovered is written off (`RewardEntry.not_recovered`).
- Expiry: after `expires_on`, what is left of an earned entry expires, once.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.roles import Action
from contacts.services import activity_record
from invoices.models import Invoice, InvoiceAdjustment, InvoiceLine, InvoiceStatus
from invoices.services import InvoiceError, invoice_apply_adjustment
from portal.money import format_money, quantize
from rewards.models import ZERO, RewardAllocation, RewardEntry

REWARD_LIFETIME_MONTHS = 12
ACTIVITY_REDEEMED = "rewards_redeemed"  # ActivityEvent.Verb label added by contacts.


class RewardError(Exception):
    """A refused change, with a message fit for the person who asked."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.code = code


def expiry_date(earned_on: date, months: int = REWARD_LIFETIME_MONTHS) -> date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month_index = earned_on.month - 1 + months
    year, month = earned_on.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(earned_on.day, calendar.monthrange(year, month)[1]))


def currency_mismatch(invoice: Invoice, currency: str) -> str:
    return _(
        "Invoice %(number)s is in %(invoice_currency)s: %(currency)s rewards can't pay it."
    ) % {
        "number": invoice.number,
        "invoice_currency": invoice.currency,
        "currency": currency,
    }


def _lock_balance(*, organization_id: int, currency: str) -> None:
    """Serialize every change to one (organization, currency) balance until commit."""
    assert connection.in_atomic_block, "the balance lock lives as long as a transaction"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"rewards:{organization_id}:{currency}"],
        )


def ledger_balance(*, organization_id: int, currency: str) -> Decimal:
    return (
        RewardEntry.objects.filter(organization_id=organization_id, currency=currency)
        .balances()
        .get(currency, ZERO)
    )


def _plan_consumption(
    *,
    organization_id: int,
    currency: str,
    amount: Decimal,
    today: date,
    prefer: RewardEntry | None = None,
) -> list[tuple[RewardEntry, Decimal]]:
    """Which unspent, unexpired earned rewards cover up to `amount` (FIFO); the lock is held.

    The earned entry `prefer` goes first (a reversal takes back its own rewards first). The
    plan covers less than `amount` only when the rewards run out.
    """
    available = list(
        RewardEntry.objects.filter(organization_id=organization_id, currency=currency)
        .unspent()
        .filter(expires_on__gte=today)
        .order_by("expires_on", "created_at", "id")
    )
    if prefer is not None:
        available.sort(key=lambda entry: entry.pk != prefer.pk)  # Stable: the rest stay FIFO.
    plan, left = [], amount
    for entry in available:
        if left <= 0:
            break
        take = min(entry.remaining, left)
        plan.append((entry, take))
        left -= take
    return plan


def _allocate(consumer: RewardEntry, plan: list[tuple[RewardEntry, Decimal]]) -> None:
    RewardAllocation.objects.bulk_create(
        RewardAllocation(consumer=consumer, earned=earned, amount=take) for earned, take in plan
    )


def _expire_locked(*, organization_id: int, currency: str, today: date) -> list[RewardEntry]:
    """Expire what is left of earned entries past their date; the lock is held."""
    due = list(
        RewardEntry.objects.filter(organization_id=organization_id, currency=currency)
        .unspent()
        .filter(expires_on__lt=today)
        .order_by("expires_on", "id")
    )
    expired = []
    for earned in due:
        entry = RewardEntry.objects.create(
            organization_id=organization_id,
            currency=currency,
            kind=RewardEntry.Kind.EXPIRED,
            amount=-earned.remaining,
            earned_entry=earned,
            idempotency_key=f"expire:{earned.pk}",
        )
        RewardAllocation.objects.create(consumer=entry, earned=earned, amount=earned.remaining)
        expired.append(entry)
    return expired


# --- Earning and reversal ---------------------------------------------------------------------


def invoice_earns_rewards(invoice: Invoice) -> bool:
    """Closed, and paid in full by payments (not credits)."""
    return invoice.status == InvoiceStatus.CLOSED and invoice.amount_paid >= invoice.total


def _eligible_lines(invoice: Invoice):
    return (
        InvoiceLine.objects.filter(invoice=invoice, subscription__plan__reward_rate__gt=0)
        .select_related("subscription__plan")
        .order_by("position")
    )


def _unreversed_earnings():
    """Earned entries not taken back by a reversal (as a subquery on the outer row's pk)."""
    return RewardEntry.objects.earned().exclude(
        Exists(
            RewardEntry.objects.filter(earned_entry=OuterRef("pk"), kind=RewardEntry.Kind.REVERSED)
        )
    )


def rewards_earn_for_invoice(*, invoice: Invoice, today: date | None = None) -> list[RewardEntry]:
    """Earn rewards on a fully paid invoice's eligible lines; once per line (until reversed)."""
    today = today or timezone.localdate()
    created: list[RewardEntry] = []
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if not invoice_earns_rewards(locked):
            return []
        lines = list(_eligible_lines(locked))
        if not lines:
            return []
        _lock_balance(organization_id=locked.organization_id, currency=locked.currency)
        earned_before: dict[int, list[RewardEntry]] = {}
        for entry in (
            RewardEntry.objects.earned()
            .filter(source_line__in=lines)
            .annotate(
                is_reversed=Exists(
                    RewardEntry.objects.filter(
                        earned_entry=OuterRef("pk"), kind=RewardEntry.Kind.REVERSED
                    )
                )
            )
        ):
            earned_before.setdefault(entry.source_line_id, []).append(entry)
        for line in lines:
            previous = earned_before.get(line.pk, [])
            if any(not entry.is_reversed for entry in previous):
                continue  # Already earned (and not taken back).
            amount = quantize(
                line.amount * line.subscription.plan.reward_rate / 100, locked.currency
            )
            if amount <= 0:
                continue
            created.append(
                RewardEntry.objects.create(
                    organization_id=locked.organization_id,
                    currency=locked.currency,
                    kind=RewardEntry.Kind.EARNED,
                    amount=amount,
                    expires_on=expiry_date(today),
                    source_invoice=locked,
                    source_line=line,
                    # A line earns again only after a refund took its rewards back.
                    idempotency_key=f"earn:{line.pk}:{len(previous)}",
                )
            )
    return created


def rewards_reverse_for_invoice(
    *, invoice: Invoice, today: date | None = None
) -> list[RewardEntry]:
    """A refund reopened the invoice: take back the rewards earned on it, once."""
    today = today or timezone.localdate()
    created: list[RewardEntry] = []
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice_earns_rewards(locked):
            return []  # Still paid in full: nothing to take back.
        to_reverse = list(_unreversed_earnings().filter(source_invoice=locked).order_by("id"))
        if not to_reverse:
            return []
        _lock_balance(organization_id=locked.organization_id, currency=locked.currency)
        _expire_locked(
            organization_id=locked.organization_id, currency=locked.currency, today=today
        )
        for earned in to_reverse:
            plan = _plan_consumption(
                organization_id=locked.organization_id,
                currency=locked.currency,
                amount=earned.amount,
                today=today,
                prefer=earned,
            )
            entry = RewardEntry.objects.create(
                organization_id=locked.organization_id,
                currency=locked.currency,
                kind=RewardEntry.Kind.REVERSED,
                amount=-sum((take for _earned, take in plan), ZERO),
                source_invoice=locked,
                source_line_id=earned.source_line_id,
                earned_entry=earned,
                idempotency_key=f"reverse:{earned.pk}",
            )
            _allocate(entry, plan)
            created.append(entry)
    return created


def rewards_earn_pending(*, today: date | None = None, limit: int = 500) -> int:
    """Beat job: earn on fully paid invoices whose eligible lines have not earned yet."""
    invoice_ids = (
        InvoiceLine.objects.filter(
            subscription__plan__reward_rate__gt=0,
            invoice__status=InvoiceStatus.CLOSED,
            invoice__amount_paid__gte=F("invoice__total"),
        )
        .exclude(Exists(_unreversed_earnings().filter(source_line=OuterRef("pk"))))
        .order_by("invoice_id")
        .values_list("invoice_id", flat=True)
        .distinct()[:limit]
    )
    count = 0
    for invoice in Invoice.objects.filter(pk__in=list(invoice_ids)):
        count += len(rewards_earn_for_invoice(invoice=invoice, today=today))
    return count


def rewards_reverse_pending(*, today: date | None = None, limit: int = 500) -> int:
    """Safety net: reverse rewards of invoices no longer paid in full (a missed refund hook)."""
    invoice_ids = (
        _unreversed_earnings()
        .filter(source_invoice__isnull=False)
        .filter(
            ~Q(source_invoice__status=InvoiceStatus.CLOSED)
            | Q(source_invoice__amount_paid__lt=F("source_invoice__total"))
        )
        .values_list("source_invoice_id", flat=True)
        .distinct()
        .order_by("source_invoice_id")[:limit]
    )
    count = 0
    for invoice in Invoice.objects.filter(pk__in=list(invoice_ids)):
        count += len(rewards_reverse_for_invoice(invoice=invoice, today=today))
    return count


# --- Redemption ---------------------------------------------------------------------------------


def rewards_redeem(
    *,
    contact: Contact,
    invoice: Invoice,
    amount: Decimal,
    currency: str | None = None,
    token: uuid.UUID | str | None = None,
    today: date | None = None,
) -> RewardEntry:
    """Apply rewards to an unpaid invoice as a credit; once per form token; never overdraws."""
    today = today or timezone.localdate()
    if not contact.can_do(Action.REDEEM):
        raise RewardError(_("Only finance contacts can redeem rewards."), code="forbidden")
    if not contact.organization.allows_changes:
        raise RewardError(
            _("This account is closed: rewards can no longer be redeemed."), code="forbidden"
        )
    if invoice.organization_id != contact.organization_id:
        raise RewardError(_("That invoice was not found."), code="not_found")
    if currency and currency != invoice.currency:
        raise RewardError(currency_mismatch(invoice, currency), code="currency")
    amount = _clean_amount(amount, invoice.currency)
    try:
        key = f"redeem:{uuid.UUID(str(token)) if token else uuid.uuid4()}"
    except ValueError:
        raise RewardError(
            _("This form is out of date. Reload the page and try again."), code="stale_form"
        ) from None
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        _lock_balance(organization_id=locked.organization_id, currency=locked.currency)
        existing = RewardEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:  # A double submit: the first one applied it.
            if existing.organization_id != contact.organization_id:
                raise RewardError(_("That invoice was not found."), code="not_found")
            return existing
        if locked.status not in (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE) or locked.balance <= 0:
            raise RewardError(
                _("Invoice %(number)s has nothing left to pay.") % {"number": locked.number},
                code="invoice_paid",
            )
        if amount > locked.balance:
            raise RewardError(
                _("Invoice %(number)s has only %(balance)s left to pay.")
                % {
                    "number": locked.number,
                    "balance": format_money(locked.balance, locked.currency),
                },
                code="exceeds_invoice",
            )
        _expire_locked(
            organization_id=locked.organization_id, currency=locked.currency, today=today
        )
        balance = ledger_balance(organization_id=locked.organization_id, currency=locked.currency)
        if amount > balance:
            raise RewardError(
                _("You have only %(balance)s in rewards to redeem.")
                % {"balance": format_money(balance, locked.currency)},
                code="insufficient_balance",
            )
        plan = _plan_consumption(
            organization_id=locked.organization_id,
            currency=locked.currency,
            amount=amount,
            today=today,
        )
        if sum((take for _earned, take in plan), ZERO) != amount:
            # The ledger sum and the unspent remainders disagree: refuse, loudly.
            raise RuntimeError(f"rewards ledger inconsistent for {locked.organization_id}")
        try:
            with transaction.atomic():
                entry = RewardEntry.objects.create(
                    organization_id=locked.organization_id,
                    currency=locked.currency,
                    kind=RewardEntry.Kind.REDEEMED,
                    amount=-amount,
                    redeemed_invoice=locked,
                    actor=contact.user,
                    idempotency_key=key,
                )
        except IntegrityError:
            # The same form sent for another currency's balance at the same moment.
            raise RewardError(
                _("This form was already submitted. Reload the page to redeem again."),
                code="duplicate",
            ) from None
        _allocate(entry, plan)
        try:
            credit = invoice_apply_adjustment(
                invoice=locked,
                kind=InvoiceAdjustment.Kind.CREDIT,
                amount=amount,
                reference=key,
                note=_("Rewards redeemed"),
                idempotency_key=f"reward:{key}",
            )
        except InvoiceError as error:
            raise RewardError(str(error), code="invoice_refused") from None
        if credit is None:  # Its key is new, so only a bug could have applied it before.
            raise RuntimeError(f"reward credit {key} already applied")
        activity_record(
            organization=locked.organization,
            actor=contact.user,
            verb=ACTIVITY_REDEEMED,
            target=locked.number,
            data={"amount": str(amount), "currency": locked.currency},
        )
    invoice.refresh_from_db()
    return entry


def _clean_amount(amount, currency: str) -> Decimal:
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite():
        raise RewardError(_("Enter the amount as a number, such as 12.50."), code="invalid_amount")
    if value <= 0:
        raise RewardError(_("The amount must be more than zero."), code="invalid_amount")
    if quantize(value, currency) != value:
        raise RewardError(
            _("The amount has more decimal places than %(currency)s allows.")
            % {"currency": currency},
            code="invalid_amount",
        )
    return quantize(value, currency)


# --- Expiry ------------------------------------------------------------------------------------


@dataclass
class ExpiryResult:
    entries: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)


def rewards_expire(*, today: date | None = None) -> ExpiryResult:
    """Beat job: expire the unspent remainder of earned rewards past their date; once each."""
    today = today or timezone.localdate()
    balances = (
        RewardEntry.objects.unspent()
        .filter(expires_on__lt=today)
        .order_by()
        .values_list("organization_id", "currency")
        .distinct()
    )
    result = ExpiryResult()
    for organization_id, currency in list(balances):
        with transaction.atomic():
            # Recomputed under the lock: a concurrent run's expiries are seen, not repeated.
            _lock_balance(organization_id=organization_id, currency=currency)
            expired = _expire_locked(
                organization_id=organization_id, currency=currency, today=today
            )
        result.entries += len(expired)
        for entry in expired:
            result.totals[currency] = result.totals.get(currency, ZERO) - entry.amount
    return result
