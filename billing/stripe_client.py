"""The one module that talks to Stripe (or to the localstripe emulator in development/tests).

- Keys, the API base URL, the Stripe.js URL and the timeout come from settings, read on every
  call, so tests and the emulator can point it elsewhere.
- Money becomes integer minor units here and nowhere else (`portal.money.to_minor_units`).
- Callers get small dataclasses, never stripe objects, and three exceptions:
  `StripeUnavailable` (timeouts, connection errors, 5xx, bad keys: retry later; the message is
  safe to show), `CardError` (a decline, with a translated `reason`) and `StripeRequestError`
  (a request Stripe refused: a bug or a missing object, not for the customer's eyes).
- Every POST that creates something carries an Idempotency-Key built from our own ids. The
  emulator ignores it, so our own records must make retries safe anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from portal.money import from_minor_units, to_minor_units

if TYPE_CHECKING:
    from billing.models import BillingProfile

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE = 300  # Seconds a signed webhook stays acceptable (replay window).
REAL_STRIPE_API = "https://api.stripe.com"
REAL_STRIPE_HOOKS = "https://hooks.stripe.com"  # 3-D Secure frames of the real Stripe.js.


# --- Errors -----------------------------------------------------------------------------------


class StripeClientError(Exception):
    """Base of everything this module raises."""


class StripeUnavailable(StripeClientError):
    """Stripe could not be reached or answered 5xx: nothing happened on our side; retry later."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or _(
                "The payment service is not responding right now. Nothing was charged; "
                "please try again in a few minutes."
            )
        )

    @property
    def message(self) -> str:
        return str(self.args[0])


