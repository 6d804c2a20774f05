import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customers.demo import STAFF_EMAIL


class Command(BaseCommand):
    help = "Print the demo staff user's TOTP secret and current code (DEBUG only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_totp refuses to run with DEBUG off.")
        authenticator = Authenticator.objects.filter(
            user__email=STAFF_EMAIL, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(f"{STAFF_EMAIL} has no TOTP yet: run `manage.py seed_demo`.")
        secret = decrypt(authenticator.data["secret"])
        counter = int(time.time()) // mfa_settings.TOTP_PERIOD
        code = format_hotp_value(hotp_value(secret, counter))
        remaining = mfa_settings.TOTP_PERIOD - int(time.time()) % mfa_settings.TOTP_PERIOD
        self.stdout.write(
            f"Staff two-factor code for {STAFF_EMAIL}: {code} (valid {remaining}s more)\n"
            f"  Demo-only TOTP secret for an authenticator app: {secret}\n"
            f"  New code any time: .venv/bin/python manage.py demo_totp"
        )
