"""Demo ranks, small customers, a scheduled closure and the staff user's TOTP for `seed_demo`
(DEBUG only; idempotent). Runs after accounts.demo.seed_users and contacts.demo."""

from datetime import timedelta

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts.models import User
from contacts.models import Organization
from customers.models import ScheduledAction
from customers.services import organization_set_rank, scheduled_action_create

STAFF_EMAIL = "staff@customer-center.example"
# DEMO ONLY: a published secret, so a newcomer can add it to an authenticator app (or run
# `manage.py demo_totp` for the current code). Never used with DEBUG off.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105
RANKS = {"ACME-001": Organization.Rank.GOLD, "GLOBEX-001": Organization.Rank.PLATINUM}
R = Organization.Rank
# Small customers without users, one of each lower rank and a second Silver.
SMALL_CUSTOMERS = [
    ("INITECH-001", "Initech Ltd", "USD", "en", R.SILVER),
    ("HOOLI-001", "Hooli SARL", "EUR", "fr", R.SILVER),
    ("UMBRELLA-001", "Umbrella Services", "USD", "en", R.BRONZE),
    ("SOYLENT-001", "Soylent Alimentos", "BRL", "pt-br", R.BRONZE),
]
CLOSING_ACCOUNT = "UMBRELLA-001"
CLOSING_IN_DAYS = 14
CLOSING_REASON = "The customer ended the contract; close the account at the end of notice."


def _refuse_without_debug() -> None:
    if not settings.DEBUG:
        raise ImproperlyConfigured("Demo data (and its published TOTP secret) is DEBUG only.")


def seed_staff_totp() -> User:
    _refuse_without_debug()
    staff = User.objects.get(email=STAFF_EMAIL)
    if not Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(staff, DEMO_TOTP_SECRET)
    return staff


def seed_customers() -> None:
    _refuse_without_debug()
    staff = seed_staff_totp()
    for account_number, rank in RANKS.items():
        organization = Organization.objects.filter(account_number=account_number).first()
        if organization is not None and organization.rank != rank:
            organization_set_rank(
                organization=organization, rank=rank, staff_user=staff, reason="Demo rank"
            )
    for account_number, name, currency, language, rank in SMALL_CUSTOMERS:
        Organization.objects.get_or_create(
            account_number=account_number,
            defaults={"name": name, "currency": currency, "language": language, "rank": rank},
        )
    closing = Organization.objects.get(account_number=CLOSING_ACCOUNT)
    if not closing.is_closed and not ScheduledAction.objects.filter(organization=closing).exists():
        scheduled_action_create(
            organization=closing,
            status=Organization.Status.CLOSED,
            run_on=timezone.localdate() + timedelta(days=CLOSING_IN_DAYS),
            reason=CLOSING_REASON,
            staff_user=staff,
        )
