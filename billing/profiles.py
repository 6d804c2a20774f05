"""Billing profile and payment-method services: every write of those goes through here.

Payment-method changes talk to Stripe through billing.stripe_client only; our rows mirror
brand, last 4 and expiry (never card data). Every change e-mails the organization's finance
contacts a security notice and lands in the activity log.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import stripe_client
from billing.models import BillingProfile, PaymentMethod
from contacts.models import Contact, Organization
from contacts.roles import Action, Role
from contacts.services import activity_record
from portal.emails import email_queue

logger = logging.getLogger(__name__)

# Activity verbs written here (the lead adds them to ActivityEvent.Verb for labels).
VERB_PROFILE_CHANGED = "billing_profile_changed"
VERB_TAX_ID_REQUESTED = "tax_id_change_requested"
VERB_METHOD_CHANGED = "payment_method_changed"

PROFILE_FIELDS = (
    "contact_name",
    "contact_email",
    "contact_phone",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "invoice_recipients",
    "auto_pay",
)
EXPIRY_YEARS_AHEAD = 20
REMINDER_DAYS_BEFORE = 30


BRAND_LABELS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def method_label(method: PaymentMethod) -> str:
    """ "Visa •••• 4242": how a card is named on pages and in e-mails."""
    brand = BRAND_LABELS.get(method.brand, method.brand.capitalize() or "Card")
    return f"{brand} •••• {method.last4}"


class BillingError(Exception):
    """A refused change, with a message fit for the person who asked."""


def _check_may_change(contact: Contact) -> None:
    if not contact.can_do(Action.PAY):
        raise BillingError(_("Your role in this organization does not allow this action."))
    if not contact.organization.allows_changes:
        raise BillingError(_("This account is closed: you can read, but not make changes."))


# --- Billing profile ------------------------------------------------------------------------


def billing_profile_get(*, organization: Organization) -> BillingProfile:
    """The organization's profile, created empty on first use (race-safe)."""
    profile = BillingProfile.objects.filter(organization=organization).first()
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            return BillingProfile.objects.create(organization=organization)
    except IntegrityError:
        return BillingProfile.objects.get(organization=organization)


def tax_id_is_locked(*, organization: Organization) -> bool:
    """Once an invoice was issued with a tax ID, only staff may change it."""
    from invoices.models import Invoice

    return Invoice.objects.filter(organization=organization).exists()


@dataclass
class ProfileChange:
    profile: BillingProfile
    changed: list[str] = field(default_factory=list)
    tax_id_requested: bool = False


def billing_profile_update(
    *, contact: Contact, actor, data: dict, tax_id: str | None = None
) -> ProfileChange:
    """Save the profile fields in `data`; a tax ID change becomes a request once locked."""
    _check_may_change(contact)
    organization = contact.organization
    billing_profile_get(organization=organization)
    with transaction.atomic():
        profile = BillingProfile.objects.select_for_update().get(organization=organization)
        change = ProfileChange(profile=profile)
        for name in PROFILE_FIELDS:
            if name in data and getattr(profile, name) != data[name]:
                setattr(profile, name, data[name])
                change.changed.append(name)
        tax_id = (tax_id or "").strip().upper() if tax_id is not None else None
        if tax_id is not None and tax_id != profile.tax_id:
            if tax_id_is_locked(organization=organization):
                if tax_id != profile.requested_tax_id:
                    profile.requested_tax_id = tax_id
                    change.tax_id_requested = True
            else:
                profile.tax_id = tax_id
                profile.requested_tax_id = ""
                change.changed.append("tax_id")
        fields = change.changed + (["requested_tax_id"] if change.tax_id_requested else [])
        if not fields:
            return change
        if "tax_id" in change.changed:
            fields.append("requested_tax_id")
        profile.save(update_fields=[*fields, "updated_at"])
        if change.changed:
            activity_record(
                organization=organization,
                actor=actor,
                verb=VERB_PROFILE_CHANGED,
                target=", ".join(change.changed),
                data={"fields": change.changed},
            )
        if change.tax_id_requested:
            activity_record(
                organization=organization,
                actor=actor,
                verb=VERB_TAX_ID_REQUESTED,
                target=tax_id,
                data={"current": profile.tax_id, "requested": tax_id},
            )
            email_queue(
                template="tax_id_change_requested",
                to=[settings.STAFF_NOTIFICATIONS_EMAIL],
                context={
                    "organization": organization,
                    "profile": profile,
                    "requested_by": actor,
                },
                language=settings.LANGUAGE_CODE,
                dedupe_key=f"tax-id-request:{organization.pk}:{tax_id}",
            )
    return change


