"""Payment receipts: a PDF in the reader's language (the e-mail recipient's, or for the
download the organization's), rendered by the invoices' WeasyPrint helper (static files only)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation

from billing.models import Payment
from invoices.models import InvoiceAdjustment
from invoices.pdf import SELLER, render_pdf


def receipt_pdf(payment: Payment, *, language: str) -> bytes:
    """The receipt of a succeeded payment: what it paid, how, and any refunds."""
    allocations = list(payment.allocations.select_related("invoice", "order").order_by("pk"))
    refunds = list(
        InvoiceAdjustment.objects.filter(
            reference=str(payment.public_id), kind=InvoiceAdjustment.Kind.REFUND
        )
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    with translation.override(language):
        html = render_to_string(
            "billing/pdf/receipt.html",
            {
                "seller": SELLER,
                "generated_on": timezone.localdate(),
                "payment": payment,
                "organization": payment.organization,
                "method": payment.payment_method,
                "allocations": allocations,
                "refunds": refunds,
                "net": payment.amount - payment.amount_refunded,
            },
        )
        return render_pdf(html)
