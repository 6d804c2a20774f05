"""Payments: paying invoices, orders and failed charges; the money path of the portal.

How "no double charge" holds (Stripe's Idempotency-Key helps in production, but the emulator
ignores it, so these rules must hold by themselves):

- A `Payment` row is recorded BEFORE Stripe is called, under our own unique idempotency key:
  a hash of (organization, the sorted targets and amounts, the form token). Double clicks,
  the back button, retries and concurrent submissions of one form converge on one row.
- The PaymentIntent is created only while holding that row's lock (`select_for_update`) and
  only if the row has none yet: one row, one PaymentIntent.
- A target (invoice or order) with a payment in progress under another key is refused; a paid
  invoice is refused; amounts never exceed the balance (checked again on the locked rows, and
  once more at allocation time by the invoice totals service).
- A payment's status only moves forward (PAYMENT_TRANSITIONS), so webhooks arriving twice, late
  or out of order converge; allocation happens exactly once (compare-and-set on allocated_at).
- A failed payment's key is spent: the payment form issues a new token for the next attempt.

Decisions worth knowing:
- "A new card" is saved with a SetupIntent (Stripe.js `confirmCardSetup`, Card Element) and then
  charged like a saved card; 3-D Secure is confirmed with `confirmCardPayment(client_secret)`.
  Real Stripe could confirm a PaymentIntent with the Card Element directly, but the emulator's
  Stripe.js can't, and one flow for both keeps production and tests alike. The new card stays
  saved (not default unless the customer asks); it can be removed under Payment methods.
- If an invoice's balance shrank between the start of a payment and its success (a credit,
  a reward redemption or a payment booked by staff), only the remaining balance is applied; the
  difference is reported to staff by e-mail (and logged) to refund or credit by hand.
- A paid renewal quote renews its contract by RENEWAL_MONTHS from the current end date.
- Auto-pay does not retry an invoice that has an unresolved failed charge: the customer sees it
  under Payments due and pays it with another method (the failed charge then resolves).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import profiles, stripe_client
from billing.models import (
    ZERO,
    BillingProfile,
    FailedCharge,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from contacts.models import Contact, Organization
from contacts.roles import Action, Role
from contacts.services import activity_record
from invoices.models import Invoice, InvoiceAdjustment, InvoiceStatus
from invoices.services import InvoiceError, invoice_apply_adjustment
from orders.models import Order
from portal.emails import email_queue
from portal.money import quantize

logger = logging.getLogger(__name__)

S = Payment.Status
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.PROCESSING, S.REQUIRES_ACTION, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED, S.REQUIRES_ACTION}),
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}
IN_PROGRESS = (S.CREATED, S.PROCESSING, S.REQUIRES_ACTION)
FINAL = (S.SUCCEEDED, S.FAILED, S.CANCELED)
# An unfinished payment older than this no longer blocks its targets (abandoned card form,
# closed 3-D Secure window): it is checked at Stripe and cancelled if still unfinished.
STALE_AFTER = timedelta(minutes=30)
RENEWAL_MONTHS = 12

# Activity verbs (labels for contacts.models.ActivityEvent.Verb are the lead's to add).
VERB_SUCCEEDED = "payment_succeeded"
VERB_FAILED = "payment_failed"
VERB_REFUNDED = "payment_refunded"


class PaymentError(Exception):
    """A refused or failed payment, with a message fit for the person who asked."""

    def __init__(self, message: str, *, code: str = "invalid", payment: Payment | None = None):
        super().__init__(message)
        self.code = code
        self.payment = payment

    @property
    def message(self) -> str:
        return str(self.args[0])


def unavailable_message() -> str:
    return _(
        "Our payment provider did not answer in time. If the payment went through, it shows "
        "here shortly; trying again never charges twice."
    )


# --- Small helpers ------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    import calendar

    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def new_form_token() -> str:
    """A fresh token for each rendering of a payment form (a failed payment's key is spent)."""
    return uuid.uuid4().hex


def payment_idempotency_key(
    *,
    organization: Organization,
    invoices: list[tuple[Invoice, Decimal]],
    orders: list[Order],
    failed_charge: FailedCharge | None,
    form_token: str,
) -> str:
    """Our key for one submission of one payment form: (organization, what it pays and how
    much, form token). A failed charge is identified by itself (what it still owes changes)."""
    if failed_charge is not None:
        targets = [f"failed:{failed_charge.pk}"]
    else:
        targets = sorted(
            [f"invoice:{invoice.pk}:{amount}" for invoice, amount in invoices]
            + [f"order:{order.pk}:{order.total}" for order in orders]
        )
    material = "|".join([str(organization.pk), *targets, form_token])
    return "pay:" + hashlib.sha256(material.encode()).hexdigest()


def failure_reason(payment: Payment) -> str:
    """Why a payment failed, in the active language (from its stored code)."""
    if payment.failure_code == "expired_card" and payment.payment_method_id:
        method = payment.payment_method
        return _("The card %(card)s expired at the end of %(month)02d/%(year)d.") % {
            "card": str(method),
            "month": method.exp_month,
            "year": method.exp_year,
        }
    if payment.failure_code == "stripe_unavailable":
        return unavailable_message()
    if payment.failure_code == "canceled":
        return _("The payment was cancelled. Nothing was charged.")
    if not payment.failure_code and not payment.failure_message:
        return ""
    return stripe_client.decline_reason(payment.failure_code)


# --- Status transitions -------------------------------------------------------------------------


def payment_transition(
    *, payment: Payment, to: str, failure_code: str = "", failure_message: str = ""
) -> bool:
    """Move a payment forward; False (and nothing changes) when the move is not allowed."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if to not in PAYMENT_TRANSITIONS[locked.status]:
            payment.status = locked.status
            return False
        fields = ["status"]
        locked.status = to
        if to == S.SUCCEEDED:
            locked.succeeded_at = timezone.now()
            fields.append("succeeded_at")
        if to in (S.FAILED, S.CANCELED):
            locked.failure_code = failure_code[:100]
            locked.failure_message = failure_message[:500]
            fields += ["failure_code", "failure_message"]
        locked.save(update_fields=fields)
    for name in ("status", "succeeded_at", "failure_code", "failure_message"):
        setattr(payment, name, getattr(locked, name))
    return True


def _status_for_intent(intent: stripe_client.IntentInfo) -> str | None:
    """Our status for a PaymentIntent's; None when it says nothing new (not confirmed yet)."""
    if intent.status == "requires_payment_method":
        # Back to "requires a payment method" after an attempt (declined, 3-D Secure failed
        # or cancelled) is a failure; without an error it is an intent not confirmed yet
        # (e.g. the payment_intent.created event): nothing to say.
        return S.FAILED if intent.last_error_code else None
    return {
        "succeeded": S.SUCCEEDED,
        "processing": S.PROCESSING,
        "requires_capture": S.PROCESSING,
        "requires_action": S.REQUIRES_ACTION,
        "requires_source_action": S.REQUIRES_ACTION,
        "canceled": S.CANCELED,
    }.get(intent.status)


def payment_apply_intent(*, payment: Payment, intent: stripe_client.IntentInfo) -> Payment:
    """Bring a payment up to what its PaymentIntent says; forward moves only. Idempotent."""
    if (
        intent.amount_minor
        and intent.currency
        and (intent.currency != payment.currency or intent.amount != payment.amount)
    ):
        logger.error("PaymentIntent %s does not match payment %s.", intent.id, payment.public_id)
        _staff_report(
            subject="PaymentIntent amount mismatch",
            lines=[f"{intent.id}: {intent.amount} {intent.currency} vs {payment}"],
            dedupe_key=f"intent-mismatch:{intent.id}",
        )
        return payment
    target = _status_for_intent(intent)
    if target is None:
        return payment
    if target == S.FAILED:
        code = intent.last_error_code or "card_declined"
        changed = payment_transition(
            payment=payment,
            to=S.FAILED,
            failure_code=code,
            failure_message=intent.last_error_message,
        )
        if changed:
            _cancel_intent_quietly(intent.id)
            _payment_failed(payment=payment)
        return payment
    changed = payment_transition(
        payment=payment,
        to=target,
        failure_code="canceled" if target == S.CANCELED else "",
    )
    if target == S.SUCCEEDED or payment.status == S.SUCCEEDED:
        payment_mark_succeeded(payment=payment)
    elif changed and target == S.CANCELED:
        _payment_failed(payment=payment)
    return payment


def _cancel_intent_quietly(intent_id: str) -> None:
    """A failed payment's intent is cancelled so that it can never succeed later."""
    try:
        stripe_client.payment_intent_cancel(payment_intent_id=intent_id)
    except stripe_client.StripeClientError as error:
        logger.info("Could not cancel PaymentIntent %s: %s", intent_id, error)


# --- Starting a payment -------------------------------------------------------------------------


@dataclass
class _Targets:
    invoices: list[tuple[Invoice, Decimal]]
    orders: list[Order]

    @property
    def total(self) -> Decimal:
        return sum((a for _i, a in self.invoices), ZERO) + sum((o.total for o in self.orders), ZERO)

    @property
    def currencies(self) -> set[str]:
        return {i.currency for i, _a in self.invoices} | {o.currency for o in self.orders}


def _failed_charge_targets(failed_charge: FailedCharge) -> _Targets:
    """What a failed charge still owes: its invoices' current balances and unpaid orders."""
    invoices, orders = [], []
    for allocation in failed_charge.payment.allocations.select_related("invoice", "order"):
        if allocation.invoice_id and allocation.invoice.balance > 0:
            invoices.append((allocation.invoice, allocation.invoice.balance))
        elif allocation.order_id and allocation.order.is_awaiting_payment:
            orders.append(allocation.order)
    return _Targets(invoices=invoices, orders=orders)


def _check_targets(
    *, organization: Organization, targets: _Targets, partial_reason: str
) -> list[tuple[Invoice, Decimal]]:
    """The server-side checks, on whatever rows are given (run again on locked rows)."""
    if not targets.invoices and not targets.orders:
        raise PaymentError(_("Choose at least one invoice or order to pay."))
    checked = []
    invoice_ids = [invoice.pk for invoice, _a in targets.invoices]
    order_ids = [order.pk for order in targets.orders]
    if len(set(invoice_ids)) != len(invoice_ids) or len(set(order_ids)) != len(order_ids):
        raise PaymentError(_("Each invoice or order can be paid only once in a payment."))
    for invoice, amount in targets.invoices:
        if invoice.organization_id != organization.pk:
            raise PaymentError(_("This invoice is not one of your organization's."))
        if invoice.status == InvoiceStatus.CLOSED or invoice.balance <= 0:
            raise PaymentError(
                _("Invoice %(number)s is already paid.") % {"number": invoice.number},
                code="paid",
            )
        amount = quantize(amount, invoice.currency)
        if amount <= 0:
            raise PaymentError(
                _("Enter an amount greater than zero for %(number)s.") % {"number": invoice.number}
            )
        if amount > invoice.balance:
            raise PaymentError(
                _("%(number)s has only %(balance)s left to pay: you can't pay more.")
                % {"number": invoice.number, "balance": invoice.balance},
                code="overpay",
            )
        if amount < invoice.balance and not partial_reason.strip():
            raise PaymentError(
                _("Tell us why you pay only part of %(number)s.") % {"number": invoice.number},
                code="partial_reason",
            )
        checked.append((invoice, amount))
    for order in targets.orders:
        if order.organization_id != organization.pk:
            raise PaymentError(_("This order is not one of your organization's."))
        if not order.is_awaiting_payment:
            raise PaymentError(
                _("Order %(number)s is not awaiting payment.") % {"number": order.number},
                code="paid",
            )
        if order.total <= 0:
            raise PaymentError(_("Order %(number)s has nothing to pay.") % {"number": order.number})
    if len(targets.currencies) > 1:
        raise PaymentError(
            _("Invoices and orders in different currencies can't be paid together."),
            code="currency",
        )
    return checked


def _check_method(method: PaymentMethod | None, organization: Organization) -> None:
    if method is None:
        return
    if method.organization_id != organization.pk or method.removed_at is not None:
        raise PaymentError(_("This card is no longer available. Choose another one."))
    if method.is_expired():
        raise PaymentError(
            _(
                "The card %(card)s has expired. Update its expiry date under Payment methods "
                "or choose another card."
            )
            % {"card": str(method)},
            code="expired_card",
        )


def _conflicting_payments(*, targets: _Targets, key: str) -> list[Payment]:
    """Unfinished payments of these targets under another key (another form, another tab)."""
    invoice_ids = [invoice.pk for invoice, _a in targets.invoices]
    order_ids = [order.pk for order in targets.orders]
    return list(
        Payment.objects.filter(status__in=IN_PROGRESS)
        .filter(Q(allocations__invoice_id__in=invoice_ids) | Q(allocations__order_id__in=order_ids))
        .exclude(idempotency_key=key)
        .distinct()
    )


def _release_stale(payments: list[Payment]) -> None:
    """Check stale unfinished payments at Stripe (cancelled unless they succeeded)."""
    for payment in payments:
        if payment.created_at > timezone.now() - STALE_AFTER:
            continue
        try:
            payment_abandon(payment=payment)
        except stripe_client.StripeClientError as error:
            logger.warning("Could not check stale payment %s: %s", payment.public_id, error)


def payment_start(
    *,
    contact: Contact,
    form_token: str,
    invoices: list[tuple[Invoice, Decimal]] | None = None,
    orders: list[Order] | None = None,
    failed_charge: FailedCharge | None = None,
    payment_method: PaymentMethod | None = None,
    partial_reason: str = "",
) -> Payment:
    """Record a payment (or find the one this form already started) and, with a saved card,
    charge it now. `payment_method=None` means "a new card": Stripe.js collects it next.

    Raises PaymentError (refused, declined, Stripe unavailable — `.payment` set when a payment
    row exists)."""
    organization = contact.organization
    if not contact.can_do(Action.PAY):
        raise PaymentError(_("Your role in this organization does not allow payments."))
    if orders and not organization.allows_purchases:
        raise PaymentError(
            _(
                "This account is not active: open invoices stay payable, "
                "but orders and renewals can't be paid."
            )
        )
    if not form_token or len(form_token) > 64:
        raise PaymentError(_("The payment form has expired. Please start again."))
    invoices = list(invoices or [])
    orders = list(orders or [])
    if any(not Decimal(amount).is_finite() for _invoice, amount in invoices):
        raise PaymentError(_("Enter a valid amount."))
    # The same form again (double click, back button, retry after an error) finds its payment
    # before anything else is checked: the invoices it paid are closed by now.
    key = payment_idempotency_key(
        organization=organization,
        invoices=[(invoice, quantize(amount, invoice.currency)) for invoice, amount in invoices],
        orders=orders,
        failed_charge=failed_charge,
        form_token=form_token,
    )
    payment = Payment.objects.filter(idempotency_key=key, organization=organization).first()
    if payment is None:
        if failed_charge is not None:
            if failed_charge.organization_id != organization.pk:
                raise PaymentError(_("This failed charge is not one of your organization's."))
            if failed_charge.resolved_at is not None:
                raise PaymentError(_("This failed charge has already been paid."), code="paid")
            if invoices or orders:
                raise PaymentError(_("Pay a failed charge on its own, without other invoices."))
            targets = _failed_charge_targets(failed_charge)
            if not targets.invoices and not targets.orders:
                raise PaymentError(
                    _("Everything this charge was for is already paid."), code="paid"
                )
        else:
            targets = _Targets(invoices=invoices, orders=orders)
        checked = _check_targets(
            organization=organization, targets=targets, partial_reason=partial_reason
        )
        targets = _Targets(invoices=checked, orders=targets.orders)
        _check_method(payment_method, organization)
        payment = _payment_record(
            organization=organization,
            paid_by=contact.user,
            targets=targets,
            key=key,
            payment_method=payment_method,
            partial_reason=partial_reason,
        )
    if payment.status in FINAL:
        return payment  # The same form submitted again: show what happened the first time.
    if payment_method is not None and not payment.stripe_payment_intent_id:
        payment_charge(payment=payment, payment_method=payment.payment_method or payment_method)
    return payment


def _payment_record(
    *,
    organization: Organization,
    paid_by,
    targets: _Targets,
    key: str,
    payment_method: PaymentMethod | None,
    partial_reason: str,
    origin: str = Payment.Origin.PORTAL,
) -> Payment:
    """The payment row under `key`, created with its allocations once (targets locked)."""
    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    _release_stale(_conflicting_payments(targets=targets, key=key))
    with transaction.atomic():
        # Lock the targets: concurrent payments of the same invoice or order queue here, and
        # each sees what the one before it committed.
        locked_invoices = {
            invoice.pk: invoice
            for invoice in Invoice.objects.select_for_update()
            .filter(pk__in=[invoice.pk for invoice, _a in targets.invoices])
            .order_by("pk")
        }
        locked_orders = {
            order.pk: order
            for order in Order.objects.select_for_update()
            .filter(pk__in=[order.pk for order in targets.orders])
            .order_by("pk")
        }
        existing = Payment.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing  # A concurrent submission of the same form won the race.
        locked_targets = _Targets(
            invoices=[(locked_invoices[i.pk], amount) for i, amount in targets.invoices],
            orders=[locked_orders[o.pk] for o in targets.orders],
        )
        _check_targets(
            organization=organization, targets=locked_targets, partial_reason=partial_reason
        )
        blocking = _conflicting_payments(targets=targets, key=key)
        if blocking:
            raise PaymentError(
                _(
                    "A payment for these invoices is already under way. Wait for it to finish "
                    "(see Payments) before paying again."
                ),
                code="in_progress",
                payment=blocking[0],
            )
        currency = next(iter(locked_targets.currencies))
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    organization=organization,
                    idempotency_key=key,
                    currency=currency,
                    amount=quantize(locked_targets.total, currency),
                    origin=origin,
                    payment_method=payment_method,
                    partial_reason=partial_reason.strip()[:500],
                    paid_by=paid_by,
                )
        except IntegrityError:
            return Payment.objects.get(idempotency_key=key)
        PaymentAllocation.objects.bulk_create(
            [
                PaymentAllocation(payment=payment, invoice=invoice, amount=amount)
                for invoice, amount in locked_targets.invoices
            ]
            + [
                PaymentAllocation(payment=payment, order=order, amount=order.total)
                for order in locked_targets.orders
            ]
        )
    return payment