# --- Payment methods: notices ------------------------------------------------------------------


class MethodChange:
    ADDED = "added"
    REMOVED = "removed"
    DEFAULT = "default"
    EXPIRY = "expiry"


def _finance_users(organization_ids) -> dict[int, list]:
    users: dict[int, list] = {}
    for contact in (
        Contact.objects.with_role(Role.FINANCE)
        .filter(organization_id__in=organization_ids)
        .select_related("user")
        .order_by("pk")
    ):
        users.setdefault(contact.organization_id, []).append(contact.user)
    return users


def _method_changed(*, organization, actor, method: PaymentMethod, change: str, extra=None):
    """Activity + a security notice to every finance contact, in each one's language."""
    event = activity_record(
        organization=organization,
        actor=actor,
        verb=VERB_METHOD_CHANGED,
        target=str(method),
        data={"change": change, "method": str(method.public_id), **(extra or {})},
    )
    for user in _finance_users([organization.pk]).get(organization.pk, []):
        email_queue(
            template="payment_method_changed",
            to=[user.email],
            context={
                "organization": organization,
                "method": method,
                "card": method_label(method),
                "change": change,
                "actor": actor,
                "changed_at": event.created_at,
            },
            language=user.language,
            dedupe_key=f"payment-method-changed:{event.pk}:{user.pk}",
        )


# --- Payment methods: changes -------------------------------------------------------------------


def payment_method_setup_start(*, contact: Contact) -> stripe_client.SetupIntentInfo:
    """A SetupIntent for the card form (Stripe.js `confirmCardSetup`)."""
    _check_may_change(contact)
    profile = billing_profile_get(organization=contact.organization)
    customer_id = stripe_client.customer_ensure(profile=profile)
    return stripe_client.setup_intent_create(customer_id=customer_id)


def payment_method_add(*, contact: Contact, actor, setup_intent_id: str) -> PaymentMethod:
    """Mirror the card a confirmed SetupIntent saved; the first card becomes the default.

    Safe to call twice (double submit): the second call returns the same row."""
    _check_may_change(contact)
    organization = contact.organization
    profile = billing_profile_get(organization=organization)
    state = stripe_client.setup_intent_retrieve(setup_intent_id=setup_intent_id)
    customer_id = stripe_client.customer_ensure(profile=profile)
    if state.customer_id and state.customer_id != customer_id:
        raise BillingError(_("This card setup does not belong to your organization."))
    if state.status != "succeeded" or not state.payment_method_id:
        raise BillingError(_("The card was not confirmed. Nothing was saved; please try again."))
    existing = PaymentMethod.objects.filter(
        stripe_payment_method_id=state.payment_method_id
    ).first()
    if existing is not None:
        if existing.organization_id != organization.pk:
            raise BillingError(_("This card setup does not belong to your organization."))
        return existing
    card = stripe_client.payment_method_retrieve(payment_method_id=state.payment_method_id)
    if card.customer != customer_id:
        # The emulator does not attach on confirm; real Stripe does (then this is skipped).
        card = stripe_client.payment_method_attach(
            payment_method_id=card.id, customer_id=customer_id
        )
    with transaction.atomic():
        # Lock the organization's cards so that two first cards can't both become default.
        locked = list(
            PaymentMethod.objects.select_for_update().filter(organization=organization).usable()
        )
        existing = PaymentMethod.objects.filter(stripe_payment_method_id=card.id).first()
        if existing is not None:
            return existing
        method = PaymentMethod.objects.create(
            organization=organization,
            stripe_payment_method_id=card.id,
            brand=card.brand[:30] or "card",
            last4=card.last4[:4],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            is_default=not locked,
        )
        _method_changed(
            organization=organization, actor=actor, method=method, change=MethodChange.ADDED
        )
    return method


