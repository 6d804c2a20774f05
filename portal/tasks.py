from celery import shared_task

from portal.emails import email_deliver, emails_deliver_pending


@shared_task(acks_late=True)
def email_deliver_task(email_id: int) -> bool:
    return email_deliver(email_id=email_id)


@shared_task
def emails_deliver_pending_task() -> int:
    return emails_deliver_pending()
