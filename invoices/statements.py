"""Statements of account: what an organization owed at the start of a period, what was
invoiced, paid, refunded and credited in it, what it owes at the end, and how old that is.

Every figure comes from aggregate queries over the stored invoice totals and the adjustment
rows (four queries whatever the number of invoices). Balances follow `invoice_recalculate`:
owed = total − payments + refunds − credits. Adjustments are dated by `created_at` in the
portal's time zone; invoices by `issue_date`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from invoices.models import ZERO, Invoice, InvoiceAdjustment
from portal.money import quantize

MONEY = DecimalField(max_digits=14, decimal_places=2)
Kind = InvoiceAdjustment.Kind

# (key, label, fewest days past due, most days past due) as of the statement's end date.
AGEING_BUCKETS: list[tuple[str, Promise, int | None, int | None]] = [
    ("current", _("Not yet due"), None, 0),
    ("days_1_30", _("1–30 days past due"), 1, 30),
    ("days_31_60", _("31–60 days past due"), 31, 60),
    ("days_61_90", _("61–90 days past due"), 61, 90),
    ("days_over_90", _("More than 90 days past due"), 91, None),
]


@dataclass(frozen=True)
class AgeingBucket:
    key: str
    label: Promise
    amount: Decimal


@dataclass(frozen=True)
class StatementEntry:
    """One row of the running account: an invoice, payment, refund or credit."""

    date: date
    label: str
    invoice_number: str
    reference: str
    charge: Decimal  # Raises what is owed: invoices and refunds.
    payment: Decimal  # Lowers it: payments and credits.
    balance: Decimal


@dataclass(frozen=True)
class Statement:
    organization: Organization
    currency: str
    start: date
    end: date
    opening_balance: Decimal
    invoices: list[Invoice]
    adjustments: list[InvoiceAdjustment]
    invoiced: Decimal
    payments: Decimal
    refunds: Decimal
    credits: Decimal
    closing_balance: Decimal
    ageing: list[AgeingBucket]

    @property
    def ageing_total(self) -> Decimal:
        return sum((bucket.amount for bucket in self.ageing), ZERO)

    @property
    def entries(self) -> list[StatementEntry]:
        """Invoices and adjustments in date order (invoices first), with the running balance."""
        moves: list[tuple[tuple[date, int, int], StatementEntry]] = []
        for invoice in self.invoices:
            entry = StatementEntry(
                date=invoice.issue_date,
                label=str(_("Invoice")),
                invoice_number=invoice.number,
                reference="",
                charge=invoice.total,
                payment=ZERO,
                balance=ZERO,
            )
            moves.append(((entry.date, 0, invoice.pk), entry))
        for adjustment in self.adjustments:
            refund = adjustment.kind == Kind.REFUND
            entry = StatementEntry(
                date=timezone.localtime(adjustment.created_at).date(),
                label=str(adjustment.get_kind_display()),
                invoice_number=adjustment.invoice.number,
                reference=adjustment.reference,
                charge=adjustment.amount if refund else ZERO,
                payment=ZERO if refund else adjustment.amount,
                balance=ZERO,
            )
            moves.append(((entry.date, 1, adjustment.pk), entry))
        balance, entries = self.opening_balance, []
        for _key, entry in sorted(moves, key=lambda move: move[0]):
            balance += entry.charge - entry.payment
            entries.append(replace(entry, balance=balance))
        return entries


def _signed_adjustment() -> Case:
    """What an adjustment takes off the balance: refunds put money back on it."""
    return Case(When(kind=Kind.REFUND, then=-F("amount")), default=F("amount"), output_field=MONEY)


def _bucket_filter(end: date, fewest: int | None, most: int | None) -> Q:
    condition = Q()
    if fewest is not None:
        condition &= Q(due_date__lte=end - timedelta(days=fewest))
    if most is not None:
        condition &= Q(due_date__gte=end - timedelta(days=most))
    return condition


def statement_build(
    *, organization: Organization, currency: str, start: date, end: date
) -> Statement:
    """The statement of one organization's account in one currency from start to end."""
    zero = Value(ZERO, output_field=MONEY)
    invoices = Invoice.objects.filter(
        organization=organization, currency=currency, issue_date__lte=end
    )
    adjustments = InvoiceAdjustment.objects.filter(
        invoice__organization=organization,
        invoice__currency=currency,
        created_at__date__lte=end,
    )
    in_range = Q(created_at__date__gte=start)

    # What each invoice still owed at the end of the day `end`.
    applied_by_end = (
        InvoiceAdjustment.objects.filter(invoice=OuterRef("pk"), created_at__date__lte=end)
        .order_by()
        .values("invoice")
        .annotate(applied=Sum(_signed_adjustment()))
        .values("applied")
    )
    owed = F("total") - Coalesce(Subquery(applied_by_end, output_field=MONEY), zero)
    invoice_sums = invoices.aggregate(
        before=Sum("total", filter=Q(issue_date__lt=start), default=ZERO),
        invoiced=Sum("total", filter=Q(issue_date__gte=start), default=ZERO),
        **{
            key: Sum(
                owed, filter=_bucket_filter(end, fewest, most), default=ZERO, output_field=MONEY
            )
            for key, _label, fewest, most in AGEING_BUCKETS
        },
    )
    adjustment_sums = adjustments.aggregate(
        before=Sum(_signed_adjustment(), filter=~in_range, default=ZERO),
        payments=Sum("amount", filter=in_range & Q(kind=Kind.PAYMENT), default=ZERO),
        refunds=Sum("amount", filter=in_range & Q(kind=Kind.REFUND), default=ZERO),
        credits=Sum("amount", filter=in_range & Q(kind=Kind.CREDIT), default=ZERO),
    )

    def money(value: Decimal) -> Decimal:
        return quantize(value, currency)

    opening = money(invoice_sums["before"] - adjustment_sums["before"])
    invoiced = money(invoice_sums["invoiced"])
    payments, refunds, credits = (
        money(adjustment_sums[key]) for key in ("payments", "refunds", "credits")
    )
    return Statement(
        organization=organization,
        currency=currency,
        start=start,
        end=end,
        opening_balance=opening,
        invoices=list(invoices.filter(issue_date__gte=start).order_by("issue_date", "number")),
        adjustments=list(
            adjustments.filter(in_range).select_related("invoice").order_by("created_at", "id")
        ),
        invoiced=invoiced,
        payments=payments,
        refunds=refunds,
        credits=credits,
        closing_balance=opening + invoiced - payments + refunds - credits,
        ageing=[
            AgeingBucket(key=key, label=label, amount=money(invoice_sums[key]))
            for key, label, _fewest, _most in AGEING_BUCKETS
        ],
    )
