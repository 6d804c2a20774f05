from django.core.management.base import BaseCommand

from contacts.casework import disputes_to_cases


class Command(BaseCommand):
    help = "Open a contact-log case for every customer dispute that has none yet (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="Disputes per batch.")

    def handle(self, *args, batch: int, **options):
        total = 0
        while created := disputes_to_cases(limit=batch):
            total += created
        self.stdout.write(f"Opened {total} case(s) from disputes.")
