from datetime import date

from django.core.management.base import BaseCommand

from customers.services import scheduled_actions_run


class Command(BaseCommand):
    help = "Run the deferred account status changes that are due (each exactly once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", type=date.fromisoformat, help="Run as if today were YYYY-MM-DD."
        )

    def handle(self, *args, today: date | None = None, **options):
        outcome = scheduled_actions_run(today=today)
        done, failed = outcome.get("done", 0), outcome.get("failed", 0)
        self.stdout.write(f"{done} scheduled action(s) done, {failed} failed.")
