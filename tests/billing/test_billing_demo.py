"""Demo billing data, and the emulator restore `make run` does after seeding."""

import pytest

from billing import stripe_client
from billing.demo import (
    DEMO_ACME_DEFAULT_CARD,
    DEMO_ACME_EXPIRED_CARD,
    seed_billing,
    stripe_emulator_restore,
)
from billing.models import BillingProfile, PaymentMethod
from contacts.demo import seed_organizations

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    from accounts.demo import seed_users

    seed_users()
    seed_organizations()
    seed_billing()


def test_seed_is_idempotent_and_tells_the_demo_story(seeded):
    seed_billing()

    acme = BillingProfile.objects.get(organization__account_number="ACME-001")
    globex = BillingProfile.objects.get(organization__account_number="GLOBEX-001")
    assert acme.auto_pay and globex.organization.currency == "EUR" and globex.country == "DE"
    default = PaymentMethod.objects.get(public_id=DEMO_ACME_DEFAULT_CARD)
    expired = PaymentMethod.objects.get(public_id=DEMO_ACME_EXPIRED_CARD)
    assert default.is_default and not default.is_expired()
    assert expired.is_expired() and not expired.is_default
    assert PaymentMethod.objects.count() == 3


def test_restore_creates_the_cards_in_a_fresh_emulator_once(seeded, stripe):
    assert stripe_emulator_restore() == 3
    assert stripe_emulator_restore() == 0

    expired = PaymentMethod.objects.get(public_id=DEMO_ACME_EXPIRED_CARD)
    card = stripe_client.payment_method_retrieve(payment_method_id=expired.stripe_payment_method_id)
    acme = BillingProfile.objects.get(organization__account_number="ACME-001")
    assert card.customer == acme.stripe_customer_id
    assert (card.last4, card.exp_month, card.exp_year) == (
        "0341",
        expired.exp_month,
        expired.exp_year,
    )

    stripe.reset()  # The emulator restarts empty: everything is re-created.
    assert stripe_emulator_restore() == 3
