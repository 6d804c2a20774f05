import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.roles import Role
from rewards.dashboard import dashboard_card
from rewards.models import RewardEntry
from rewards.services import expiry_date, rewards_expire, rewards_redeem
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.invoices.factories import make_invoice
from tests.query_budget import assert_flat_query_count
from tests.rewards.factories import grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_client(tenants, client):
    return sign_in(client, tenants.fin.user)


def _history(tenants):
    """Org A: earned ×3 (one expired), a redemption; org B: look-alike entries."""
    today = date.today()
    grant(tenants.org_a, "10.00", earned_on=today - timedelta(days=400))
    grant(tenants.org_a, "20.00", earned_on=today - timedelta(days=60))
    grant(tenants.org_a, "30.00", earned_on=today - timedelta(days=10))
    rewards_expire()
    invoice = make_invoice(tenants.org_a, number="A-REDEEM", amounts=["100.00"])
    rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("15.00"))
    grant(tenants.org_b, "999.00", earned_on=today - timedelta(days=5))
    make_invoice(tenants.org_b, number="B-SECRET")
    return invoice


def test_list_shows_balance_next_expiry_and_history_of_my_organization_only(
    tenants, finance_client
):
    _history(tenants)
    page = finance_client.get(reverse("rewards:list"))
    assert page.status_code == 200
    content = page.content.decode()
    assert page.context["balances"][0]["balance"] == Decimal("35.00")
    assert "$35.00" in content and "$999.00" not in content and "B-SECRET" not in content
    expiry = page.context["balances"][0]["next_expiry"]
    # FIFO: the redemption used 15 of the 20 earned 60 days ago; 5 of them expire first.
    assert expiry["amount"] == Decimal("5.00")
    assert expiry["date"] == expiry_date(date.today() - timedelta(days=60))
    kinds = [row.record.kind for row in page.context["table"].paginated_rows]
    assert kinds.count("earned") == 3 and kinds.count("redeemed") == 1
    assert kinds.count("expired") == 1
    assert "Applied to invoice" in content and "A-REDEEM" in content
    assert "Unspent rewards earned on" in content


def test_history_filters_by_type_and_date(tenants, finance_client):
    _history(tenants)
    url = reverse("rewards:list")
    redeemed = finance_client.get(url, {"kind": "redeemed"}).context["table"]
    assert [row.record.kind for row in redeemed.paginated_rows] == ["redeemed"]
    recent = finance_client.get(
        url, {"date_from": (date.today() - timedelta(days=30)).isoformat()}
    ).context["table"]
    assert {row.record.kind for row in recent.paginated_rows} == {"earned", "redeemed", "expired"}
    assert len(list(recent.paginated_rows)) == 3  # Earned 10 days ago, expired + redeemed today.
    old = finance_client.get(url, {"date_to": (date.today() - timedelta(days=300)).isoformat()})
    assert [row.record.amount for row in old.context["table"].paginated_rows] == [Decimal("10.00")]
    for bad in ({"kind": "<script>"}, {"date_from": "2026-99-99"}, {"page": "999"}, {"sort": "x"}):
        assert finance_client.get(url, bad).status_code in (200, 404)


def test_csv_export_follows_the_filters_and_never_mixes_organizations(tenants, finance_client):
    _history(tenants)
    response = finance_client.get(reverse("rewards:list"), {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="rewards.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Date", "Type", "Amount", "Currency", "Invoice", "Expires"]
    body = rows[1:]
    assert len(body) == 5
    assert sum(Decimal(row[2]) for row in body) == Decimal("35.00")
    assert "999.00" not in response.content.decode()
    assert "B-SECRET" not in response.content.decode()
    assert body[0][1:5] == ["Redeemed", "-15.00", "USD", "A-REDEEM"]
    filtered = finance_client.get(reverse("rewards:list"), {"export": "csv", "kind": "earned"})
    assert len(list(csv.reader(io.StringIO(filtered.content.decode())))) == 4


def test_csv_cells_cannot_run_as_formulas(tenants, finance_client):
    grant(tenants.org_a, "50.00")
    invoice = make_invoice(tenants.org_a, number="=HYPERLINK(1)")
    rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("5"))
    content = finance_client.get(reverse("rewards:list"), {"export": "csv"}).content.decode()
    assert "'=HYPERLINK(1)" in content
    rows = list(csv.reader(io.StringIO(content)))
    assert all(not cell.startswith("=") for row in rows for cell in row)


def test_empty_ledger_shows_an_empty_state(tenants, finance_client):
    content = finance_client.get(reverse("rewards:list")).content.decode()
    assert "No rewards yet" in content
    assert 'action="/rewards/redeem/"' not in content


def test_no_unpaid_invoice_shows_why_there_is_nothing_to_redeem(tenants, finance_client):
    grant(tenants.org_a, "50.00")
    content = finance_client.get(reverse("rewards:list")).content.decode()
    assert "No unpaid invoices in USD" in content


def _grow_ledger(tenants):
    invoices = [make_invoice(tenants.org_a, amounts=["100.00"]) for _ in range(3)]
    today = date.today()

    def grow(n):
        earned = RewardEntry.objects.bulk_create(
            RewardEntry(
                organization=tenants.org_a,
                currency="USD",
                kind="earned",
                amount=Decimal("1.00"),
                expires_on=today + timedelta(days=i % 300),
                source_invoice=invoices[i % 3],
            )
            for i in range(n - n // 2)
        )
        consumers = []
        for i, entry in enumerate(earned[: n // 2]):
            if i % 2:
                consumers.append(
                    RewardEntry(
                        organization=tenants.org_a,
                        currency="USD",
                        kind="expired",
                        amount=Decimal("-1.00"),
                        earned_entry=entry,
                    )
                )
            else:
                consumers.append(
                    RewardEntry(
                        organization=tenants.org_a,
                        currency="USD",
                        kind="redeemed",
                        amount=Decimal("-0.50"),
                        redeemed_invoice=invoices[i % 3],
                        actor=tenants.fin.user,
                    )
                )
        RewardEntry.objects.bulk_create(consumers)

    return grow


def test_list_query_count_is_flat(tenants, finance_client):
    url = reverse("rewards:list")
    assert_flat_query_count(grow=_grow_ledger(tenants), request=lambda: finance_client.get(url))


def test_csv_export_query_count_is_flat(tenants, finance_client):
    url = reverse("rewards:list")
    assert_flat_query_count(
        grow=_grow_ledger(tenants), request=lambda: finance_client.get(url, {"export": "csv"})
    )


def test_dashboard_card_shows_the_balance_per_currency(tenants):
    _history(tenants)
    grant(tenants.org_a, "12.00", currency="EUR")
    card = dashboard_card(tenants.fin)
    assert card["module"] == "rewards" and card["template"] == "rewards/card.html"
    assert card["balances"] == {"EUR": Decimal("12.00"), "USD": Decimal("35.00")}
    assert card["next_expiries"]["USD"]["amount"] == Decimal("5.00")
    assert card["can_redeem"] is True
    executive = ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])
    assert dashboard_card(executive)["can_redeem"] is False
    assert dashboard_card(tenants.charlie)["balances"] == {"USD": Decimal("999.00")}


def test_dashboard_card_renders(tenants):
    from django.template.loader import render_to_string

    _history(tenants)
    html = render_to_string("rewards/card.html", {"card": dashboard_card(tenants.fin)})
    assert "$35.00" in html and "Redeem rewards" in html
