"""billing.stripe_client against the real emulator (localstripe), and when Stripe is down/slow."""

import json
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing import stripe_client
from billing.models import BillingProfile
from billing.stripe_client import CardError, StripeRequestError, StripeUnavailable
from tests.billing.conftest import DECLINED_AT_ATTACH, DECLINED_AT_CHARGE, THREE_D_SECURE
from tests.contacts.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile(db):
    return BillingProfile.objects.create(
        organization=OrganizationFactory(name="Acme"), contact_email="pay@acme.example"
    )


def test_customer_is_created_once_and_stored(stripe, profile):
    customer_id = stripe_client.customer_ensure(profile=profile)

    assert customer_id.startswith("cus_")
    profile.refresh_from_db()
    assert profile.stripe_customer_id == customer_id
    # A stale copy of the row (another request) still gets the same customer.
    stale = BillingProfile.objects.get(pk=profile.pk)
    stale.stripe_customer_id = ""
    assert stripe_client.customer_ensure(profile=stale) == customer_id


def test_setup_intent_confirmed_in_the_browser_then_attached(stripe, profile):
    customer_id = stripe_client.customer_ensure(profile=profile)
    intent = stripe_client.setup_intent_create(customer_id=customer_id)
    assert intent.id.startswith("seti_") and intent.client_secret.startswith(intent.id)

    confirmed = stripe.confirm_setup_intent(intent.client_secret, exp_month=7, exp_year=2031)
    assert confirmed["status"] == "succeeded"

    status, payment_method_id = stripe_client.setup_intent_retrieve(setup_intent_id=intent.id)
    assert status == "succeeded" and payment_method_id.startswith("pm_")
    # The emulator does not attach on confirm: we do.
    assert stripe_client.payment_method_retrieve(payment_method_id=payment_method_id).customer == ""
    card = stripe_client.payment_method_attach(
        payment_method_id=payment_method_id, customer_id=customer_id
    )
    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.customer) == (
        "visa",
        "4242",
        7,
        2031,
        customer_id,
    )


def test_update_expiry_returns_integers(stripe, profile):
    card = stripe.saved_card(profile)

    updated = stripe_client.payment_method_update_expiry(
        payment_method_id=card.id, exp_month=3, exp_year=2033
    )

    assert (updated.exp_month, updated.exp_year) == (3, 2033)
    fetched = stripe_client.payment_method_retrieve(payment_method_id=card.id)
    assert (fetched.exp_month, fetched.exp_year) == (3, 2033)
    assert isinstance(fetched.exp_month, int) and isinstance(fetched.exp_year, int)


def test_detach_removes_the_card_from_the_customer(stripe, profile):
    card = stripe.saved_card(profile)

    stripe_client.payment_method_detach(payment_method_id=card.id)

    assert stripe_client.payment_method_retrieve(payment_method_id=card.id).customer == ""


def test_declined_card_at_attach_raises_card_error_with_a_translated_reason(stripe, profile):
    customer_id = stripe_client.customer_ensure(profile=profile)
    card = stripe.card(DECLINED_AT_ATTACH)

    with pytest.raises(CardError) as caught:
        stripe_client.payment_method_attach(payment_method_id=card.id, customer_id=customer_id)

    assert caught.value.code == "card_declined"
    assert "declined" in caught.value.reason
    assert stripe_client.decline_reason("x", "insufficient_funds") == (
        "The card has insufficient funds."
    )


def test_declined_card_in_the_browser_setup_is_reported_by_the_emulator(stripe, profile):
    customer_id = stripe_client.customer_ensure(profile=profile)
    intent = stripe_client.setup_intent_create(customer_id=customer_id)

    answer = stripe.confirm_setup_intent(intent.client_secret, DECLINED_AT_ATTACH)

    assert answer["error"]["code"] == "card_declined"
    status, _ = stripe_client.setup_intent_retrieve(setup_intent_id=intent.id)
    assert status == "canceled"


def test_three_d_secure_setup_needs_action(stripe, profile):
    customer_id = stripe_client.customer_ensure(profile=profile)
    intent = stripe_client.setup_intent_create(customer_id=customer_id)

    answer = stripe.confirm_setup_intent(intent.client_secret, THREE_D_SECURE)

    assert answer["status"] == "requires_action"
    status, _ = stripe_client.setup_intent_retrieve(setup_intent_id=intent.id)
    assert status == "requires_action"


def test_payment_intent_charges_a_saved_card_in_minor_units(stripe, profile):
    card = stripe.saved_card(profile)

    intent = stripe_client.payment_intent_create(
        amount=Decimal("123.45"),
        currency="USD",
        customer_id=profile.stripe_customer_id,
        idempotency_key="payment-1",
        metadata={"payment": "p-1"},
        payment_method_id=card.id,
        off_session=True,
        confirm=True,
    )

    assert intent.status == "succeeded"
    assert (intent.amount_minor, intent.amount, intent.currency) == (
        12345,
        Decimal("123.45"),
        "USD",
    )
    assert intent.metadata == {"payment": "p-1"}
    assert intent.payment_method_id == card.id
    again = stripe_client.payment_intent_retrieve(payment_intent_id=intent.id)
    assert again.status == "succeeded" and again.customer_id == profile.stripe_customer_id


