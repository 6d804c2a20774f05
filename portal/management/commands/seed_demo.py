from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, seed_users
from contacts.demo import seed_organizations
from invoices.demo import seed_invoices


class Command(BaseCommand):
    help = "Create the demo organizations, people and data (idempotent; DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the sign-ins.")

    def handle(self, *args, quiet: bool = False, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run with DEBUG off.")
        with transaction.atomic():
            seed_users()
            seed_organizations()
            seed_invoices()
        if not quiet:
            self.stdout.write(self.style.SUCCESS(f"Demo sign-ins (password: {DEMO_PASSWORD}):"))
            for email, name, _language, is_staff in DEMO_USERS:
                role = " (staff)" if is_staff else ""
                self.stdout.write(f"  {email:<32} {name}{role}")
