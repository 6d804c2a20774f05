import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Prepare the embedded services and serve the portal on http://127.0.0.1:8000 (DEBUG)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options):
        if not settings.DEBUG:
            raise CommandError("serve_dev is for development; use gunicorn in production.")
        # The autoreloader re-runs this command in a child process: prepare only once.
        if os.environ.get("RUN_MAIN") != "true":
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            call_command("seed_demo")
            self.stdout.write(f"\nCustomer Center: http://127.0.0.1:{port}/")
            self.stdout.write(f"Sent e-mails:    http://127.0.0.1:{port}/_dev/mail/")
            self.stdout.write("Stop with Ctrl-C.\n")
        call_command("runserver", f"127.0.0.1:{port}")
