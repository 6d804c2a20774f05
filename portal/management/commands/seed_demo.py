from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from accounts.demo import DEMO_PASSWORD, DEMO_USERS

# In dependency order; every step is idempotent, so re-running changes nothing.
SEEDERS = [
    "accounts.demo.seed_users",
    "contacts.demo.seed_organizations",
    "customers.demo.seed_customers",
    "orders.demo.seed_orders",
    "contracts.demo.seed_contracts",
    "plans.demo.seed_plans",
    "invoices.demo.seed_invoices",
    "contacts.casework_demo.seed_casework",
    "rewards.demo.seed_rewards",
    "billing.demo.seed_billing",
    "billing.payments_demo.seed_payments",
]


class Command(BaseCommand):
    help = "Create the demo organizations, people and data (idempotent; DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the sign-ins.")

    def handle(self, *args, quiet: bool = False, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run with DEBUG off.")
        with transaction.atomic():
            for seeder in SEEDERS:
                import_string(seeder)()
        if not quiet:
            self.stdout.write(self.style.SUCCESS(f"Demo sign-ins (password: {DEMO_PASSWORD}):"))
            for email, name, _language, is_staff in DEMO_USERS:
                role = " (staff)" if is_staff else ""
                self.stdout.write(f"  {email:<32} {name}{role}")
