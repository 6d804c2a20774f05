"""Demo billing data for `seed_demo`, and the emulator restore `make run` does after it.

seed_billing() writes database rows only (it runs in tests without an emulator): the demo
cards get placeholder Stripe ids ("pm_demo_…"). `make run` (serve_dev) starts a fresh
localstripe and then calls stripe_emulator_restore(), which creates a real emulator card for
every saved card the emulator doesn't know (demo cards, and cards added in earlier sessions)
and re-points our rows at them. Demo cards keep fixed public ids, so other demo seeds can
find them: DEMO_ACME_DEFAULT_CARD, DEMO_ACME_EXPIRED_CARD.
"""

import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from billing import stripe_client
from billing.models import BillingProfile, PaymentMethod
from billing.profiles import billing_profile_get
from contacts.models import Organization

logger = logging.getLogger(__name__)

DEMO_ACME_DEFAULT_CARD = uuid.UUID("6f1c0a52-6a9e-4d1e-9a53-0c1d2e3f4a01")
DEMO_ACME_EXPIRED_CARD = uuid.UUID("6f1c0a52-6a9e-4d1e-9a53-0c1d2e3f4a02")
DEMO_GLOBEX_DEFAULT_CARD = uuid.UUID("6f1c0a52-6a9e-4d1e-9a53-0c1d2e3f4a03")

# Emulator test numbers by last 4 digits (0341 attaches, then every charge is declined).
TEST_NUMBERS = {
    "4242": "4242424242424242",
    "0341": "4000000000000341",
    "3155": "4000002500003155",
}

PROFILES = {
    "ACME-001": {
        "contact_name": "Dana Whitfield",
        "contact_email": "finance@acme.example",
        "contact_phone": "+1 555 010 0200",
        "address_line1": "100 Market Street",
        "address_line2": "Suite 400",
        "postal_code": "94105",
        "city": "San Francisco",
        "country": "US",
        "tax_id": "US12-3456789",
        "invoice_recipients": ["finance@acme.example", "ap@acme.example"],
        "auto_pay": True,
    },
    "GLOBEX-001": {
        "contact_name": "Jonas Becker",
        "contact_email": "finance@globex.example",
        "contact_phone": "+49 30 1234567",
        "address_line1": "Friedrichstraße 68",
        "postal_code": "10117",
        "city": "Berlin",
        "country": "DE",
        "tax_id": "DE123456789",
        "invoice_recipients": ["finance@globex.example"],
        "auto_pay": False,
    },
}


def _cards(today) -> dict[str, list[dict]]:
    expired = today.replace(day=1) - timedelta(days=1)  # Last month: just expired.
    return {
        "ACME-001": [
            {
                "public_id": DEMO_ACME_DEFAULT_CARD,
                "last4": "4242",
                "exp_month": 8,
                "exp_year": today.year + 3,
                "is_default": True,
            },
            {
                "public_id": DEMO_ACME_EXPIRED_CARD,
                "last4": "0341",
                "exp_month": expired.month,
                "exp_year": expired.year,
                "is_default": False,
            },
        ],
        "GLOBEX-001": [
            {
                "public_id": DEMO_GLOBEX_DEFAULT_CARD,
                "last4": "4242",
                "exp_month": 3,
                "exp_year": today.year + 2,
                "is_default": True,
            },
        ],
    }


def seed_billing() -> None:
    """Billing profiles and saved cards of the demo organizations (idempotent)."""
    today = timezone.localdate()
    cards = _cards(today)
    for organization in Organization.objects.filter(account_number__in=list(PROFILES)):
        profile = billing_profile_get(organization=organization)
        if not profile.contact_email:  # Seed once; later edits in the portal stay.
            for name, value in PROFILES[organization.account_number].items():
                setattr(profile, name, value)
            profile.save()
        for card in cards[organization.account_number]:
            PaymentMethod.objects.get_or_create(
                public_id=card["public_id"],
                defaults={
                    "organization": organization,
                    "stripe_payment_method_id": f"pm_demo_{card['public_id'].hex[-12:]}",
                    "brand": "visa",
                    "last4": card["last4"],
                    "exp_month": card["exp_month"],
                    "exp_year": card["exp_year"],
                    "is_default": card["is_default"],
                    "created_at": timezone.now()
                    - timedelta(days=400 if card["is_default"] else 30),
                    # The expired card's reminders went out while it was expiring.
                    "reminded_soon_at": None if card["is_default"] else timezone.now(),
                },
            )


def stripe_emulator_restore() -> int:
    """Development only: recreate in a fresh emulator every customer and saved card our rows
    point at; returns the number of cards re-created."""
    if not stripe_client.is_emulated():
        return 0
    restored = 0
    organizations = Organization.objects.filter(payment_methods__removed_at__isnull=True).distinct()
    for organization in organizations:
        profile = billing_profile_get(organization=organization)
        if profile.stripe_customer_id and not stripe_client.customer_exists(
            customer_id=profile.stripe_customer_id
        ):
            BillingProfile.objects.filter(pk=profile.pk).update(stripe_customer_id="")
            profile.stripe_customer_id = ""
        customer_id = stripe_client.customer_ensure(profile=profile)
        for method in PaymentMethod.objects.filter(organization=organization).usable():
            try:
                card = stripe_client.payment_method_retrieve(
                    payment_method_id=method.stripe_payment_method_id
                )
            except stripe_client.StripeRequestError:
                card = None  # Unknown to this emulator: create it below.
            if card is not None:
                if card.customer != customer_id:
                    stripe_client.payment_method_attach(
                        payment_method_id=card.id, customer_id=customer_id
                    )
                continue
            card = stripe_client.payment_method_create_test_card(
                number=TEST_NUMBERS.get(method.last4, TEST_NUMBERS["4242"]),
                exp_month=method.exp_month,
                exp_year=method.exp_year,
            )
            stripe_client.payment_method_attach(payment_method_id=card.id, customer_id=customer_id)
            with transaction.atomic():
                PaymentMethod.objects.filter(pk=method.pk).update(stripe_payment_method_id=card.id)
            restored += 1
    if restored:
        logger.info("Re-created %d saved card(s) in the Stripe emulator.", restored)
    return restored
