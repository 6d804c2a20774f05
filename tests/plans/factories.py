from datetime import date
from decimal import Decimal

import factory

from contracts.models import Contract
from plans.models import Plan, Subscription


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"PLAN-{n:04d}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    reward_rate = Decimal("0.00")


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"CT-{n:06d}")
    kind = Contract.Kind.SUBSCRIPTION
    title = "Subscription agreement"
    start_date = date(2026, 1, 1)
    end_date = date(2028, 12, 31)
    currency = factory.LazyAttribute(lambda o: o.organization.currency)
    value = Decimal("10000.00")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    plan = factory.SubFactory(PlanFactory)
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    currency = factory.LazyAttribute(lambda o: o.organization.currency)
    tax_rate = Decimal("0.00")
    frequency = Subscription.Frequency.MONTHLY
    start_date = date(2026, 1, 1)
