from celery import shared_task

from customers.services import scheduled_actions_run


@shared_task
def scheduled_actions_run_task() -> dict[str, int]:
    """Hourly: run the deferred status changes that are due, once each (idempotent)."""
    return scheduled_actions_run()
