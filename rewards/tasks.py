from celery import shared_task

from invoices.models import Invoice
from rewards.services import (
    rewards_earn_for_invoice,
    rewards_earn_pending,
    rewards_expire,
    rewards_reverse_for_invoice,
    rewards_reverse_pending,
)


@shared_task(acks_late=True)
def rewards_earn_for_invoice_task(invoice_id: int) -> int:
    return len(rewards_earn_for_invoice(invoice=Invoice.objects.get(pk=invoice_id)))


@shared_task(acks_late=True)
def rewards_reverse_for_invoice_task(invoice_id: int) -> int:
    return len(rewards_reverse_for_invoice(invoice=Invoice.objects.get(pk=invoice_id)))


@shared_task(acks_late=True)
def rewards_earn_pending_task() -> dict:
    """Safety net for the payments hooks: earn what was missed, reverse what was refunded."""
    return {"earned": rewards_earn_pending(), "reversed": rewards_reverse_pending()}


@shared_task(acks_late=True)
def rewards_expire_task() -> int:
    return rewards_expire().entries
