"""Helpers shared by the payment tests: saved cards in the emulator, the browser's 3-D Secure
answer, signed webhook events, and loopback servers that play a slow or broken Stripe."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from decimal import Decimal

from billing import stripe_client
from billing.models import PaymentMethod
from portal import devstripe
from tests.billing.conftest import TEST_CARD
from tests.billing.profile_factories import BillingProfileFactory, PaymentMethodFactory


def saved_method(
    stripe,
    organization,
    number: str = TEST_CARD,
    *,
    default: bool = True,
    exp_month: int = 12,
    exp_year: int = 2030,
    auto_pay: bool = False,
) -> PaymentMethod:
    """A card attached to the organization's Stripe customer, with our mirror row."""
    profile = BillingProfileFactory(organization=organization)
    if auto_pay and not profile.auto_pay:
        profile.auto_pay = True
        profile.save(update_fields=["auto_pay"])
    card = stripe.saved_card(profile, number, exp_month=exp_month, exp_year=exp_year)
    return PaymentMethodFactory(
        organization=organization,
        stripe_payment_method_id=card.id,
        last4=card.last4,
        exp_month=exp_month,
        exp_year=exp_year,
        is_default=default,
    )


def authenticate(stripe, client_secret: str, *, success: bool = True) -> dict:
    """What the emulator's Stripe.js sends when the person completes (or fails) 3-D Secure
    in its dialog: POST /v1/payment_intents/<id>/_authenticate?success=…"""
    intent_id = client_secret.split("_secret_")[0]
    body = json.dumps({"key": devstripe.DEV_PUBLISHABLE_KEY, "client_secret": client_secret})
    request = urllib.request.Request(  # noqa: S310 (the loopback emulator)
        f"{stripe.base_url}/v1/payment_intents/{intent_id}/_authenticate"
        f"?success={'true' if success else 'false'}",
        data=body.encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def intents_at_stripe() -> list[stripe_client.IntentInfo]:
    return stripe_client.payment_intents_list(created_gte=0)


def event_payload(event_type: str, obj: dict, *, event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or f"evt_{time.time_ns()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def intent_object(intent_id: str, *, status: str, amount: Decimal, currency: str, **extra) -> dict:
    from portal.money import to_minor_units

    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": to_minor_units(amount, currency),
        "currency": currency.lower(),
        "metadata": {},
        **extra,
    }


def post_webhook(client, payload: bytes, *, signature: str | None = None):
    from django.urls import reverse

    signature = (
        signature if signature is not None else stripe_client.webhook_signature(payload=payload)
    )
    return client.post(
        reverse("billing:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # Nothing listens there once the socket closes.


@contextmanager
def fake_stripe(*, mode: str):
    """A loopback server playing a broken Stripe: "slow" accepts and never answers, "error"
    answers 500 to everything. Yields its base URL."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held = []

    def serve():
        while not stop.is_set():
            try:
                conn, _address = server.accept()
            except (TimeoutError, OSError):
                continue
            if mode == "slow":
                held.append(conn)
                continue
            conn.settimeout(1)
            try:
                conn.recv(65536)
                body = b'{"error": {"message": "Internal error", "type": "api_error"}}'
                conn.sendall(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()


def stripe_reachable(base_url: str) -> bool:
    try:
        urllib.request.urlopen(f"{base_url}/js.stripe.com/v3/", timeout=2)  # noqa: S310
    except urllib.error.URLError:
        return False
    return True