STRIPE_TIMED_OUT = "stripe_unavailable"


def _intent_left_by_timeout(payment: Payment):
    """After a create that got no answer: the PaymentIntent Stripe made for it anyway, if any."""
    if payment.failure_code != STRIPE_TIMED_OUT:
        return None
    since = int(payment.created_at.timestamp()) - 60
    for intent in stripe_client.payment_intents_list(created_gte=since):
        if (intent.metadata or {}).get("payment") == str(payment.public_id):
            return intent
    return None


def payment_charge(
    *, payment: Payment, payment_method: PaymentMethod, off_session: bool = False
) -> Payment:
    """Create and confirm the payment's one PaymentIntent with a saved card (row locked while
    Stripe is called, so concurrent calls make one intent). Raises PaymentError."""
    _check_method(payment_method, payment.organization)
    intent = unavailable = None
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update().select_related("organization").get(pk=payment.pk)
        )
        if locked.stripe_payment_intent_id or locked.status != S.CREATED:
            _copy_state(locked, payment)
            return payment  # Someone else created the intent (double submit): converge.
        profile = profiles.billing_profile_get(organization=locked.organization)
        try:
            # A create that timed out may still have charged: adopt that intent, never a 2nd.
            intent = _intent_left_by_timeout(locked)
            if intent is not None:
                locked.stripe_payment_intent_id = intent.id
                locked.payment_method = payment_method
                locked.save(update_fields=["stripe_payment_intent_id", "payment_method"])
                _copy_state(locked, payment)
                payment_apply_intent(payment=payment, intent=intent)
                return payment
            customer_id = stripe_client.customer_ensure(profile=profile)
            intent = stripe_client.payment_intent_create(
                amount=locked.amount,
                currency=locked.currency,
                customer_id=customer_id,
                # Stripe replays the same intent for a retry of this call (the emulator doesn't).
                idempotency_key=f"payment-intent-{locked.public_id}",
                metadata={
                    "payment": str(locked.public_id),
                    "organization": str(locked.organization.public_id),
                    "origin": locked.origin,
                },
                payment_method_id=payment_method.stripe_payment_method_id,
                off_session=off_session,
                confirm=True,
            )
        except stripe_client.CardError as error:
            locked.stripe_payment_intent_id = error.payment_intent_id or ""
            locked.payment_method = payment_method
            locked.status = S.FAILED
            locked.failure_code = (error.decline_code or error.code)[:100]
            locked.failure_message = (error.message or "")[:500]
            locked.save(
                update_fields=[
                    "stripe_payment_intent_id",
                    "payment_method",
                    "status",
                    "failure_code",
                    "failure_message",
                ]
            )
        except (stripe_client.StripeUnavailable, stripe_client.StripeRequestError) as error:
            # Nothing recorded as paid; the row stays CREATED without an intent: a retry (same
            # form or the "try again" button) first looks for an intent Stripe made anyway.
            logger.warning("Payment %s not started at Stripe: %s", locked.public_id, error)
            unavailable = error
        else:
            locked.stripe_payment_intent_id = intent.id
            locked.payment_method = payment_method
            locked.save(update_fields=["stripe_payment_intent_id", "payment_method"])
    if unavailable is not None:
        # Outside the rolled-back transaction: the retry must look for an intent first.
        Payment.objects.filter(pk=payment.pk).update(failure_code=STRIPE_TIMED_OUT)
        raise PaymentError(
            unavailable_message(), code="unavailable", payment=payment
        ) from unavailable
    _copy_state(locked, payment)
    if intent is None:  # Declined.
        _payment_failed(payment=payment)
        raise PaymentError(failure_reason(payment), code="declined", payment=payment)
    if off_session and intent.status == "requires_action":
        # Nobody is there to authenticate: an off-session charge that needs 3-D Secure fails.
        _cancel_intent_quietly(intent.id)
        payment_transition(payment=payment, to=S.FAILED, failure_code="authentication_required")
        _payment_failed(payment=payment)
        raise PaymentError(failure_reason(payment), code="declined", payment=payment)
    payment_apply_intent(payment=payment, intent=intent)
    if payment.status == S.FAILED:
        raise PaymentError(failure_reason(payment), code="declined", payment=payment)
    return payment


