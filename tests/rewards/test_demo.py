from decimal import Decimal

import pytest

from accounts.demo import seed_users
from contacts.demo import seed_organizations
from contacts.models import Organization
from invoices.demo import seed_invoices
from rewards.demo import seed_rewards
from rewards.models import RewardEntry

pytestmark = pytest.mark.django_db


def test_demo_gives_each_demo_organization_a_balance_with_history_once():
    seed_users()
    seed_organizations()
    seed_invoices()
    seed_rewards()
    snapshot = list(RewardEntry.objects.order_by("id").values_list("id", "amount"))
    seed_rewards()
    assert list(RewardEntry.objects.order_by("id").values_list("id", "amount")) == snapshot
    for organization in Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"]):
        ledger = RewardEntry.objects.filter(organization=organization)
        kinds = set(ledger.values_list("kind", flat=True))
        assert {"earned", "redeemed", "expired"} <= kinds
        assert ledger.filter(kind="earned").count() >= 4
        assert ledger.balances()[organization.currency] > Decimal("0")
        assert set(ledger.values_list("currency", flat=True)) == {organization.currency}