def payment_method_make_default(*, contact: Contact, actor, method: PaymentMethod) -> bool:
    """Make `method` the default card; False if it already was."""
    _check_may_change(contact)
    with transaction.atomic():
        methods = {
            m.pk: m
            for m in PaymentMethod.objects.select_for_update()
            .filter(organization_id=method.organization_id)
            .usable()
        }
        target = methods.get(method.pk)
        if target is None:
            raise BillingError(_("This card was removed."))
        if target.is_default:
            return False
        if target.is_expired():
            raise BillingError(
                _("This card has expired: update its expiry date before making it the default.")
            )
        # Clear the old default first: at most one default exists at any moment.
        PaymentMethod.objects.filter(
            organization_id=method.organization_id, is_default=True
        ).update(is_default=False)
        PaymentMethod.objects.filter(pk=target.pk).update(is_default=True)
        target.is_default = True
        _method_changed(
            organization=contact.organization,
            actor=actor,
            method=target,
            change=MethodChange.DEFAULT,
        )
    method.is_default = True
    return True


def payment_method_remove(
    *, contact: Contact, actor, method: PaymentMethod, new_default: PaymentMethod | None = None
) -> PaymentMethod | None:
    """Remove a card (detached at Stripe, kept here for the history).

    Removing the default while other cards remain needs `new_default`, one of those cards.
    Returns the new default, if any."""
    _check_may_change(contact)
    with transaction.atomic():
        methods = {
            m.pk: m
            for m in PaymentMethod.objects.select_for_update()
            .filter(organization_id=method.organization_id)
            .usable()
        }
        target = methods.get(method.pk)
        if target is None:
            return None  # Already removed (double submit).
        others = [m for m in methods.values() if m.pk != target.pk]
        promoted = None
        if target.is_default and others:
            if new_default is None or new_default.pk not in {m.pk for m in others}:
                raise BillingError(
                    _("Choose which card becomes the default before removing this one.")
                )
            promoted = methods[new_default.pk]
        try:
            stripe_client.payment_method_detach(payment_method_id=target.stripe_payment_method_id)
        except stripe_client.StripeRequestError as error:
            # Already gone at Stripe (detached elsewhere): removing our mirror is what's left.
            logger.info("Detach of %s refused: %s", target.stripe_payment_method_id, error)
        PaymentMethod.objects.filter(pk=target.pk).update(
            removed_at=timezone.now(), is_default=False
        )
        target.is_default = False
        if promoted is not None:
            PaymentMethod.objects.filter(pk=promoted.pk).update(is_default=True)
            promoted.is_default = True
        _method_changed(
            organization=contact.organization,
            actor=actor,
            method=target,
            change=MethodChange.REMOVED,
            extra={"new_default": str(promoted.public_id)} if promoted else None,
        )
    return promoted


def expiry_is_valid(exp_month: int, exp_year: int, today: date | None = None) -> str | None:
    """None if the expiry is acceptable, else the reason."""
    today = today or timezone.localdate()
    if not 1 <= exp_month <= 12:
        return _("Enter a month from 1 to 12.")
    if not today.year <= exp_year <= today.year + EXPIRY_YEARS_AHEAD:
        return _("Enter a year from %(first)d to %(last)d.") % {
            "first": today.year,
            "last": today.year + EXPIRY_YEARS_AHEAD,
        }
    if (exp_year, exp_month) < (today.year, today.month):
        return _("This date is in the past.")
    return None


def payment_method_update_expiry(
    *, contact: Contact, actor, method: PaymentMethod, exp_month: int, exp_year: int
) -> PaymentMethod:
    """Change only the expiry date (the FAQ's rule: anything else means adding a new card)."""
    _check_may_change(contact)
    problem = expiry_is_valid(exp_month, exp_year)
    if problem:
        raise BillingError(problem)
    if method.removed_at is not None:
        raise BillingError(_("This card was removed."))
    if (method.exp_month, method.exp_year) == (exp_month, exp_year):
        return method
    card = stripe_client.payment_method_update_expiry(
        payment_method_id=method.stripe_payment_method_id, exp_month=exp_month, exp_year=exp_year
    )
    with transaction.atomic():
        previous = f"{method.exp_month:02d}/{method.exp_year}"
        method.exp_month, method.exp_year = card.exp_month, card.exp_year
        # A new date gets its own reminders.
        method.reminded_soon_at = method.reminded_expired_at = None
        method.save(
            update_fields=["exp_month", "exp_year", "reminded_soon_at", "reminded_expired_at"]
        )
        _method_changed(
            organization=contact.organization,
            actor=actor,
            method=method,
            change=MethodChange.EXPIRY,
            extra={"previous": previous, "new": f"{method.exp_month:02d}/{method.exp_year}"},
        )
    return method