def payment_card_setup_start(*, contact: Contact, payment: Payment) -> str:
    """A SetupIntent for the "new card" form of an unstarted payment: its client secret."""
    if payment.status != S.CREATED or payment.stripe_payment_intent_id:
        raise PaymentError(_("This payment has already been started."), payment=payment)
    try:
        intent = profiles.payment_method_setup_start(contact=contact)
    except stripe_client.StripeUnavailable as error:
        raise PaymentError(unavailable_message(), code="unavailable", payment=payment) from error
    except profiles.BillingError as error:
        raise PaymentError(str(error), payment=payment) from error
    return intent.client_secret


def payment_charge_new_card(*, contact: Contact, payment: Payment, setup_intent_id: str) -> Payment:
    """The browser saved a new card through Stripe.js (confirmCardSetup): keep it as a saved
    (not default) card and charge it for this payment. Raises PaymentError."""
    if payment.status != S.CREATED or payment.stripe_payment_intent_id:
        return payment  # Charged already (double submit of the card form): converge.
    try:
        method = profiles.payment_method_add(
            contact=contact, actor=contact.user, setup_intent_id=setup_intent_id
        )
    except stripe_client.CardError as error:
        raise PaymentError(error.reason, code="declined", payment=payment) from error
    except stripe_client.StripeUnavailable as error:
        raise PaymentError(unavailable_message(), code="unavailable", payment=payment) from error
    except (profiles.BillingError, stripe_client.StripeRequestError) as error:
        raise PaymentError(str(error), payment=payment) from error
    return payment_charge(payment=payment, payment_method=method)


