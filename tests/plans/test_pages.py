import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, timezone

from plans.dashboard import dashboard_card
from plans.models import Subscription
from plans.services import billing_schedule
from tests.conftest import sign_in
from tests.invoices.test_pdf import pdf_text, squeezed
from tests.plans.factories import ContractFactory, PlanFactory, SubscriptionFactory
from tests.query_budget import assert_flat_query_count

TODAY = date(2026, 3, 10)
SUSPENDED_AT = timezone.make_aware(datetime(2026, 2, 26, 9, 30))
TERMINATED_AT = timezone.make_aware(datetime(2026, 1, 15, 12, 0))


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def account(tenants):
    """Org A: a monthly plan under a contract ending mid-period, an open-ended annual plan,
    a suspended and a terminated one. Org B: one plan of its own."""
    org_a = tenants.org_a
    cloud = SubscriptionFactory(
        organization=org_a,
        contract=ContractFactory(organization=org_a, number="CT-A-7", end_date=date(2026, 6, 20)),
        plan=PlanFactory(name="Cloud Platform"),
        quantity=Decimal("5"),
        unit_price=Decimal("240.00"),
        tax_rate=Decimal("8.25"),
        start_date=date(2026, 1, 1),
    )
    support = SubscriptionFactory(
        organization=org_a,
        plan=PlanFactory(name="Premier Support"),
        unit_price=Decimal("5400.00"),
        frequency=Subscription.Frequency.ANNUAL,
        start_date=date(2025, 7, 1),
    )
    suspended = SubscriptionFactory(
        organization=org_a,
        plan=PlanFactory(name="Analytics seats"),
        quantity=Decimal("25"),
        unit_price=Decimal("39.90"),
        status=Subscription.Status.SUSPENDED,
        status_changed_at=SUSPENDED_AT,
        status_reason="Suspended at customer's request",
    )
    terminated = SubscriptionFactory(
        organization=org_a,
        plan=PlanFactory(name="Legacy Backup"),
        status=Subscription.Status.TERMINATED,
        status_changed_at=TERMINATED_AT,
        status_reason="Replaced by Cloud Platform",
    )
    SubscriptionFactory(
        organization=tenants.org_b,
        plan=PlanFactory(name="Globex Secret Plan"),
        unit_price=Decimal("777.00"),
    )
    return {"cloud": cloud, "support": support, "suspended": suspended, "terminated": terminated}


