"""The contract list and detail pages: filters, derived statuses, isolation, query budgets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from contacts.roles import Module
from contracts.dashboard import dashboard_card
from contracts.models import Contract, ContractRequest
from orders.models import Order
from plans.models import Subscription
from tests.conftest import sign_in
from tests.contracts.factories import (
    ContractRequestFactory,
    PlanFactory,
    SubscriptionFactory,
    contract_ending_in,
    make_contract,
)
from tests.query_budget import assert_flat_query_count


@pytest.fixture
def tech_client(tenants, client):
    return sign_in(client, tenants.bob.user)


def _numbers(response) -> list[str]:
    return [row.record.number for row in response.context["table"].paginated_rows]


def test_every_role_reads_the_list_and_sees_only_its_organization(tenants, client):
    make_contract(tenants.org_a, number="A-C-1")
    make_contract(tenants.org_b, number="B-C-1")
    for contact in (tenants.alice, tenants.bob, tenants.fin):
        sign_in(client, contact.user)
        response = client.get(reverse("contracts:list"))
        assert response.status_code == 200
        assert _numbers(response) == ["A-C-1"]
        assert "B-C-1" not in response.content.decode()


def test_list_shows_value_auto_renew_and_a_status_badge_with_text(tenants, tech_client):
    contract_ending_in(tenants.org_a, 30, number="SOON-1", value=Decimal("1234.5"))
    content = tech_client.get(reverse("contracts:list")).content.decode()
    assert "$1,234.50" in content
    assert "⚠ Expiring" in content and "row-flagged" in content
    assert reverse("contracts:detail", args=["SOON-1"]) in content


def test_status_type_and_search_filters(tenants, tech_client):
    contract_ending_in(tenants.org_a, 200, number="RUN-1", title="Platform")
    contract_ending_in(tenants.org_a, 10, number="EXP-SOON", kind=Contract.Kind.SUPPORT)
    contract_ending_in(tenants.org_a, -5, number="ENDED-1", title="Old migration")
    make_contract(tenants.org_a, number="TERM-1", status=Contract.Status.TERMINATED)
    url = reverse("contracts:list")
    assert _numbers(tech_client.get(url, {"status": "active"})) == ["RUN-1"]
    assert _numbers(tech_client.get(url, {"status": "expiring"})) == ["EXP-SOON"]
    assert _numbers(tech_client.get(url, {"status": "expired"})) == ["ENDED-1"]
    assert _numbers(tech_client.get(url, {"status": "terminated"})) == ["TERM-1"]
    assert _numbers(tech_client.get(url, {"kind": "support"})) == ["EXP-SOON"]
    assert _numbers(tech_client.get(url, {"q": "migration"})) == ["ENDED-1"]
    assert _numbers(tech_client.get(url, {"q": "run-"})) == ["RUN-1"]
    for bad in ({"status": "<script>"}, {"kind": "x"}, {"page": "999"}, {"sort": "nonsense"}):
        assert tech_client.get(url, bad).status_code in (200, 404)


def test_empty_states(tenants, tech_client):
    content = tech_client.get(reverse("contracts:list")).content.decode()
    assert "You have no contracts with us yet." in content
    make_contract(tenants.org_a)
    content = tech_client.get(reverse("contracts:list"), {"q": "nothing"}).content.decode()
    assert "No contracts match these filters." in content


def test_list_paginates(tenants, tech_client):
    for _ in range(30):
        make_contract(tenants.org_a)
    response = tech_client.get(reverse("contracts:list"))
    assert len(_numbers(response)) == 25
    assert len(_numbers(tech_client.get(reverse("contracts:list"), {"page": 2}))) == 5


def test_detail_shows_subscriptions_requests_and_the_renewal_quote(tenants, tech_client):
    contract = contract_ending_in(tenants.org_a, 40, number="SUP-1", kind=Contract.Kind.SUPPORT)
    SubscriptionFactory(
        contract=contract,
        plan=PlanFactory(name="Premier <Support>"),
        quantity=Decimal("2"),
        unit_price=Decimal("225.0000"),
        frequency=Subscription.Frequency.ANNUAL,
    )
    ContractRequestFactory(
        contract=contract, kind="renewal", status="declined", staff_note="Price changes first."
    )
    Order.objects.create(
        number="Q-REN-9",
        kind=Order.Kind.QUOTE,
        organization=tenants.org_a,
        order_date=timezone.localdate(),
        currency="USD",
        total=Decimal("487.13"),
        payment_status=Order.PaymentStatus.AWAITING,
        contract=contract,
    )
    Order.objects.create(  # Paid already: not shown as due.
        number="Q-REN-8",
        kind=Order.Kind.QUOTE,
        organization=tenants.org_a,
        order_date=timezone.localdate() - timedelta(days=400),
        currency="USD",
        payment_status=Order.PaymentStatus.PAID,
        contract=contract,
    )
    content = tech_client.get(reverse("contracts:detail", args=["SUP-1"])).content.decode()
    assert "Premier &lt;Support&gt;" in content
    assert "$225.00" in content and "$450.00" in content and "Annual" in content
    assert "Declined" in content and "Price changes first." in content
    assert "Q-REN-9" in content and "$487.13" in content
    assert "Pay it under Billing → Payments due" in content
    assert "Q-REN-8" not in content
    assert "Request renewal" in content  # The declined one is closed.


def test_query_counts_are_flat_on_the_list(tenants, tech_client):
    def grow(n):
        for _ in range(n):
            make_contract(tenants.org_a)

    url = reverse("contracts:list")
    assert_flat_query_count(grow=grow, request=lambda: tech_client.get(url))


def test_query_counts_are_flat_on_the_detail(tenants, tech_client):
    contract = make_contract(tenants.org_a, auto_renew=True)
    plan = PlanFactory()
    requester = tenants.alice.user

    def grow(n):
        Subscription.objects.bulk_create(
            Subscription(
                organization=tenants.org_a,
                contract=contract,
                plan=plan,
                quantity=1,
                unit_price=10,
                currency="USD",
                frequency="monthly",
                start_date=contract.start_date,
            )
            for _ in range(n)
        )
        ContractRequest.objects.bulk_create(
            ContractRequest(
                organization=tenants.org_a,
                contract=contract,
                kind="renewal",
                status="completed",
                requested_by=requester,
            )
            for _ in range(n)
        )

    url = reverse("contracts:detail", args=[contract.number])
    assert_flat_query_count(grow=grow, request=lambda: tech_client.get(url))


def test_dashboard_card_counts_renewals_due_and_open_requests(tenants, django_assert_num_queries):
    soon = contract_ending_in(tenants.org_a, 20)
    contract_ending_in(tenants.org_a, 80)
    contract_ending_in(tenants.org_a, 91)
    contract_ending_in(tenants.org_a, -1)
    contract_ending_in(tenants.org_b, 10)
    ContractRequestFactory(contract=soon, kind="renewal")
    with django_assert_num_queries(2):
        card = dashboard_card(tenants.bob)
    assert card["module"] == Module.CONTRACTS
    assert card["renewals_due"] == 2
    assert card["next_end_date"] == soon.end_date
    assert card["open_requests"] == 1
    with translation.override("en"):
        html = render_to_string(card["template"], {"card": card})
    assert "1 open request" in html and f"{soon.end_date:%Y}" in html
