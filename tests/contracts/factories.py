from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from contracts.models import Contract, ContractRequest
from plans.models import Plan, Subscription


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"C-T{n:06d}")
    kind = Contract.Kind.SUBSCRIPTION
    title = factory.Sequence(lambda n: f"Agreement {n}")
    start_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=365))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    auto_renew = True
    currency = factory.LazyAttribute(lambda o: o.organization.currency)
    value = Decimal("12000.00")


class ContractRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractRequest

    contract = factory.SubFactory(ContractFactory)
    organization = factory.LazyAttribute(lambda o: o.contract.organization)
    kind = ContractRequest.Kind.RENEWAL
    requested_by = factory.LazyAttribute(lambda o: o.contract.organization.contacts.first().user)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"PLAN-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    organization = factory.LazyAttribute(lambda o: o.contract.organization)
    plan = factory.SubFactory(PlanFactory)
    quantity = Decimal("3")
    unit_price = Decimal("99.5000")
    currency = factory.LazyAttribute(lambda o: o.organization.currency)
    frequency = Subscription.Frequency.MONTHLY
    start_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))


def make_contract(organization, **fields) -> Contract:
    return ContractFactory(organization=organization, **fields)


def contract_ending_in(organization, days: int, *, today: date | None = None, **fields):
    today = today or timezone.localdate()
    return make_contract(organization, end_date=today + timedelta(days=days), **fields)


def url_samples(tenants) -> dict[str, str]:
    """The URL-walk keys of the contracts URLs, each an object of org A."""
    contract = make_contract(tenants.org_a, auto_renew=True)
    request = ContractRequestFactory(contract=contract, kind="cancellation")
    return {
        "contract_number": contract.number,
        "kind": "renewal",
        "request_id": str(request.public_id),
    }
