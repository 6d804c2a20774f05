"""Stripe slow or failing. Already proven in tests/billing/test_pay_service.py
(`test_stripe_down_slow_or_failing_is_a_clear_error_and_a_safe_retry`: a Stripe that never
answers, answers 500 or refuses the connection gives the "did not answer … Nothing was
charged" message, leaves the payment CREATED without an intent and the invoice balance
unchanged, and the retry with the same form charges once — one PaymentIntent at the emulator)
and tests/billing/test_pay_pages.py (`test_stripe_down_on_the_confirm_page_offers_a_safe_retry`).

The angle added here: the emulator itself is slow — it RECEIVES and PROCESSES the charge, but
its answer arrives after STRIPE_TIMEOUT. "Nothing lost, nothing doubled" means: the person gets
the clear message, nothing changes locally (no allocation applied, balance unchanged), and the
retry after recovery leaves exactly ONE PaymentIntent charged at the emulator."""

import threading
import urllib.error
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from billing import payments
from billing.models import Payment
from billing.payments import PaymentError
from invoices.models import InvoiceAdjustment, InvoiceStatus
from tests.billing.pay_helpers import intents_at_stripe, saved_method
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


class _SlowAnswers:
    """A loopback proxy in front of the emulator: every request is forwarded and processed;
    the answer to a PaymentIntent creation is held until `release` (the caller times out)."""

    def __init__(self, upstream: str):
        self.release = threading.Event()
        self.held = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                request = urllib.request.Request(  # noqa: S310 (the loopback emulator)
                    upstream + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                        status, content = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, content = error.code, error.read()
                if self.command == "POST" and self.path.startswith("/v1/payment_intents"):
                    proxy.held += 1
                    proxy.release.wait(30)  # Processed at Stripe; the answer comes too late.
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # The caller gave up waiting.

            do_GET = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_charge_answered_after_the_timeout_is_not_charged_twice_on_retry(tenants, stripe, settings):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    settings.STRIPE_TIMEOUT = 1

    def attempt():
        return payments.payment_start(
            contact=tenants.fin,
            form_token="slow-form",
            invoices=[(invoice, invoice.balance)],
            payment_method=method,
        )

    with _SlowAnswers(stripe.base_url) as slow:
        settings.STRIPE_API_BASE = slow.url
        with pytest.raises(PaymentError) as failed:
            attempt()
        assert slow.held == 1
    assert failed.value.code == "unavailable"
    assert "never charges twice" in failed.value.message
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.CREATED
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert not InvoiceAdjustment.objects.exists()  # No allocation applied.

    # Stripe answers on time again: the same form is retried.
    settings.STRIPE_API_BASE = stripe.base_url
    retried = attempt()
    assert retried.pk == payment.pk
    assert retried.status == Payment.Status.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    charged = [i for i in intents_at_stripe() if i.status == "succeeded"]
    assert len(charged) == 1, f"charged {len(charged)} times at Stripe"
