"""Billing fixtures: the localstripe emulator, once per test session (per xdist worker).

- `stripe_server` (session): the running emulator (`StripeEmulator`), started on a free
  loopback port and stopped at the end of the session.
- `stripe` (function): points settings.STRIPE_* at the emulator (API base, keys, webhook
  secret, STRIPE_JS_URL = <base>/js.stripe.com/v3/ for browser tests) and empties the
  emulator's data before the test. Use it as an argument or with
  `pytestmark = pytest.mark.usefixtures("stripe")`.

Other test packages (e2e) can import both:
`from tests.billing.conftest import stripe, stripe_server`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest

from billing import stripe_client
from portal import devstripe

TEST_CARD = "4242424242424242"
DECLINED_AT_ATTACH = "4000000000000002"
DECLINED_AT_CHARGE = "4000000000000341"
THREE_D_SECURE = "4000002500003155"


@dataclass
class StripeEmulator:
    base_url: str

    @property
    def js_url(self) -> str:
        return f"{self.base_url}/js.stripe.com/v3/"

    def reset(self) -> None:
        devstripe.reset(self.base_url)

    def register_webhook(self, url: str) -> None:
        devstripe.register_webhook(self.base_url, url=url)

    def card(
        self, number: str = TEST_CARD, *, exp_month: int = 12, exp_year: int = 2030
    ) -> stripe_client.CardInfo:
        """A payment method in the emulator, not attached to anyone (as after Stripe.js)."""
        return stripe_client.payment_method_create_test_card(
            number=number, exp_month=exp_month, exp_year=exp_year
        )

    def confirm_setup_intent(
        self,
        client_secret: str,
        number: str = TEST_CARD,
        *,
        exp_month: int = 12,
        exp_year: int = 2030,
    ) -> dict:
        """What the emulator's Stripe.js `confirmCardSetup` sends from the browser; returns
        the SetupIntent (or {"error": {...}} for a declined card)."""
        setup_intent_id = client_secret.split("_secret_")[0]
        body = {
            "key": devstripe.DEV_PUBLISHABLE_KEY,
            "use_stripe_sdk": True,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {
                    "number": number,
                    "exp_month": str(exp_month),
                    "exp_year": str(exp_year),
                    "cvc": "123",
                },
            },
        }
        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{self.base_url}/v1/setup_intents/{setup_intent_id}/confirm",
            data=json.dumps(body).encode(),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    def saved_card(
        self, profile, number: str = TEST_CARD, *, exp_month: int = 12, exp_year: int = 2030
    ) -> stripe_client.CardInfo:
        """A card attached to the profile's Stripe customer (created on first use)."""
        customer_id = stripe_client.customer_ensure(profile=profile)
        card = self.card(number, exp_month=exp_month, exp_year=exp_year)
        return stripe_client.payment_method_attach(
            payment_method_id=card.id, customer_id=customer_id
        )


@pytest.fixture(scope="session")
def stripe_server():
    process, base_url = devstripe.start()
    try:
        yield StripeEmulator(base_url=base_url)
    finally:
        devstripe.stop(process)


@pytest.fixture
def stripe(stripe_server, settings):
    for name, value in devstripe.settings_overrides(stripe_server.base_url).items():
        setattr(settings, name, value)
    settings.STRIPE_TIMEOUT = 5
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_server.reset()
    return stripe_server