def _short(day: date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _long(day) -> str:
    return formats.date_format(day, "DATE_FORMAT")


# --- The list -----------------------------------------------------------------------------------


def test_list_shows_each_subscription_with_its_next_billing(account, tenants, client):
    sign_in(client, tenants.bob.user)  # Technical contacts see plans too.
    response = client.get(reverse("plans:list"))
    assert response.status_code == 200
    content = response.content.decode()

    for text in ("Cloud Platform", "CT-A-7", "$240.00", "Monthly", "Annual", "Premier Support"):
        assert text in content
    # 5 × 240.00 + 8.25 % tax, billed on 1 April.
    assert f"{_short(date(2026, 4, 1))}<br><small>$1,299.00" in content
    assert f"{_short(date(2026, 7, 1))}<br><small>$5,400.00" in content
    assert "contract end" in content and _short(date(2026, 6, 20)) in content
    assert "Globex Secret Plan" not in content


def test_suspension_and_termination_show_their_date_and_reason(account, tenants, client):
    sign_in(client, tenants.fin.user)
    content = client.get(reverse("plans:list")).content.decode()

    assert f"Analytics seats is suspended since {_long(SUSPENDED_AT)}." in content
    assert "Reason: Suspended at customer&#x27;s request" in content
    assert f"Legacy Backup was terminated on {_long(TERMINATED_AT)}." in content
    assert "Reason: Replaced by Cloud Platform" in content
    # In the table too, next to the status badge.
    assert f"since {_long(SUSPENDED_AT)}</strong><br><small>Suspended at customer" in content
    tabs = client.get(reverse("plans:list")).context["tabs"]
    assert [tab["count"] for tab in tabs] == [4, 2, 1, 1]


def test_status_tab_and_filters(account, tenants, client):
    sign_in(client, tenants.alice.user)
    content = client.get(reverse("plans:list"), {"status": "suspended"}).content.decode()
    assert "Analytics seats" in content and "Premier Support" not in content
    content = client.get(reverse("plans:list"), {"frequency": "annual"}).content.decode()
    assert "Premier Support" in content and "CT-A-7" not in content
    for bad in ({"status": "<x>"}, {"frequency": "weekly"}, {"page": "99"}, {"sort": "nope"}):
        assert client.get(reverse("plans:list"), bad).status_code in (200, 404)


def test_outsider_sees_only_their_own_subscriptions(account, tenants, client):
    sign_in(client, tenants.charlie.user)
    content = client.get(reverse("plans:list")).content.decode()
    assert "Globex Secret Plan" in content
    assert "Cloud Platform" not in content and "Analytics seats" not in content
    content = client.get(reverse("plans:schedule")).content.decode()
    assert "Globex Secret Plan" in content and "Cloud Platform" not in content
    rows = _csv_rows(_download(client, "csv"))
    assert {row[1] for row in rows[1:]} == {"Globex Secret Plan", "Total"}


def test_list_query_count_is_flat(tenants, client):
    plans = [PlanFactory(), PlanFactory()]
    contract = ContractFactory(organization=tenants.org_a)
    statuses = list(Subscription.Status.values)
    frequencies = list(Subscription.Frequency.values)

    def grow(n):
        Subscription.objects.bulk_create(
            Subscription(
                organization=tenants.org_a,
                plan=plans[i % 2],
                contract=contract if i % 2 else None,
                quantity=Decimal("2"),
                unit_price=Decimal("10.00"),
                currency="USD",
                frequency=frequencies[i % 3],
                start_date=date(2025, 1 + i % 12, 1 + i % 28),
                status=statuses[i % 3],
                status_changed_at=None if i % 3 == 0 else TERMINATED_AT,
                status_reason="" if i % 3 == 0 else "Reason",
            )
            for i in range(n)
        )

    sign_in(client, tenants.alice.user)
    url = reverse("plans:list")
    assert_flat_query_count(grow=grow, request=lambda: client.get(url))


# --- The schedule --------------------------------------------------------------------------------


def test_schedule_page_lists_dates_totals_and_suspensions(account, tenants, client):
    sign_in(client, tenants.alice.user)
    response = client.get(reverse("plans:schedule"))
    content = response.content.decode()

    schedule = response.context["schedule"]
    assert [(row.subscription.plan.name, row.period.start) for row in schedule.rows] == [
        ("Cloud Platform", date(2026, 4, 1)),
        ("Cloud Platform", date(2026, 5, 1)),
        ("Cloud Platform", date(2026, 6, 1)),
        ("Premier Support", date(2026, 7, 1)),
        ("Premier Support", date(2027, 7, 1)),
        ("Premier Support", date(2028, 7, 1)),
    ]
    # June: 1–20 of 30 days of 1,200.00 = 800.00 + 8.25 % = 866.00.
    assert "Prorated: 20 of 30 days" in content and "$866.00" in content
    # 2 × 1,299.00 + 866.00 + 3 × 5,400.00 = 19,664.00.
    assert "$19,664.00" in content
    assert f"Analytics seats, suspended since {_long(SUSPENDED_AT)}" in content
    assert "Suspended at customer&#x27;s request" in content
    assert "Legacy Backup" not in content
    assert [m.month for m in schedule.months][:3] == [
        date(2026, 4, 1),
        date(2026, 5, 1),
        date(2026, 6, 1),
    ]


def test_schedule_query_count_is_flat(tenants, client):
    plan = PlanFactory()
    contract = ContractFactory(organization=tenants.org_a, end_date=date(2027, 8, 15))
    frequencies = list(Subscription.Frequency.values)

    def grow(n):
        Subscription.objects.bulk_create(
            Subscription(
                organization=tenants.org_a,
                plan=plan,
                contract=contract if i % 2 else None,
                quantity=Decimal("1.5"),
                unit_price=Decimal("19.99"),
                tax_rate=Decimal("19.00"),
                currency="USD",
                frequency=frequencies[i % 3],
                start_date=date(2025, 1 + i % 12, 1 + i % 28),
                status="suspended" if i % 10 == 0 else "active",
            )
            for i in range(n)
        )

    sign_in(client, tenants.alice.user)
    url = reverse("plans:schedule")
    assert_flat_query_count(grow=grow, request=lambda: client.get(url))
    # The work is real: tens of thousands of billing dates, one page of them rendered.
    response = client.get(url)
    assert len(response.context["schedule"].rows) > 10_000
    assert len(response.context["page"].object_list) == 100


def _download(client, file_format: str):
    return client.get(reverse("plans:schedule_download", kwargs={"file_format": file_format}))


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_csv_download_reads_back_with_the_schedules_figures(account, tenants, client):
    sign_in(client, tenants.alice.user)
    response = _download(client, "csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="billing-schedule-A-1-2026-03-10.csv"'
    )
    rows = _csv_rows(response)
    schedule = billing_schedule(organization=tenants.org_a, today=TODAY)

    assert rows[0][:2] == ["Billing date", "Plan"] and rows[0][-4:] == [
        "Net",
        "Tax",
        "Total",
        "Currency",
    ]
    body, total_rows = rows[1:-1], rows[-1:]
    assert [(r[0], r[1], r[3], r[4], r[8], r[9], r[10], r[11]) for r in body] == [
        (
            str(row.period.start),
            row.subscription.plan.name,
            str(row.period.start),
            str(row.period.end),
            str(row.period.net),
            str(row.period.tax),
            str(row.period.total),
            "USD",
        )
        for row in schedule.rows
    ]
    assert body[2][7] == "20 of 30 days" and body[2][10] == "866.00"
    assert total_rows == [
        ["", "Total", "", "", "", "", "", "", "19400.00", "264.00", "19664.00", "USD"]
    ]
    assert sum(Decimal(r[10]) for r in body) == Decimal(total_rows[0][10])


def test_xlsx_download_reads_back_with_the_same_figures(account, tenants, client):
    sign_in(client, tenants.alice.user)
    response = _download(client, "xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    schedule = billing_schedule(organization=tenants.org_a, today=TODAY)

    body = rows[1:-1]
    assert [(r[1], Decimal(str(r[10])).quantize(Decimal("0.01"))) for r in body] == [
        (row.subscription.plan.name, row.period.total) for row in schedule.rows
    ]
    assert Decimal(str(rows[-1][10])).quantize(Decimal("0.01")) == Decimal("19664.00")


def test_exports_neutralise_formulas(tenants, client):
    SubscriptionFactory(
        organization=tenants.org_a, plan=PlanFactory(name='=HYPERLINK("http://x.example")')
    )
    sign_in(client, tenants.alice.user)
    rows = _csv_rows(_download(client, "csv"))
    assert rows[1][1] == '\'=HYPERLINK("http://x.example")'
    response = _download(client, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["B2"].value.startswith("'=") and sheet["B2"].data_type == "s"


def test_pdf_download_reads_back_with_the_same_figures(account, tenants, client):
    sign_in(client, tenants.alice.user)
    response = _download(client, "pdf")
    assert response["Content-Type"] == "application/pdf"
    text = squeezed(pdf_text(response.content))

    assert squeezed("Billing schedule") in text
    for figure in ("$1,299.00", "$866.00", "$5,400.00", "$19,664.00", "$19,400.00"):
        assert figure in text
    assert "Prorated:20of30days" in text
    assert squeezed("Suspended at customer's request") in text
    assert "GlobexSecretPlan" not in text


def test_pdf_is_in_the_organizations_number_format(tenants, client):
    tenants.org_a.language, tenants.org_a.currency = "de", "EUR"
    tenants.org_a.save(update_fields=["language", "currency"])
    SubscriptionFactory(
        organization=tenants.org_a,
        plan=PlanFactory(name="Database Enterprise"),
        unit_price=Decimal("1150.00"),
        quantity=Decimal("2"),
        tax_rate=Decimal("19.00"),
        frequency="quarterly",
        end_date=date(2026, 12, 31),
    )
    sign_in(client, tenants.alice.user)
    text = pdf_text(_download(client, "pdf").content)
    # 2 × 1.150,00 + 19 % = 2.737,00 € per quarter; April, July and October are ahead.
    assert "2.737,00 €" in text and "8.211,00 €" in text


def test_unknown_download_format_is_404(account, tenants, client):
    sign_in(client, tenants.alice.user)
    for file_format in ("html", "zip", "PDF", "csv.exe", "..%2Fcsv"):
        assert client.get(f"/plans/schedule/download/{file_format}/").status_code == 404
    assert reverse("plans:schedule_download", kwargs={"file_format": "pdf"}) == (
        "/plans/schedule/download/pdf/"
    )


def test_schedule_for_an_account_without_subscriptions_is_empty(tenants, client):
    sign_in(client, tenants.alice.user)
    content = client.get(reverse("plans:schedule")).content.decode()
    assert "No billing dates ahead." in content
    assert len(_csv_rows(_download(client, "csv"))) == 1


# --- The dashboard card --------------------------------------------------------------------------


def test_dashboard_card_counts_active_and_shows_the_next_billing(
    account, tenants, django_assert_num_queries
):
    with django_assert_num_queries(2):
        card = dashboard_card(tenants.alice)
    assert card["template"] == "plans/card.html"
    assert card["active"] == 2
    assert card["next_billing"] == {"date": date(2026, 4, 1), "totals": {"USD": Decimal("1299.00")}}
    assert dashboard_card(tenants.charlie)["next_billing"]["totals"] == {"USD": Decimal("777.00")}


def test_dashboard_card_renders(account, tenants):
    from django.template.loader import render_to_string

    html = render_to_string("plans/card.html", {"card": dashboard_card(tenants.alice)})
    assert "2 active subscriptions" in html and "$1,299.00" in html
    assert _long(date(2026, 4, 1)) in html


@pytest.mark.parametrize(
    ("quantity", "language", "expected"),
    [("10.000", "en", "10"), ("2.500", "de", "2,5"), ("1234.000", "en", "1,234")],
)
def test_quantities_show_the_digits_they_need(quantity, language, expected):
    from django.utils import translation

    with translation.override(language):
        assert Subscription(quantity=Decimal(quantity)).quantity_display == expected


def test_unit_prices_keep_their_sub_cent_digits():
    from plans.tables import format_unit_price

    assert format_unit_price(Decimal("240.0000"), "USD") == "$240.00"
    assert format_unit_price(Decimal("19.9999"), "USD") == "19.9999\u00a0USD"