class StripeRequestError(StripeClientError):
    """Stripe refused the request (4xx other than a decline): a bug or a missing object."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or ""


class CardError(StripeClientError):
    """The card was declined (at attach, setup or charge)."""

    def __init__(
        self,
        code: str | None,
        decline_code: str | None = None,
        message: str = "",
        *,
        payment_intent_id: str = "",
    ):
        super().__init__(message or code or "card_declined")
        self.code = code or "card_declined"
        self.decline_code = decline_code or ""
        self.message = message
        self.payment_intent_id = payment_intent_id

    @property
    def reason(self) -> str:
        """The decline in the active language (wrap in translation.override for e-mails)."""
        return decline_reason(self.code, self.decline_code)


def decline_reason(code: str | None, decline_code: str | None = None) -> str:
    """A translated, customer-facing reason for a Stripe error/decline code."""
    reasons = {
        "insufficient_funds": _("The card has insufficient funds."),
        "lost_card": _("The card was reported lost. Use another card."),
        "stolen_card": _("The card was reported stolen. Use another card."),
        "expired_card": _("The card has expired. Use another card or update its expiry date."),
        "incorrect_cvc": _("The card's security code is incorrect."),
        "invalid_cvc": _("The card's security code is incorrect."),
        "incorrect_number": _("The card number is incorrect."),
        "invalid_number": _("The card number is incorrect."),
        "invalid_expiry_month": _("The card's expiry month is invalid."),
        "invalid_expiry_year": _("The card's expiry year is invalid."),
        "processing_error": _("The card could not be processed. Please try again."),
        "authentication_required": _(
            "The bank asks for authentication: pay from this page to confirm it."
        ),
        "payment_intent_authentication_failure": _(
            "The card's authentication (3-D Secure) failed or was cancelled. Nothing was charged."
        ),
        "setup_intent_authentication_failure": _(
            "The card's authentication (3-D Secure) failed or was cancelled. "
            "The card was not saved."
        ),
        "card_declined": _(
            "The card was declined by the bank. Use another card or contact your bank."
        ),
        "card_not_confirmed": _(
            "The card could not be confirmed (authentication cancelled or failed). "
            "Nothing was saved or charged; please try again."
        ),
    }
    for key in (decline_code, code):
        if key and key in reasons:
            return str(reasons[key])
    return str(reasons["card_declined"])


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupIntentInfo:
    id: str
    client_secret: str
    status: str = ""


@dataclass(frozen=True)
class SetupIntentState:
    """Unpacks as `status, payment_method_id = setup_intent_retrieve(...)`."""

    status: str
    payment_method_id: str
    customer_id: str = ""

    def __iter__(self):
        return iter((self.status, self.payment_method_id))


@dataclass(frozen=True)
class CardInfo:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer: str  # "" when not attached to a customer.


@dataclass(frozen=True)
class IntentInfo:
    id: str
    status: str
    client_secret: str
    amount_minor: int
    currency: str  # Upper case, like our rows.
    last_error_code: str
    last_error_message: str
    payment_method_id: str
    amount: Decimal = Decimal("0.00")
    customer_id: str = ""
    created: int = 0
    metadata: dict = field(default_factory=dict)
    next_action_type: str = ""


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str
    amount_minor: int
    amount: Decimal
    currency: str
    payment_intent_id: str


# --- Settings and the client ------------------------------------------------------------------


def is_emulated() -> bool:
    """True when talking to localstripe (any non-default API base URL)."""
    return bool(settings.STRIPE_API_BASE)


def is_test_mode() -> bool:
    """Test keys or the emulator: no real money moves (the UI shows a banner)."""
    return settings.STRIPE_SECRET_KEY.startswith("sk_test_") or is_emulated()


_clients: dict[tuple, stripe.StripeClient] = {}


def _client() -> stripe.StripeClient:
    key = (
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        float(settings.STRIPE_TIMEOUT),
        int(settings.STRIPE_MAX_NETWORK_RETRIES),
    )
    client = _clients.get(key)
    if client is None:
        secret, base, timeout, retries = key
        client = stripe.StripeClient(
            secret,
            base_addresses={"api": base} if base else None,
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=retries,
        )
        _clients.clear()  # Settings changed (tests): keep one.
        _clients[key] = client
    return client


def _translate_errors(func):
    """Map stripe's exceptions to ours; nothing of the stripe library leaks out."""

    @wraps(func)
    def wrapped(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except stripe.CardError as exc:
            error = exc.error
            payment_intent = getattr(error, "payment_intent", None) if error else None
            raise CardError(
                exc.code,
                getattr(error, "decline_code", None) if error else None,
                exc.user_message or "",
                payment_intent_id=(payment_intent or {}).get("id", "") if payment_intent else "",
            ) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            logger.warning("Stripe unreachable in %s: %s", func.__name__, exc)
            raise StripeUnavailable() from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            logger.error("Stripe refused our credentials in %s: %s", func.__name__, exc)
            raise StripeUnavailable() from exc
        except stripe.InvalidRequestError as exc:
            raise StripeRequestError(
                exc.user_message or str(exc), status=exc.http_status, code=exc.code
            ) from exc
        except stripe.StripeError as exc:  # APIError: 5xx and unparsable answers.
            logger.warning("Stripe error in %s: %s", func.__name__, exc)
            raise StripeUnavailable() from exc

    return wrapped


def _options(idempotency_key: str | None = None) -> dict:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


def _get(obj, name: str, default=None):
    """Attribute of a StripeObject or key of a dict, without KeyErrors."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    try:
        return obj[name]
    except (KeyError, TypeError):
        return getattr(obj, name, default)


def _id_of(value) -> str:
    """A field that is either an id or an expanded object."""
    if not value:
        return ""
    return value if isinstance(value, str) else str(_get(value, "id", ""))


# --- Customers --------------------------------------------------------------------------------


@_translate_errors
def customer_ensure(*, profile: BillingProfile) -> str:
    """The organization's Stripe customer id; created once (row lock), then stored."""
    if profile.stripe_customer_id:
        return profile.stripe_customer_id
    from billing.models import BillingProfile

    with transaction.atomic():
        locked = (
            BillingProfile.objects.select_for_update()
            .select_related("organization")
            .get(pk=profile.pk)
        )
        if not locked.stripe_customer_id:
            organization = locked.organization
            params = {
                "name": organization.name,
                "metadata": {
                    "organization": str(organization.public_id),
                    "account_number": organization.account_number,
                },
            }
            if locked.contact_email:
                params["email"] = locked.contact_email
            customer = _client().v1.customers.create(
                params=params, options=_options(f"customer-{organization.public_id}")
            )
            locked.stripe_customer_id = customer.id
            locked.save(update_fields=["stripe_customer_id", "updated_at"])
    profile.stripe_customer_id = locked.stripe_customer_id
    return profile.stripe_customer_id


@_translate_errors
def customer_exists(*, customer_id: str) -> bool:
    """False when Stripe no longer knows the customer (deleted; a restarted emulator)."""
    try:
        customer = _client().v1.customers.retrieve(customer_id)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return False
        raise
    return not _get(customer, "deleted", False)


# --- SetupIntents and payment methods ---------------------------------------------------------


@_translate_errors
def setup_intent_create(*, customer_id: str) -> SetupIntentInfo:
    """A SetupIntent for saving a card with Stripe.js (`confirmCardSetup` in the browser)."""
    intent = _client().v1.setup_intents.create(
        params={"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]}
    )
    return SetupIntentInfo(id=intent.id, client_secret=intent.client_secret, status=intent.status)


@_translate_errors
def setup_intent_retrieve(*, setup_intent_id: str) -> SetupIntentState:
    intent = _client().v1.setup_intents.retrieve(setup_intent_id)
    return SetupIntentState(
        status=intent.status,
        payment_method_id=_id_of(_get(intent, "payment_method")),
        customer_id=_id_of(_get(intent, "customer")),
    )


def _card_info(method) -> CardInfo:
    card = _get(method, "card") or {}
    return CardInfo(
        id=method.id,
        brand=str(_get(card, "brand", "") or ""),
        last4=str(_get(card, "last4", "") or ""),
        # The emulator returns modified expiry dates as strings.
        exp_month=int(_get(card, "exp_month", 0) or 0),
        exp_year=int(_get(card, "exp_year", 0) or 0),
        customer=_id_of(_get(method, "customer")),
    )


@_translate_errors
def payment_method_retrieve(*, payment_method_id: str) -> CardInfo:
    return _card_info(_client().v1.payment_methods.retrieve(payment_method_id))


@_translate_errors
def payment_method_attach(*, payment_method_id: str, customer_id: str) -> CardInfo:
    """Attach a card to the customer (the emulator does not attach on confirm; Stripe does:
    attaching an already attached card to the same customer is harmless)."""
    method = _client().v1.payment_methods.attach(
        payment_method_id, params={"customer": customer_id}
    )
    return _card_info(method)


@_translate_errors
def payment_method_detach(*, payment_method_id: str) -> None:
    _client().v1.payment_methods.detach(payment_method_id)


@_translate_errors
def payment_method_update_expiry(
    *, payment_method_id: str, exp_month: int, exp_year: int
) -> CardInfo:
    """Only the expiry date of a saved card can change; anything else is a new card."""
    method = _client().v1.payment_methods.update(
        payment_method_id, params={"card": {"exp_month": int(exp_month), "exp_year": int(exp_year)}}
    )
    return _card_info(method)


@_translate_errors
def payment_method_create_test_card(*, number: str, exp_month: int, exp_year: int) -> CardInfo:
    """Tests, demo seeding and the emulator only: real Stripe refuses raw card numbers."""
    if not is_test_mode():
        raise StripeRequestError("Raw card numbers are for test mode only.")
    method = _client().v1.payment_methods.create(
        params={
            "type": "card",
            "card": {
                "number": number,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "cvc": "123",
            },
        }
    )
    return _card_info(method)


# --- PaymentIntents and refunds ---------------------------------------------------------------


def _intent_info(intent) -> IntentInfo:
    error = _get(intent, "last_payment_error") or {}
    next_action = _get(intent, "next_action") or {}
    currency = str(_get(intent, "currency", "") or "").upper()
    amount_minor = int(_get(intent, "amount", 0) or 0)
    metadata = _get(intent, "metadata") or {}
    if hasattr(metadata, "to_dict"):
        metadata = metadata.to_dict()
    return IntentInfo(
        id=intent.id,
        status=str(_get(intent, "status", "")),
        client_secret=str(_get(intent, "client_secret", "") or ""),
        amount_minor=amount_minor,
        currency=currency,
        last_error_code=str(_get(error, "decline_code", "") or _get(error, "code", "") or ""),
        last_error_message=str(_get(error, "message", "") or ""),
        payment_method_id=_id_of(_get(intent, "payment_method")),
        amount=from_minor_units(amount_minor, currency) if currency else Decimal("0.00"),
        customer_id=_id_of(_get(intent, "customer")),
        created=int(_get(intent, "created", 0) or 0),
        metadata=dict(metadata),
        next_action_type=str(_get(next_action, "type", "") or ""),
    )


@_translate_errors
def payment_intent_create(
    *,
    amount: Decimal,
    currency: str,
    customer_id: str,
    idempotency_key: str,
    metadata: dict,
    payment_method_id: str | None = None,
    off_session: bool = False,
    confirm: bool = False,
) -> IntentInfo:
    """One PaymentIntent for an amount; `confirm`+`off_session` charges a saved card now.

    A decline during a confirming create raises CardError (with `payment_intent_id` when Stripe
    says which intent failed; the emulator does not)."""
    params: dict = {
        "amount": to_minor_units(amount, currency),
        "currency": currency.lower(),
        "customer": customer_id,
        "metadata": {k: str(v) for k, v in metadata.items()},
        "payment_method_types": ["card"],
    }
    if payment_method_id:
        params["payment_method"] = payment_method_id
    if confirm:
        params["confirm"] = True
        if off_session:
            params["off_session"] = True
    intent = _client().v1.payment_intents.create(params=params, options=_options(idempotency_key))
    return _intent_info(intent)


@_translate_errors
def payment_intent_retrieve(*, payment_intent_id: str) -> IntentInfo:
    return _intent_info(_client().v1.payment_intents.retrieve(payment_intent_id))


@_translate_errors
def payment_intent_cancel(*, payment_intent_id: str) -> IntentInfo:
    """Cancel an unfinished intent (Stripe refuses once it succeeded: StripeRequestError)."""
    return _intent_info(_client().v1.payment_intents.cancel(payment_intent_id))


@_translate_errors
def payment_intents_list(*, created_gte: int, limit: int = 100) -> list[IntentInfo]:
    """Every PaymentIntent created since `created_gte` (epoch seconds), paging through.

    The emulator rejects the `created` filter, so there we list everything and filter here."""
    params: dict = {"limit": min(max(limit, 1), 100)}
    if not is_emulated():
        params["created"] = {"gte": created_gte}
    result: list[IntentInfo] = []
    page = _client().v1.payment_intents.list(params=params)
    while True:
        result.extend(_intent_info(i) for i in page.data if int(i.created) >= created_gte)
        if not page.has_more or not page.data:
            return result
        page = _client().v1.payment_intents.list(
            params={**params, "starting_after": page.data[-1].id}
        )


@_translate_errors
def refund_create(
    *, payment_intent_id: str, amount: Decimal, currency: str, idempotency_key: str
) -> RefundInfo:
    refund = _client().v1.refunds.create(
        params={"payment_intent": payment_intent_id, "amount": to_minor_units(amount, currency)},
        options=_options(idempotency_key),
    )
    refund_currency = str(_get(refund, "currency", currency) or currency).upper()
    amount_minor = int(_get(refund, "amount", 0) or 0)
    return RefundInfo(
        id=refund.id,
        status=str(_get(refund, "status", "")),
        amount_minor=amount_minor,
        amount=from_minor_units(amount_minor, refund_currency),
        currency=refund_currency,
        payment_intent_id=_id_of(_get(refund, "payment_intent")) or payment_intent_id,
    )


# --- Webhooks ---------------------------------------------------------------------------------


def webhook_event_construct(*, payload: bytes, signature: str) -> dict:
    """The verified event as a plain dict; ValueError for a bad/stale signature or payload."""
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature or "",
            settings.STRIPE_WEBHOOK_SECRET,
            WEBHOOK_TOLERANCE,
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(str(exc) or "Invalid webhook") from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise ValueError("Not a Stripe event.")
    return event


def webhook_signature(
    *, payload: bytes, timestamp: int | None = None, secret: str | None = None
) -> str:
    """A Stripe-Signature header for `payload` (tests and the emulator's replays)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- Content Security Policy for pages that load Stripe.js ------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def stripe_csp_directives() -> tuple[dict, dict]:
    """(update, replace) for django-csp: Stripe.js origin in script-src and frame-src, its API
    in connect-src; nothing else is added."""
    js_origin = _origin(settings.STRIPE_JS_URL)
    api_origin = _origin(settings.STRIPE_API_BASE) if is_emulated() else REAL_STRIPE_API
    frames = [js_origin] if is_emulated() else [js_origin, REAL_STRIPE_HOOKS]
    update = {"script-src": [js_origin], "connect-src": [api_origin]}
    # frame-src is 'none' elsewhere: replace it rather than append to 'none'.
    replace = {"frame-src": frames}
    return update, replace


def stripe_csp(view):
    """Decorate the views of pages that load Stripe.js (card forms) — and only those."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        update, replace = stripe_csp_directives()
        response._csp_update = {**(getattr(response, "_csp_update", None) or {}), **update}
        response._csp_replace = {**(getattr(response, "_csp_replace", None) or {}), **replace}
        return response

    return wrapped