def payment_make_default_method(*, contact: Contact, payment: Payment) -> bool:
    """ "Also make this my default": only once the payment succeeded, and only when asked —
    paying with another card never changes the default by itself."""
    if payment.status != S.SUCCEEDED or payment.payment_method_id is None:
        return False
    try:
        return profiles.payment_method_make_default(
            contact=contact, actor=contact.user, method=payment.payment_method
        )
    except profiles.BillingError as error:
        logger.info("Default not changed after payment %s: %s", payment.public_id, error)
        return False


def _copy_state(source: Payment, target: Payment) -> None:
    for name in (
        "status",
        "stripe_payment_intent_id",
        "payment_method_id",
        "failure_code",
        "failure_message",
        "succeeded_at",
        "allocated_at",
    ):
        setattr(target, name, getattr(source, name))


def payment_sync(*, payment: Payment) -> Payment:
    """Retrieve the PaymentIntent and move the payment forward (raises StripeUnavailable)."""
    if payment.status in FINAL and not (
        payment.status == S.SUCCEEDED and payment.allocated_at is None
    ):
        return payment
    if payment.status == S.SUCCEEDED:
        return payment_mark_succeeded(payment=payment)
    if not payment.stripe_payment_intent_id:
        return payment
    intent = stripe_client.payment_intent_retrieve(
        payment_intent_id=payment.stripe_payment_intent_id
    )
    return payment_apply_intent(payment=payment, intent=intent)


