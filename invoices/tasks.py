from celery import shared_task

from invoices.services import (
    invoices_email_list_send,
    invoices_notify_overdue,
    invoices_recalculate_overdue,
)


@shared_task
def invoices_recalculate_overdue_task() -> dict:
    counts = invoices_recalculate_overdue()
    invoices_notify_overdue_task.delay()
    return counts


@shared_task
def invoices_notify_overdue_task() -> int:
    return invoices_notify_overdue()


@shared_task(acks_late=True)
def invoices_email_list_task(
    contact_id: int, invoice_ids: list[int], recipients: list[str], message: str
) -> None:
    invoices_email_list_send(
        contact_id=contact_id, invoice_ids=invoice_ids, recipients=recipients, message=message
    )
