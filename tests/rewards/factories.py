from datetime import date, datetime, time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from invoices.models import InvoiceAdjustment
from invoices.services import LineData, invoice_apply_adjustment
from plans.models import Plan, Subscription
from rewards.models import RewardEntry
from rewards.services import expiry_date
from tests.invoices.factories import make_invoice


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"PLAN-{n:04d}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    reward_rate = Decimal("5.00")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    organization = None  # Always given.
    plan = factory.SubFactory(PlanFactory)
    quantity = Decimal("1")
    unit_price = Decimal("100.0000")
    currency = factory.LazyAttribute(lambda o: o.organization.currency)
    frequency = Subscription.Frequency.MONTHLY
    start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=90))


def make_subscription_invoice(organization, lines: list[tuple[str, str]], **kwargs):
    """An issued invoice whose lines bill subscriptions: [(net amount, plan reward rate)]."""
    line_data = []
    for i, (amount, rate) in enumerate(lines, start=1):
        subscription = SubscriptionFactory(
            organization=organization, plan=PlanFactory(reward_rate=Decimal(rate))
        )
        line_data.append(
            LineData(
                description=f"Subscription {i}",
                quantity=Decimal("1"),
                unit_price=Decimal(amount),
                subscription_id=subscription.pk,
            )
        )
    return make_invoice(organization, lines=line_data, **kwargs)


def pay(invoice, amount=None, kind=InvoiceAdjustment.Kind.PAYMENT):
    invoice_apply_adjustment(
        invoice=invoice, kind=kind, amount=amount if amount is not None else invoice.balance
    )
    invoice.refresh_from_db()
    return invoice


def make_paid_invoice(organization, lines: list[tuple[str, str]], **kwargs):
    return pay(make_subscription_invoice(organization, lines, **kwargs))


_grant_counter = iter(range(1, 10**9))


def grant(organization, amount, *, currency=None, earned_on: date | None = None, expires_on=None):
    """An earned entry written directly (as the demo does), dated `earned_on`."""
    earned_on = earned_on or timezone.localdate()
    return RewardEntry.objects.create(
        organization=organization,
        currency=currency or organization.currency,
        kind=RewardEntry.Kind.EARNED,
        amount=Decimal(amount),
        created_at=timezone.make_aware(datetime.combine(earned_on, time(12))),
        expires_on=expires_on or expiry_date(earned_on),
        idempotency_key=f"test-grant-{next(_grant_counter)}",
    )


def balance_of(organization, currency=None) -> Decimal:
    currency = currency or organization.currency
    return (
        RewardEntry.objects.filter(organization=organization)
        .balances()
        .get(currency, Decimal("0.00"))
    )