# --- Expiring-card reminders (daily beat job) -----------------------------------------------


def expiry_last_day(exp_month: int, exp_year: int) -> date:
    """A card is valid through the last day of its expiry month."""
    return date(exp_year, exp_month, calendar.monthrange(exp_year, exp_month)[1])


def _valid_through_at_most(day: date) -> Q:
    """Cards whose last valid day (end of the expiry month) is on or before `day`."""
    if day == expiry_last_day(day.month, day.year):
        same_month = Q(exp_year=day.year, exp_month__lte=day.month)
    else:
        same_month = Q(exp_year=day.year, exp_month__lt=day.month)
    return Q(exp_year__lt=day.year) | same_month


def _expired_q(today: date) -> Q:
    return _valid_through_at_most(today - timedelta(days=1))


def _expiring_q(today: date) -> Q:
    """Expired, or expiring within the reminder window."""
    return _valid_through_at_most(today + timedelta(days=REMINDER_DAYS_BEFORE))


def payment_methods_remind_expiring(*, today: date | None = None, limit: int = 500) -> int:
    """E-mail finance contacts 30 days before a card's expiry month ends and once it has
    expired — each once per card and expiry date (compare-and-set). Returns e-mails queued."""
    today = today or timezone.localdate()
    expired_q, expiring_q = _expired_q(today), _expiring_q(today)
    candidates = list(
        PaymentMethod.objects.usable()
        .exclude(organization__status=Organization.Status.CLOSED)
        .filter(
            (expired_q & Q(reminded_expired_at__isnull=True))
            | (expiring_q & ~expired_q & Q(reminded_soon_at__isnull=True))
        )
        .select_related("organization")
        .order_by("pk")[:limit]
    )
    recipients = _finance_users({m.organization_id for m in candidates})
    queued = 0
    now = timezone.now()
    for method in candidates:
        last_day = expiry_last_day(method.exp_month, method.exp_year)
        expired = last_day < today
        marker, kind = (
            ("reminded_expired_at", "expired") if expired else ("reminded_soon_at", "soon")
        )
        with transaction.atomic():
            update = {marker: now}
            if expired and method.reminded_soon_at is None:
                update["reminded_soon_at"] = now  # Too late for "soon": never send it later.
            claimed = PaymentMethod.objects.filter(
                pk=method.pk, **{f"{marker}__isnull": True}
            ).update(**update)
            if not claimed:
                continue  # Sent before, or another run took it.
            for user in recipients.get(method.organization_id, []):
                email_queue(
                    template="payment_method_expiring",
                    to=[user.email],
                    context={
                        "organization": method.organization,
                        "method": method,
                        "card": method_label(method),
                        "expired": expired,
                        "last_day": last_day,
                    },
                    language=user.language,
                    dedupe_key=(
                        f"card-{kind}:{method.public_id}:{method.exp_year}-{method.exp_month}:"
                        f"{user.pk}"
                    ),
                )
                queued += 1
    return queued


# --- Figures for pages and the dashboard --------------------------------------------------------


def expiring_soon_count(*, organization_id: int, today: date | None = None) -> int:
    """Usable cards that expired or expire within the reminder window (30 days)."""
    today = today or timezone.localdate()
    return (
        PaymentMethod.objects.usable()
        .filter(organization_id=organization_id)
        .filter(_expiring_q(today))
        .count()
    )


# --- Staff decisions (admin) ------------------------------------------------------------------


def billing_profile_tax_id_decide(*, profile: BillingProfile, staff_user, approve: bool) -> bool:
    """Apply (or turn down) a requested tax ID change; False if nothing was requested."""
    with transaction.atomic():
        locked = BillingProfile.objects.select_for_update().get(pk=profile.pk)
        requested = locked.requested_tax_id
        if not requested:
            return False
        fields = ["requested_tax_id", "updated_at"]
        if approve:
            locked.tax_id = requested
            fields.append("tax_id")
        locked.requested_tax_id = ""
        locked.save(update_fields=fields)
        activity_record(
            organization=locked.organization,
            actor=staff_user,
            verb=VERB_PROFILE_CHANGED,
            target=requested,
            data={
                "fields": ["tax_id"] if approve else [],
                "tax_id_request": requested,
                "decision": "approved" if approve else "declined",
            },
        )
    profile.refresh_from_db()
    return True
