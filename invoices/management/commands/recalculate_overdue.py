from django.core.management.base import BaseCommand

from invoices.services import invoices_notify_overdue, invoices_recalculate_overdue


class Command(BaseCommand):
    help = "Flip unpaid invoices between Open and Overdue by due date, then queue the e-mails."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, batch_size: int, **options):
        counts = invoices_recalculate_overdue(batch_size=batch_size)
        queued = invoices_notify_overdue(limit=10**9)
        self.stdout.write(
            f"{counts['overdue']} invoice(s) became overdue, {counts['reopened']} reopened; "
            f"{queued} e-mail(s) queued."
        )