def test_payment_intent_for_the_browser_has_a_client_secret_and_can_be_cancelled(stripe, profile):
    customer_id = stripe_client.customer_ensure(profile=profile)

    intent = stripe_client.payment_intent_create(
        amount=Decimal("10"),
        currency="EUR",
        customer_id=customer_id,
        idempotency_key="payment-2",
        metadata={},
    )
    assert intent.status == "requires_payment_method"
    assert intent.client_secret.startswith(intent.id)

    cancelled = stripe_client.payment_intent_cancel(payment_intent_id=intent.id)
    assert cancelled.status == "canceled"


def test_decline_at_charge_raises_card_error(stripe, profile):
    card = stripe.saved_card(profile, DECLINED_AT_CHARGE)

    with pytest.raises(CardError) as caught:
        stripe_client.payment_intent_create(
            amount=Decimal("5.00"),
            currency="USD",
            customer_id=profile.stripe_customer_id,
            idempotency_key="payment-3",
            metadata={},
            payment_method_id=card.id,
            off_session=True,
            confirm=True,
        )

    assert caught.value.code == "card_declined"
    failed = stripe_client.payment_intents_list(created_gte=0)
    assert failed and failed[0].status == "requires_payment_method"
    assert failed[0].last_error_code == "card_declined"


def test_intents_list_filters_by_creation_time_and_pages(stripe, profile):
    card = stripe.saved_card(profile)
    since = int(time.time())
    for n in range(3):
        stripe_client.payment_intent_create(
            amount=Decimal("1.00"),
            currency="USD",
            customer_id=profile.stripe_customer_id,
            idempotency_key=f"payment-list-{n}",
            metadata={"n": n},
            payment_method_id=card.id,
            off_session=True,
            confirm=True,
        )

    listed = stripe_client.payment_intents_list(created_gte=since, limit=2)

    assert sorted(i.metadata["n"] for i in listed) == ["0", "1", "2"]
    assert stripe_client.payment_intents_list(created_gte=since + 3600) == []


def test_refund_of_part_of_a_payment(stripe, profile):
    card = stripe.saved_card(profile)
    intent = stripe_client.payment_intent_create(
        amount=Decimal("100.00"),
        currency="USD",
        customer_id=profile.stripe_customer_id,
        idempotency_key="payment-4",
        metadata={},
        payment_method_id=card.id,
        off_session=True,
        confirm=True,
    )

    refund = stripe_client.refund_create(
        payment_intent_id=intent.id,
        amount=Decimal("40.00"),
        currency="USD",
        idempotency_key="refund-1",
    )

    assert (refund.status, refund.amount, refund.amount_minor) == (
        "succeeded",
        Decimal("40.00"),
        4000,
    )
    assert refund.payment_intent_id == intent.id and refund.currency == "USD"


def test_missing_object_is_a_request_error_not_unavailable(stripe):
    with pytest.raises(StripeRequestError) as caught:
        stripe_client.payment_intent_retrieve(payment_intent_id="pi_doesnotexist")
    assert caught.value.status == 404


# --- Stripe down or slow --------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_emulator_down_is_unavailable(settings, profile):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    with pytest.raises(StripeUnavailable) as caught:
        stripe_client.customer_ensure(profile=profile)

    assert "try again" in caught.value.message
    profile.refresh_from_db()
    assert profile.stripe_customer_id == ""


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(3)
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


class _Broken(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"error": {"type": "api_error", "message": "boom"}}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    servers = []

    def start(handler):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_slow_stripe_times_out_as_unavailable(settings, loopback_server):
    settings.STRIPE_API_BASE = loopback_server(_Slow)
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_TIMEOUT = 1
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    with pytest.raises(StripeUnavailable):
        stripe_client.payment_intent_retrieve(payment_intent_id="pi_slow")


def test_server_error_is_unavailable(settings, loopback_server):
    settings.STRIPE_API_BASE = loopback_server(_Broken)
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    with pytest.raises(StripeUnavailable):
        stripe_client.setup_intent_create(customer_id="cus_x")


# --- Webhooks, test mode ----------------------------------------------------------------------


def test_webhook_signature_is_verified(settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    payload = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}).encode()

    event = stripe_client.webhook_event_construct(
        payload=payload, signature=stripe_client.webhook_signature(payload=payload)
    )
    assert event == {"id": "evt_1", "type": "payment_intent.succeeded"}

    bad = stripe_client.webhook_signature(payload=payload, secret="whsec_other")
    with pytest.raises(ValueError):
        stripe_client.webhook_event_construct(payload=payload, signature=bad)
    stale = stripe_client.webhook_signature(payload=payload, timestamp=int(time.time()) - 301)
    with pytest.raises(ValueError):
        stripe_client.webhook_event_construct(payload=payload, signature=stale)
    with pytest.raises(ValueError):
        stripe_client.webhook_event_construct(payload=b"not json", signature="t=1,v1=x")


def test_test_mode_follows_keys_and_emulator(settings):
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_SECRET_KEY = "sk_live_abc"
    assert not stripe_client.is_test_mode()
    settings.STRIPE_SECRET_KEY = "sk_test_abc"
    assert stripe_client.is_test_mode()
    settings.STRIPE_SECRET_KEY = "sk_live_abc"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9999"
    assert stripe_client.is_test_mode()


def test_raw_card_numbers_are_refused_outside_test_mode(settings):
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_SECRET_KEY = "sk_live_abc"
    with pytest.raises(StripeRequestError):
        stripe_client.payment_method_create_test_card(
            number="4242424242424242", exp_month=1, exp_year=2030
        )
