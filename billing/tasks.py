"""Billing jobs: each task fetches by id (or takes plain values) and calls one service."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from billing import payments, profiles


@shared_task
def payment_receipt_send_task(payment_id: int) -> int:
    return payments.payment_receipt_send(payment_id=payment_id)


@shared_task
def payments_send_pending_receipts_task() -> int:
    """Sweep (every 15 minutes): receipts whose task could not be queued."""
    return payments.payments_send_pending_receipts()


@shared_task
def payments_autopay_task(today: str | None = None) -> dict:
    """Daily: charge due invoices of auto-pay organizations with their default card."""
    result = payments.payments_autopay(today=date.fromisoformat(today) if today else None)
    return {"charged": result.charged, "failed": result.failed, "skipped": result.skipped}


@shared_task
def payments_reconcile_task(days: int = 2) -> dict:
    """Nightly: recent PaymentIntents against local payments (overlapping windows)."""
    report = payments.payments_reconcile(since=timezone.now() - timedelta(days=days))
    return {"fixed": report.fixed, "mismatches": report.mismatches}


@shared_task
def payment_methods_remind_expiring_task() -> int:
    """Daily: e-mail finance contacts about cards expiring in 30 days and expired ones."""
    return profiles.payment_methods_remind_expiring()