def payment_client_secret(*, payment: Payment) -> str:
    """The intent's client secret for Stripe.js (never stored; raises StripeUnavailable)."""
    if not payment.stripe_payment_intent_id:
        return ""
    intent = stripe_client.payment_intent_retrieve(
        payment_intent_id=payment.stripe_payment_intent_id
    )
    return intent.client_secret


def payment_abandon(*, payment: Payment) -> Payment:
    """An unfinished payment nobody completes: cancel its intent (unless it succeeded)."""
    if payment.status not in IN_PROGRESS:
        return payment
    if payment.stripe_payment_intent_id:
        intent = stripe_client.payment_intent_retrieve(
            payment_intent_id=payment.stripe_payment_intent_id
        )
        if intent.status not in ("succeeded", "processing", "canceled"):
            try:
                intent = stripe_client.payment_intent_cancel(payment_intent_id=intent.id)
            except stripe_client.StripeRequestError:
                intent = stripe_client.payment_intent_retrieve(payment_intent_id=intent.id)
        payment_apply_intent(payment=payment, intent=intent)
        return payment
    payment_transition(payment=payment, to=S.CANCELED, failure_code="canceled")
    return payment


# --- Success: allocation, orders, renewals, rewards, receipts ---------------------------------


def payment_mark_succeeded(*, payment: Payment) -> Payment:
    """Apply a succeeded payment to what it pays, exactly once (compare-and-set)."""
    from contracts.services import ContractError, contract_renew

    problems: list[str] = []
    closed_invoices: list[Invoice] = []
    with transaction.atomic():
        claimed = Payment.objects.filter(
            pk=payment.pk, status=S.SUCCEEDED, allocated_at__isnull=True
        ).update(allocated_at=timezone.now())
        if not claimed:
            payment.refresh_from_db()
            return payment
        locked = Payment.objects.select_related("organization", "paid_by").get(pk=payment.pk)
        reference = str(locked.public_id)
        allocations = list(
            locked.allocations.select_related("invoice", "order__contract").order_by("pk")
        )
        for allocation in allocations:
            if allocation.invoice_id:
                invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
                amount = min(allocation.amount, max(invoice.balance, ZERO))
                if amount > 0:
                    try:
                        invoice_apply_adjustment(
                            invoice=invoice,
                            kind=InvoiceAdjustment.Kind.PAYMENT,
                            amount=amount,
                            reference=reference,
                            note=_("Card payment"),
                            idempotency_key=f"payment:{locked.public_id}:{invoice.pk}",
                        )
                    except InvoiceError as error:
                        amount = ZERO
                        problems.append(f"{invoice.number}: {error}")
                if amount < allocation.amount:
                    problems.append(
                        f"{invoice.number}: {allocation.amount - amount} {locked.currency} "
                        "could not be applied (balance already lower): refund or credit it."
                    )
                if invoice.status == InvoiceStatus.CLOSED:
                    closed_invoices.append(invoice)
            else:
                order = allocation.order
                paid = Order.objects.filter(
                    pk=order.pk, payment_status=Order.PaymentStatus.AWAITING
                ).update(payment_status=Order.PaymentStatus.PAID)
                if not paid:
                    problems.append(
                        f"{order.number}: was no longer awaiting payment; "
                        f"{allocation.amount} {locked.currency} to refund or credit."
                    )
                    continue
                if order.contract_id:
                    contract = order.contract
                    try:
                        contract_renew(
                            contract=contract,
                            new_end_date=_add_months(contract.end_date, RENEWAL_MONTHS),
                            paid_order=order,
                        )
                    except ContractError as error:
                        problems.append(
                            f"{order.number}: contract {contract.number} not renewed: {error}"
                        )
        _resolve_failed_charges(payment=locked, allocations=allocations)
        activity_record(
            organization=locked.organization,
            actor=locked.paid_by,
            verb=VERB_SUCCEEDED,
            target=", ".join(_target_labels(allocations)),
            data={"payment": reference, "amount": str(locked.amount), "currency": locked.currency},
        )
        if problems:
            logger.error("Payment %s allocated with problems: %s", reference, problems)
            _staff_report(
                subject=f"Payment {reference}: allocation needs staff",
                lines=problems,
                dedupe_key=f"payment-allocation:{reference}",
            )
        payment_id = locked.pk
        transaction.on_commit(lambda: _after_success(payment_id), robust=True)
        for invoice in closed_invoices:
            transaction.on_commit(_earn_rewards(invoice), robust=True)
    payment.refresh_from_db()
    return payment


def _earn_rewards(invoice: Invoice):
    def run():
        from rewards.services import rewards_earn_for_invoice

        rewards_earn_for_invoice(invoice=invoice)

    return run


def _after_success(payment_id: int) -> None:
    from billing.tasks import payment_receipt_send_task

    try:
        payment_receipt_send_task.delay(payment_id)
    except Exception:  # Broker down: the receipts sweep (beat) sends it later.
        logger.warning("Could not enqueue the receipt of payment %s.", payment_id)


def _target_labels(allocations: list[PaymentAllocation]) -> list[str]:
    return [a.invoice.number if a.invoice_id else a.order.number for a in allocations]


def _resolve_failed_charges(*, payment: Payment, allocations: list[PaymentAllocation]) -> None:
    """Failed charges whose invoices and orders are now all paid are resolved by this payment."""
    invoice_ids = [a.invoice_id for a in allocations if a.invoice_id]
    order_ids = [a.order_id for a in allocations if a.order_id]
    candidates = (
        FailedCharge.objects.filter(
            organization_id=payment.organization_id, resolved_at__isnull=True
        )
        .filter(
            Q(payment__allocations__invoice_id__in=invoice_ids)
            | Q(payment__allocations__order_id__in=order_ids)
        )
        .distinct()
    )
    for failed in candidates:
        owed = FailedCharge.objects.filter(pk=failed.pk).filter(
            Q(payment__allocations__invoice__balance__gt=0)
            | Q(payment__allocations__order__payment_status=Order.PaymentStatus.AWAITING)
        )
        if owed.exists():
            continue
        FailedCharge.objects.filter(pk=failed.pk, resolved_at__isnull=True).update(
            resolved_by=payment, resolved_at=timezone.now()
        )


