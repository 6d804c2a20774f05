from datetime import date
from decimal import Decimal

import pytest

from plans.demo import SUSPENSION_REASON, seed_plans
from plans.models import Plan, Subscription
from plans.services import billing_schedule
from tests.contacts.factories import OrganizationFactory
from tests.plans.factories import ContractFactory

pytestmark = pytest.mark.django_db


def test_seed_plans_gives_each_demo_organization_subscriptions_once():
    acme = OrganizationFactory(account_number="ACME-001", currency="USD")
    globex = OrganizationFactory(account_number="GLOBEX-001", currency="EUR", language="de")
    other = OrganizationFactory(account_number="OTHER-1")
    contract = ContractFactory(
        organization=acme, start_date=date(2020, 1, 1), end_date=date(2099, 1, 1)
    )

    seed_plans()
    seed_plans()

    assert dict(Plan.objects.values_list("name", "reward_rate")) == {
        "Cloud Platform": Decimal("2.00"),
        "Premier Support": Decimal("0.00"),
        "Database Enterprise": Decimal("1.50"),
        "Analytics seats": Decimal("3.00"),
    }
    for organization in (acme, globex):
        subscriptions = Subscription.objects.filter(organization=organization)
        assert 3 <= subscriptions.count() <= 5
        assert {s.frequency for s in subscriptions} == set(Subscription.Frequency.values)
        assert {s.currency for s in subscriptions} == {organization.currency}
        (suspended,) = subscriptions.filter(status=Subscription.Status.SUSPENDED)
        assert suspended.status_reason == SUSPENSION_REASON
        assert suspended.status_changed_at is not None
        assert billing_schedule(organization=organization).rows
    assert set(
        Subscription.objects.filter(organization=acme).values_list("contract", flat=True)
    ) == {contract.pk}
    assert set(
        Subscription.objects.filter(organization=globex).values_list("contract", flat=True)
    ) == {None}
    assert not Subscription.objects.filter(organization=other).exists()
