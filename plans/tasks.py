from celery import shared_task

from plans.services import subscriptions_invoice_due


@shared_task
def subscriptions_invoice_due_task() -> int:
    """Daily: invoice the subscription periods that have started (idempotent)."""
    return subscriptions_invoice_due()