def _finance_users(organization_id: int):
    return [
        contact.user
        for contact in Contact.objects.with_role(Role.FINANCE)
        .filter(organization_id=organization_id)
        .select_related("user")
        .order_by("pk")
    ]


def payment_receipt_send(*, payment_id: int) -> int:
    """E-mail the receipt (PDF attached) to the payer and the finance contacts, each in their
    language; once (receipt_sent_at is claimed first, each e-mail has a dedupe key)."""
    from billing.receipts import receipt_pdf
    from portal.emails import Attachment

    with transaction.atomic():
        claimed = Payment.objects.filter(
            pk=payment_id,
            status=S.SUCCEEDED,
            allocated_at__isnull=False,
            receipt_sent_at__isnull=True,
        ).update(receipt_sent_at=timezone.now())
        if not claimed:
            return 0
        payment = (
            Payment.objects.select_related("organization", "paid_by", "payment_method")
            .prefetch_related(
                Prefetch(
                    "allocations",
                    queryset=PaymentAllocation.objects.select_related("invoice", "order").order_by(
                        "pk"
                    ),
                )
            )
            .get(pk=payment_id)
        )
        recipients = {}
        if payment.paid_by is not None:
            recipients[payment.paid_by.email.lower()] = payment.paid_by
        for user in _finance_users(payment.organization_id):
            recipients.setdefault(user.email.lower(), user)
        pdfs: dict[str, bytes] = {}
        for user in recipients.values():
            language = user.language or payment.organization.language
            if language not in pdfs:
                pdfs[language] = receipt_pdf(payment, language=language)
            email_queue(
                template="payment_receipt",
                to=[user.email],
                context={
                    "payment": payment,
                    "organization": payment.organization,
                    "recipient": user,
                },
                language=language,
                dedupe_key=f"payment-receipt:{payment.public_id}:{user.pk}",
                attachments=(
                    Attachment(
                        f"receipt-{str(payment.public_id)[:8]}.pdf",
                        pdfs[language],
                        "application/pdf",
                    ),
                ),
            )
        return len(recipients)


def payments_send_pending_receipts(*, limit: int = 200) -> int:
    """Sweep: receipts whose task could not be queued (broker outage)."""
    ids = list(
        Payment.objects.filter(
            status=S.SUCCEEDED, allocated_at__isnull=False, receipt_sent_at__isnull=True
        ).values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if payment_receipt_send(payment_id=pk))


# --- Failure ------------------------------------------------------------------------------------


def _payment_failed(*, payment: Payment) -> None:
    """Record a failure: activity; for auto-pay a failed charge and a note to finance, once."""
    payment = Payment.objects.select_related("organization", "payment_method", "paid_by").get(
        pk=payment.pk
    )
    activity_record(
        organization=payment.organization,
        actor=payment.paid_by,
        verb=VERB_FAILED,
        target=str(payment.public_id),
        data={
            "code": payment.failure_code,
            "amount": str(payment.amount),
            "currency": payment.currency,
        },
    )
    if payment.origin != Payment.Origin.AUTO_PAY:
        return
    with translation.override(payment.organization.language):
        reason = failure_reason(payment) or _("The card was declined.")
    failed, created = FailedCharge.objects.get_or_create(
        payment=payment,
        defaults={"organization": payment.organization, "reason": reason[:500]},
    )
    if not created:
        return
    for user in _finance_users(payment.organization_id):
        email_queue(
            template="payment_failed",
            to=[user.email],
            context={
                "payment": payment,
                "failed_charge": failed,
                "organization": payment.organization,
            },
            language=user.language or payment.organization.language,
            dedupe_key=f"payment-failed:{payment.public_id}:{user.pk}",
        )


# --- Auto-pay -----------------------------------------------------------------------------------


@dataclass
class AutopayResult:
    charged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def payments_autopay(*, today: date | None = None) -> AutopayResult:
    """Charge due and overdue invoices with the default card, off-session; once per invoice
    per day (key autopay:<invoice>:<date>). Failures become failed charges under Payments due."""
    today = today or timezone.localdate()
    result = AutopayResult()
    profiles = BillingProfile.objects.filter(auto_pay=True).exclude(
        organization__status=Organization.Status.CLOSED
    )
    for profile in profiles.select_related("organization"):
        method = (
            PaymentMethod.objects.usable()
            .filter(organization_id=profile.organization_id, is_default=True)
            .first()
        )
        if method is None:
            continue
        invoices = (
            Invoice.objects.unpaid()
            .filter(organization_id=profile.organization_id, due_date__lte=today, balance__gt=0)
            .exclude(
                Exists(
                    FailedCharge.objects.filter(
                        resolved_at__isnull=True, payment__allocations__invoice=OuterRef("pk")
                    )
                )
            )
            .order_by("due_date", "pk")
        )
        for invoice in invoices:
            outcome = _autopay_invoice(
                organization=profile.organization, invoice=invoice, method=method, today=today
            )
            getattr(result, outcome).append(invoice.number)
    return result


def _autopay_invoice(*, organization, invoice: Invoice, method: PaymentMethod, today: date) -> str:
    key = f"autopay:{invoice.pk}:{today.isoformat()}"
    if Payment.objects.filter(idempotency_key=key).exists():
        return "skipped"
    targets = _Targets(invoices=[(invoice, invoice.balance)], orders=[])
    if _conflicting_payments(targets=targets, key=key):
        return "skipped"
    try:
        payment = _payment_record(
            organization=organization,
            paid_by=None,
            targets=targets,
            key=key,
            payment_method=method,
            partial_reason="",
            origin=Payment.Origin.AUTO_PAY,
        )
    except PaymentError:
        return "skipped"
    if payment.status != S.CREATED or payment.stripe_payment_intent_id:
        return "skipped"  # Another run got there first.
    if method.is_expired(today):
        # The emulator does not model expiry (and Stripe may still charge an expired card):
        # our rule is the card's own expiry date.
        if payment_transition(payment=payment, to=S.FAILED, failure_code="expired_card"):
            _payment_failed(payment=payment)
        return "failed"
    try:
        payment_charge(payment=payment, payment_method=method, off_session=True)
    except PaymentError as error:
        if error.code == "unavailable":
            # Not a card problem: cancel this attempt quietly; tomorrow's run tries again.
            payment_transition(payment=payment, to=S.CANCELED, failure_code="stripe_unavailable")
            return "skipped"
        return "failed"
    return "charged" if payment.status == S.SUCCEEDED else "skipped"


