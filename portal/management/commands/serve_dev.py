import atexit
import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.urls import NoReverseMatch, reverse

from portal import devstripe


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
            stripe_url = self._start_stripe_emulator(port)
            if stripe_url:
                # This process's settings were read before the emulator existed.
                with override_settings(**devstripe.settings_overrides(stripe_url)):
                    call_command("seed_demo")
                    from billing.demo import stripe_emulator_restore

                    stripe_emulator_restore()  # Cards and customers the fresh emulator lacks.
            else:
                call_command("seed_demo")
            self.stdout.write(f"\nCustomer Center: http://127.0.0.1:{port}/")
            self.stdout.write(f"Sent e-mails:    http://127.0.0.1:{port}/_dev/mail/")
            if stripe_url:
                self.stdout.write(f"Stripe emulator: {stripe_url} (test mode, test card 4242…)")
            call_command("demo_totp")
            self.stdout.write("Stop with Ctrl-C.\n")
        call_command("runserver", f"127.0.0.1:{port}")

    def _start_stripe_emulator(self, port: int) -> str:
        """localstripe on a free loopback port, unless real Stripe keys are configured."""
        if os.environ.get("STRIPE_SECRET_KEY") or os.environ.get("STRIPE_API_BASE"):
            return ""
        process, base_url = devstripe.start()
        atexit.register(devstripe.stop, process)
        # Read by the runserver child's settings (it inherits this environment).
        os.environ.update(devstripe.environment(base_url))
        try:
            webhook_path = reverse("billing:stripe_webhook")
        except NoReverseMatch:  # Billing URLs not mounted yet.
            webhook_path = "/billing/stripe/webhook/"
        devstripe.register_webhook(base_url, url=f"http://127.0.0.1:{port}{webhook_path}")
        return base_url
