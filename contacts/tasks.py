import logging

from celery import shared_task

from contacts import casework
from invoices.models import Dispute

logger = logging.getLogger(__name__)


@shared_task
def contact_reminders_raise_task() -> int:
    return casework.contact_reminders_raise()


@shared_task(acks_late=True)
def dispute_to_case_task(dispute_id: int) -> None:
    dispute = Dispute.objects.filter(pk=dispute_id).first()
    if dispute is not None:
        casework.dispute_to_case(dispute=dispute)


@shared_task
def disputes_to_cases_task() -> int:
    """The sweep behind dispute_to_case_later: cases the hook could not open (broker down)."""
    return casework.disputes_to_cases()


def dispute_to_case_later(dispute_id: int) -> None:
    """For `transaction.on_commit` in invoices.services.dispute_open: never fails the
    customer's request; if the broker is down, disputes_to_cases_task opens the case later."""
    try:
        dispute_to_case_task.delay(dispute_id)
    except Exception:
        logger.warning("Could not enqueue the case of dispute %s; the sweep opens it.", dispute_id)
