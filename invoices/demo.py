"""Demo invoices for `seed_demo`: ~60 per organization across every status."""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from contacts.models import Contact, Organization
from invoices.models import Dispute, Invoice
from invoices.services import LineData, dispute_open, invoice_apply_adjustment, invoice_create

PRODUCTS = [
    ("Cloud Platform subscription", Decimal("1200.00")),
    ("Premier Support", Decimal("450.00")),
    ("Database licence", Decimal("2300.00")),
    ("Professional services (day)", Decimal("1100.00")),
    ("Additional storage (TB)", Decimal("85.50")),
    ("Training seat", Decimal("390.00")),
]
TAX_RATES = {"USD": Decimal("8.25"), "EUR": Decimal("19.00")}


def _lines(rng: random.Random, count: int, currency: str, start) -> list[LineData]:
    lines = []
    for _ in range(count):
        description, price = rng.choice(PRODUCTS)
        lines.append(
            LineData(
                description=description,
                quantity=Decimal(rng.randint(1, 5)),
                unit_price=price,
                tax_rate=TAX_RATES.get(currency, Decimal("0")),
                period_start=start,
                period_end=start + timedelta(days=29),
            )
        )
    return lines


def seed_invoices() -> None:
    today = timezone.localdate()
    for organization in Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"]):
        if Invoice.objects.filter(organization=organization).exists():
            continue
        rng = random.Random(organization.account_number)
        prefix = organization.account_number.split("-")[0]
        for index in range(60):
            issue = today - timedelta(days=360 - index * 6)
            invoice = invoice_create(
                organization=organization,
                number=f"{prefix}-INV-{2026000 + index}",
                issue_date=issue,
                due_date=issue + timedelta(days=30),
                currency=organization.currency,
                lines=_lines(
                    rng, 80 if index == 30 else rng.randint(1, 4), organization.currency, issue
                ),
            )
            if index < 44:  # Older invoices were paid.
                invoice_apply_adjustment(
                    invoice=invoice,
                    kind="payment",
                    amount=invoice.balance,
                    reference=f"demo-{invoice.number}",
                )
            elif index == 50:  # Partly paid.
                invoice_apply_adjustment(
                    invoice=invoice,
                    kind="payment",
                    amount=(invoice.balance / 2).quantize(Decimal("0.01")),
                    reference=f"demo-{invoice.number}",
                )
        finance = Contact.objects.with_role("finance").filter(organization=organization).first()
        disputed = (
            Invoice.objects.filter(organization=organization)
            .unpaid()
            .order_by("issue_date")
            .first()
        )
        if finance and disputed and not Dispute.objects.filter(invoice=disputed).exists():
            line = disputed.lines.first()
            dispute_open(
                contact=finance,
                line=line,
                reason=Dispute.Reason.WRONG_AMOUNT,
                message="The quantity billed does not match our order.",
                amount=line.amount,
            )