# --- Reconciliation -----------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    fixed: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def payments_reconcile(*, since: datetime) -> ReconcileReport:
    """Compare recent PaymentIntents with local payments; fix what is safe, report the rest."""
    report = ReconcileReport()
    intents = stripe_client.payment_intents_list(created_gte=int(since.timestamp()))
    by_intent = {
        p.stripe_payment_intent_id: p
        for p in Payment.objects.filter(stripe_payment_intent_id__in=[i.id for i in intents])
    }
    public_ids = []
    for intent in intents:
        try:
            public_ids.append(uuid.UUID(intent.metadata.get("payment", "")))
        except ValueError:
            continue
    by_public_id = {str(p.public_id): p for p in Payment.objects.filter(public_id__in=public_ids)}
    seen: set[int] = set()
    for intent in intents:
        payment = by_intent.get(intent.id) or by_public_id.get(intent.metadata.get("payment", ""))
        if payment is None:
            if intent.status == "succeeded":
                report.mismatches.append(
                    f"{intent.id}: succeeded at Stripe ({intent.amount} {intent.currency}) "
                    "but unknown here."
                )
            continue
        seen.add(payment.pk)
        if payment.stripe_payment_intent_id and payment.stripe_payment_intent_id != intent.id:
            if intent.status == "succeeded":
                report.mismatches.append(
                    f"{intent.id}: a second succeeded intent for payment {payment.public_id}."
                )
            continue
        if not payment.stripe_payment_intent_id:
            Payment.objects.filter(pk=payment.pk, stripe_payment_intent_id="").update(
                stripe_payment_intent_id=intent.id
            )
            payment.stripe_payment_intent_id = intent.id
        if intent.status == "succeeded":
            if payment.status in IN_PROGRESS or (
                payment.status == S.SUCCEEDED and payment.allocated_at is None
            ):
                payment_apply_intent(payment=payment, intent=intent)
                report.fixed.append(f"{payment.public_id}: succeeded at Stripe, now applied here.")
            elif payment.status != S.SUCCEEDED:
                report.mismatches.append(
                    f"{payment.public_id} ({intent.id}): charged at Stripe but {payment.status} "
                    "here: refund or apply it by hand."
                )
        elif payment.status == S.SUCCEEDED:
            report.mismatches.append(
                f"{payment.public_id} ({intent.id}): succeeded here but {intent.status} at Stripe."
            )
        elif payment.status in IN_PROGRESS and payment.created_at < timezone.now() - STALE_AFTER:
            payment_apply_intent(payment=payment, intent=intent)
    # Unfinished payments nobody completed (closed tab, abandoned 3-D Secure): cancelled at
    # Stripe and here, so they no longer block their invoices (a success found is applied).
    for payment in Payment.objects.filter(
        status__in=IN_PROGRESS, created_at__lt=timezone.now() - STALE_AFTER
    ).order_by("pk")[:500]:
        try:
            payment_abandon(payment=payment)
        except stripe_client.StripeClientError as error:
            logger.warning("Could not close stale payment %s: %s", payment.public_id, error)
    missing = (
        Payment.objects.filter(status=S.SUCCEEDED, created_at__gte=since)
        .exclude(pk__in=seen)
        .exclude(stripe_payment_intent_id="")
    )
    for payment in missing:
        report.mismatches.append(
            f"{payment.public_id} ({payment.stripe_payment_intent_id}): succeeded here, "
            "not found at Stripe."
        )
    for line in report.fixed + report.mismatches:
        logger.warning("Reconciliation: %s", line)
    if report.fixed or report.mismatches:
        digest = hashlib.sha256("\n".join(report.fixed + report.mismatches).encode()).hexdigest()
        _staff_report(
            subject="Payments reconciliation",
            lines=[*(f"Fixed: {line}" for line in report.fixed), *report.mismatches],
            dedupe_key=f"payments-reconcile:{digest[:32]}",
        )
    return report


def _staff_report(*, subject: str, lines: list[str], dedupe_key: str) -> None:
    recipient = getattr(settings, "STAFF_NOTIFICATIONS_EMAIL", "") or settings.SERVER_EMAIL
    email_queue(
        template="payment_staff_report",
        to=[recipient],
        context={"subject": subject, "lines": lines},
        language=settings.LANGUAGE_CODE,
        dedupe_key=dedupe_key,
    )


# --- Refunds --------------------------------------------------------------------------------------


def payment_refund(*, payment: Payment, amount: Decimal, staff_user, reason: str) -> Decimal:
    """Staff refund (from the admin): refund at Stripe, then apply it to the invoices. The
    charge.refunded webhook that follows finds the same total refunded and changes nothing.
    Returns the amount applied. Raises PaymentError."""
    payment.refresh_from_db()
    amount = quantize(amount, payment.currency)
    if payment.status != S.SUCCEEDED or not payment.stripe_payment_intent_id:
        raise PaymentError(_("Only a succeeded payment can be refunded."))
    refunded_before = payment.amount_refunded
    if amount <= 0 or amount > payment.amount - refunded_before:
        raise PaymentError(
            _("A refund must be more than zero and at most %(left)s.")
            % {"left": payment.amount - refunded_before}
        )
    if not reason.strip():
        raise PaymentError(_("Give a reason for the refund."))
    try:
        refund = stripe_client.refund_create(
            payment_intent_id=payment.stripe_payment_intent_id,
            amount=amount,
            currency=payment.currency,
            # Stable for a retried click, different for the next refund of this payment.
            idempotency_key=f"refund-{payment.public_id}-{refunded_before}-{amount}",
        )
    except stripe_client.StripeUnavailable as error:
        raise PaymentError(unavailable_message(), code="unavailable") from error
    except stripe_client.StripeRequestError as error:
        raise PaymentError(str(error), code="refused") from error
    return payment_refund_apply(
        payment=payment,
        refund_id=refund.id,
        total_refunded=refunded_before + refund.amount,
        actor=staff_user,
        note=reason,
    )


