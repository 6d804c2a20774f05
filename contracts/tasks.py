from celery import shared_task

from contracts.services import contracts_send_end_reminders


@shared_task
def contracts_send_end_reminders_task() -> int:
    return contracts_send_end_reminders()
