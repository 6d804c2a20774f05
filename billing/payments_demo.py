"""Demo payments for `seed_demo` (after billing.demo.seed_billing and invoices.demo): Acme's
failed automatic charge on its expired card (listed under Payments due) and a short payment
history for both organizations (Globex in EUR). Rows only, no Stripe calls; idempotent."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone, translation

from billing.demo import DEMO_ACME_EXPIRED_CARD, DEMO_GLOBEX_DEFAULT_CARD
from billing.models import FailedCharge, Payment, PaymentAllocation, PaymentMethod
from billing.payments import failure_reason
from contacts.models import Contact, Organization
from invoices.models import Invoice, InvoiceStatus


def _history(organization: Organization, method: PaymentMethod | None) -> None:
    payer = Contact.objects.with_role("finance").filter(organization=organization).first()
    paid = Invoice.objects.filter(organization=organization, status=InvoiceStatus.CLOSED).order_by(
        "-issue_date"
    )[:3]
    for invoice in paid:
        key = f"demo-history:{invoice.number}"
        if Payment.objects.filter(idempotency_key=key).exists():
            continue
        when = timezone.make_aware(datetime.combine(invoice.due_date - timedelta(days=2), time(10)))
        payment = Payment.objects.create(
            organization=organization,
            idempotency_key=key,
            currency=invoice.currency,
            amount=invoice.total,
            status=Payment.Status.SUCCEEDED,
            payment_method=method,
            paid_by=payer.user if payer else None,
            created_at=when,
            succeeded_at=when,
            allocated_at=when,
            receipt_sent_at=when,
        )
        PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=invoice.total)


def _failed_autopay(organization: Organization) -> None:
    key = f"demo-autopay-failed:{organization.account_number}"
    if Payment.objects.filter(idempotency_key=key).exists():
        return
    expired = PaymentMethod.objects.filter(public_id=DEMO_ACME_EXPIRED_CARD).first()
    invoice = (
        Invoice.objects.filter(organization=organization, status=InvoiceStatus.OVERDUE)
        .exclude(disputes__isnull=False)
        .order_by("due_date")
        .first()
    )
    if expired is None or invoice is None:
        return
    when = timezone.now() - timedelta(days=3)
    payment = Payment.objects.create(
        organization=organization,
        idempotency_key=key,
        currency=invoice.currency,
        amount=invoice.balance,
        status=Payment.Status.FAILED,
        origin=Payment.Origin.AUTO_PAY,
        payment_method=expired,
        failure_code="expired_card",
        created_at=when,
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=invoice.balance)
    with translation.override(organization.language):
        reason = failure_reason(payment)
    FailedCharge.objects.create(
        organization=organization, payment=payment, reason=reason, created_at=when
    )


def seed_payments() -> None:
    for organization in Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"]):
        with transaction.atomic():
            if organization.account_number == "ACME-001":
                method = PaymentMethod.objects.filter(
                    organization=organization, is_default=True
                ).first()
                _history(organization, method)
                _failed_autopay(organization)
            else:
                method = PaymentMethod.objects.filter(public_id=DEMO_GLOBEX_DEFAULT_CARD).first()
                _history(organization, method)