def payment_refund_apply(
    *,
    payment: Payment,
    refund_id: str,
    total_refunded: Decimal,
    actor=None,
    note: str = "",
) -> Decimal:
    """Bring the payment's refunded amount up to `total_refunded` (what Stripe says was
    refunded in all), applying only the difference to the invoices' balances — so the staff
    service and the webhook, in either order and any number of times, apply a refund once.
    Returns the amount applied now."""
    from rewards.services import rewards_reverse_for_invoice

    reopened: list[Invoice] = []
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update().select_related("organization").get(pk=payment.pk)
        )
        total = min(quantize(total_refunded, locked.currency), locked.amount)
        amount = total - locked.amount_refunded
        if amount <= 0:
            payment.amount_refunded = locked.amount_refunded
            return ZERO
        reference = str(locked.public_id)
        # What this payment paid on each invoice, net of earlier refunds; refunds come back
        # from the last invoice first.
        net: dict[int, Decimal] = {}
        invoices: dict[int, Invoice] = {}
        for adjustment in (
            InvoiceAdjustment.objects.filter(reference=reference)
            .select_related("invoice")
            .order_by("pk")
        ):
            sign = 1 if adjustment.kind == InvoiceAdjustment.Kind.PAYMENT else -1
            net[adjustment.invoice_id] = (
                net.get(adjustment.invoice_id, ZERO) + sign * adjustment.amount
            )
            invoices[adjustment.invoice_id] = adjustment.invoice
        remaining = amount
        for invoice_id in sorted(net, reverse=True):
            take = min(remaining, net[invoice_id])
            if take <= 0:
                continue
            invoice_apply_adjustment(
                invoice=invoices[invoice_id],
                kind=InvoiceAdjustment.Kind.REFUND,
                amount=take,
                reference=reference,
                note=_("Refund %(refund)s") % {"refund": refund_id},
                idempotency_key=f"refund:{refund_id}:{invoice_id}"[:120],
            )
            reopened.append(invoices[invoice_id])
            remaining -= take
            if remaining <= 0:
                break
        locked.amount_refunded = total
        locked.save(update_fields=["amount_refunded"])
        activity_record(
            organization=locked.organization,
            actor=actor,
            verb=VERB_REFUNDED,
            target=reference,
            data={
                "refund": refund_id,
                "amount": str(amount),
                "currency": locked.currency,
                "note": note[:200],
            },
        )
        for invoice in reopened:
            transaction.on_commit(
                _reverse_rewards(invoice, rewards_reverse_for_invoice), robust=True
            )
    payment.amount_refunded = locked.amount_refunded
    return amount


def _reverse_rewards(invoice, reverse):
    return lambda: reverse(invoice=invoice)


# --- Read side: payments due, dashboard -----------------------------------------------------


def payments_due_summary(contact: Contact) -> dict:
    """Totals for the billing overview and the dashboard, in three aggregate queries."""
    today = timezone.localdate()
    due: dict[str, Decimal] = {}
    rows = (
        Invoice.objects.visible_to(contact)
        .unpaid()
        .order_by()
        .values("currency")
        .annotate(
            balance=Sum("balance", default=ZERO),
            count=Count("pk"),
            overdue=Count("pk", filter=Q(status=InvoiceStatus.OVERDUE)),
            next_due=Min("due_date"),
        )
    )
    invoices = {"count": 0, "overdue": 0, "next_due": None}
    for row in rows:
        due[row["currency"]] = due.get(row["currency"], ZERO) + row["balance"]
        invoices["count"] += row["count"]
        invoices["overdue"] += row["overdue"]
        if invoices["next_due"] is None or row["next_due"] < invoices["next_due"]:
            invoices["next_due"] = row["next_due"]
    order_rows = (
        Order.objects.visible_to(contact)
        .awaiting_payment()
        .order_by()
        .values("currency")
        .annotate(total=Sum("total", default=ZERO), count=Count("pk"))
    )
    orders = 0
    for row in order_rows:
        due[row["currency"]] = due.get(row["currency"], ZERO) + row["total"]
        orders += row["count"]
    failed = FailedCharge.objects.visible_to(contact).filter(resolved_at__isnull=True).count()
    return {
        "due": dict(sorted(due.items())),
        "invoices": invoices,
        "orders": orders,
        "failed_charges": failed,
        "today": today,
    }


def dashboard_figures(contact: Contact) -> dict:
    """For the dashboard's billing card: amount due now (per currency: invoices due by today
    and orders awaiting payment), the next automatic payment (date, amount) and unresolved
    failed charges — aggregate queries only. Merge into billing.dashboard.dashboard_card."""
    today = timezone.localdate()
    due_now: dict[str, Decimal] = {}
    for row in (
        Invoice.objects.visible_to(contact)
        .unpaid()
        .filter(due_date__lte=today)
        .order_by()
        .values("currency")
        .annotate(balance=Sum("balance", default=ZERO))
    ):
        due_now[row["currency"]] = row["balance"]
    for row in (
        Order.objects.visible_to(contact)
        .awaiting_payment()
        .order_by()
        .values("currency")
        .annotate(total=Sum("total", default=ZERO))
    ):
        due_now[row["currency"]] = due_now.get(row["currency"], ZERO) + row["total"]
    next_autopay = None
    profile = BillingProfile.objects.filter(organization_id=contact.organization_id).first()
    has_default = (
        PaymentMethod.objects.usable()
        .filter(organization_id=contact.organization_id, is_default=True)
        .exists()
    )
    if profile is not None and profile.auto_pay and has_default:
        upcoming = (
            Invoice.objects.visible_to(contact)
            .unpaid()
            .filter(balance__gt=0)
            .aggregate(first_due=Min("due_date"))["first_due"]
        )
        if upcoming is not None:
            run_on = max(upcoming, today)
            amounts = dict(
                Invoice.objects.visible_to(contact)
                .unpaid()
                .filter(due_date__lte=run_on)
                .order_by()
                .values("currency")
                .annotate(balance=Sum("balance", default=ZERO))
                .values_list("currency", "balance")
            )
            usual = contact.organization.currency
            currency = usual if usual in amounts else min(amounts, default=usual)
            next_autopay = {
                "date": run_on,
                "amounts": amounts,
                # The card template shows one amount: the organization's usual currency.
                "currency": currency,
                "amount": amounts.get(currency, ZERO),
            }
    failed = FailedCharge.objects.visible_to(contact).filter(resolved_at__isnull=True).count()
    return {
        "due_now": dict(sorted(due_now.items())),
        "next_auto_pay": next_autopay,
        "failed_charges": failed,
    }
