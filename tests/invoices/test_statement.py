import csv
import datetime as dt
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from invoices.models import Invoice, InvoiceAdjustment
from invoices.services import invoice_apply_adjustment
from invoices.statements import statement_build
from tests.conftest import sign_in
from tests.invoices.factories import make_invoice
from tests.invoices.test_pdf import pdf_text
from tests.query_budget import assert_flat_query_count

START, END = date(2025, 1, 1), date(2025, 3, 31)


def _apply(invoice, kind, amount, on: date, reference=""):
    with time_machine.travel(dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC), tick=False):
        return invoice_apply_adjustment(
            invoice=invoice, kind=kind, amount=Decimal(amount), reference=reference
        )


def _invoice(org, amount, *, issued: date, days_past_due: int | None = None, due=None, **kw):
    due = due or END - timedelta(days=days_past_due)
    return make_invoice(org, amounts=[amount], issue_date=issued, due_date=due, **kw)


@pytest.fixture
def ledger(tenants):
    """Org A's USD account in Q1 2025, with an invoice at every ageing boundary.

    Opening 930.00 = A 1000 + B 200 + F 70 + G 60 − A's 400 paid in December.
    In the quarter: invoiced 1,100.00; paid 600.00; refunded 120.00; credited 50.00.
    Closing 1,500.00 = 930 + 1100 − 600 + 120 − 50, aged on 31 March:
      not yet due 320 (B 200 due that day, H's refunded 120), 1–30: 400 (C 250 at 1 day,
      D 150 at 30), 31–60: 110 (E 80 at 31, E2 30 at 60), 61–90: 100 (G2 40 at 61,
      G 60 at 90), over 90: 570 (A 500 at 120, F 70 at 91).
    """
    org = tenants.org_a
    a = _invoice(org, "1000.00", issued=date(2024, 11, 1), days_past_due=120)
    _apply(a, "payment", "400.00", date(2024, 12, 15))
    _apply(a, "payment", "100.00", date(2025, 2, 10), reference="=cmd|' /C calc'!A0")
    _apply(a, "payment", "100.00", date(2025, 4, 10))  # After the period.
    _invoice(org, "200.00", issued=date(2024, 12, 20), days_past_due=0)  # B
    c = _invoice(org, "300.00", issued=date(2025, 1, 10), days_past_due=1)
    _apply(c, "credit", "50.00", date(2025, 3, 1))
    _invoice(org, "150.00", issued=date(2025, 1, 15), days_past_due=30)  # D
    _invoice(org, "80.00", issued=date(2025, 1, 20), days_past_due=31)  # E
    _invoice(org, "30.00", issued=date(2025, 1, 5), days_past_due=60)  # E2
    _invoice(org, "40.00", issued=date(2025, 1, 5), days_past_due=61)  # G2
    _invoice(org, "60.00", issued=date(2024, 12, 1), days_past_due=90)  # G
    _invoice(org, "70.00", issued=date(2024, 10, 1), days_past_due=91)  # F
    h = _invoice(org, "500.00", issued=date(2025, 2, 1), due=date(2025, 5, 1))
    _apply(h, "payment", "500.00", date(2025, 2, 15))
    _apply(h, "refund", "120.00", date(2025, 3, 10))
    # Not on this statement: after the period, another currency, another organization.
    _invoice(org, "999.00", issued=date(2025, 4, 5), due=date(2025, 5, 5))
    _invoice(org, "777.00", issued=date(2025, 1, 10), days_past_due=10, currency="EUR")
    _invoice(tenants.org_b, "888.00", issued=date(2025, 1, 10), days_past_due=10)
    return org


def test_statement_figures(ledger):
    statement = statement_build(organization=ledger, currency="USD", start=START, end=END)

    assert statement.opening_balance == Decimal("930.00")
    assert statement.invoiced == Decimal("1100.00")
    assert statement.payments == Decimal("600.00")
    assert statement.refunds == Decimal("120.00")
    assert statement.credits == Decimal("50.00")
    assert statement.closing_balance == Decimal("1500.00")
    assert {bucket.key: bucket.amount for bucket in statement.ageing} == {
        "current": Decimal("320.00"),
        "days_1_30": Decimal("400.00"),
        "days_31_60": Decimal("110.00"),
        "days_61_90": Decimal("100.00"),
        "days_over_90": Decimal("570.00"),
    }
    assert statement.ageing_total == statement.closing_balance
    assert [i.total for i in statement.invoices] == [
        Decimal(v) for v in ("30.00", "40.00", "300.00", "150.00", "80.00", "500.00")
    ]
    assert [(a.kind, a.amount) for a in statement.adjustments] == [
        ("payment", Decimal("100.00")),
        ("payment", Decimal("500.00")),
        ("credit", Decimal("50.00")),
        ("refund", Decimal("120.00")),
    ]
    assert statement.entries[-1].balance == statement.closing_balance
    amounts = [statement.opening_balance, *(bucket.amount for bucket in statement.ageing)]
    assert all(isinstance(amount, Decimal) for amount in amounts)


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "days_1_30"),
        (30, "days_1_30"),
        (31, "days_31_60"),
        (60, "days_31_60"),
        (61, "days_61_90"),
        (90, "days_61_90"),
        (91, "days_over_90"),
        (400, "days_over_90"),
    ],
)
def test_ageing_bucket_boundaries(tenants, days_past_due, bucket):
    invoice = _invoice(
        tenants.org_a, "100.00", issued=date(2023, 1, 1), days_past_due=days_past_due
    )
    _apply(invoice, "payment", "35.50", date(2024, 6, 1))
    statement = statement_build(organization=tenants.org_a, currency="USD", start=START, end=END)
    amounts = {b.key: b.amount for b in statement.ageing}
    assert amounts.pop(bucket) == Decimal("64.50")
    assert set(amounts.values()) == {Decimal("0.00")}


def test_payments_after_the_end_date_still_count_as_unpaid(tenants):
    invoice = _invoice(tenants.org_a, "100.00", issued=date(2025, 1, 1), days_past_due=10)
    _apply(invoice, "payment", "100.00", END + timedelta(days=1))
    statement = statement_build(organization=tenants.org_a, currency="USD", start=START, end=END)
    assert statement.closing_balance == Decimal("100.00")
    assert {b.key: b.amount for b in statement.ageing}["days_1_30"] == Decimal("100.00")


def test_statement_query_count_does_not_grow(tenants):
    org = tenants.org_a

    def grow(n):
        invoices = Invoice.objects.bulk_create(
            Invoice(
                organization=org,
                number=f"BULK-{Invoice.objects.count()}-{i}",
                issue_date=date(2025, 2, 1),
                due_date=date(2025, 2, 15),
                currency="USD",
                subtotal=Decimal("10.00"),
                total=Decimal("10.00"),
                balance=Decimal("6.00"),
            )
            for i in range(n)
        )
        InvoiceAdjustment.objects.bulk_create(
            InvoiceAdjustment(
                invoice=i,
                kind="payment",
                amount=Decimal("4.00"),
                created_at=dt.datetime(2025, 2, 20, tzinfo=dt.UTC),
            )
            for i in invoices
        )

    def build():
        statement = statement_build(organization=org, currency="USD", start=START, end=END)
        return statement.entries

    assert_flat_query_count(grow=grow, request=build)


# --- The page and its downloads -----------------------------------------------------------------


def _get(client, **params):
    return client.get(reverse("invoices:statement"), params)


def test_statement_page_shows_the_figures(ledger, tenants, client):
    sign_in(client, tenants.alice.user)
    response = _get(client, start="2025-01-01", end="2025-03-31", currency="USD")
    page = response.content.decode()

    assert response.status_code == 200
    for figure in (
        "$930.00",
        "$1,100.00",
        "$600.00",
        "$120.00",
        "$50.00",
        "$1,500.00",
        "$320.00",
        "$400.00",
        "$110.00",
        "$100.00",
        "$570.00",
    ):
        assert figure in page, figure
    assert "777" not in page and "888" not in page
    assert 'href="?start=2025-01-01&amp;end=2025-03-31&amp;currency=USD&amp;format=pdf"' in page


def test_statement_defaults_to_this_year_in_the_organizations_currency(ledger, tenants, client):
    sign_in(client, tenants.alice.user)
    with time_machine.travel(dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC), tick=False):
        response = _get(client)
    form = response.context["form"]
    assert form.cleaned_data == {"start": START, "end": END, "currency": "USD"}
    assert response.context["statement"].closing_balance == Decimal("1500.00")
    assert [code for code, _label in form.fields["currency"].choices] == ["EUR", "USD"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-03-01", "end": "2025-02-01"}, "can&#x27;t be before the start date"),
        ({"start": "2019-01-01", "end": "2025-01-02"}, "at most 5 years"),
        ({"start": "yesterday"}, "Enter a valid date."),
        ({"currency": "XYZ"}, "Select a valid choice."),
    ],
)
def test_invalid_period_gets_a_clear_message(tenants, client, params, message):
    sign_in(client, tenants.alice.user)
    response = _get(client, **params, format="pdf")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert response.context["statement"] is None


def test_five_years_exactly_is_allowed(tenants, client):
    sign_in(client, tenants.alice.user)
    response = _get(client, start="2020-02-29", end="2025-02-28")
    assert response.context["statement"] is not None


def test_statement_csv_reads_back_with_the_same_figures(ledger, tenants, client):
    sign_in(client, tenants.alice.user)
    response = _get(client, start="2025-01-01", end="2025-03-31", currency="USD", format="csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="statement-A-1-USD-2025-01-01-2025-03-31.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_type = {row["Type"]: row for row in rows}
    assert by_type["Opening balance"]["Balance"] == "930.00"
    assert by_type["Closing balance"]["Balance"] == "1500.00"
    assert rows[-7]["Balance"] == "1500.00"  # The last entry runs to the closing balance.
    assert by_type["Not yet due"]["Balance"] == "320.00"
    assert by_type["1–30 days past due"]["Balance"] == "400.00"
    assert by_type["31–60 days past due"]["Balance"] == "110.00"
    assert by_type["61–90 days past due"]["Balance"] == "100.00"
    assert by_type["More than 90 days past due"]["Balance"] == "570.00"
    charges = sum(Decimal(row["Charges"]) for row in rows if row["Charges"])
    payments = sum(
        Decimal(row["Payments and credits"]) for row in rows if row["Payments and credits"]
    )
    assert (charges, payments) == (Decimal("1220.00"), Decimal("650.00"))
    references = [row["Reference"] for row in rows if row["Reference"]]
    assert references == ["'=cmd|' /C calc'!A0"]  # Neutralised, not a formula.


def test_statement_pdf_reads_back_with_the_same_figures(ledger, tenants, client):
    sign_in(client, tenants.alice.user)
    response = _get(client, start="2025-01-01", end="2025-03-31", currency="USD", format="pdf")

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="statement-A-1-USD-2025-01-01-2025-03-31.pdf"'
    )
    text = pdf_text(response.content)
    lines = {" ".join(line.split()) for line in text.splitlines()}
    for line in (
        "Opening balance on Jan. 1, 2025 $930.00",
        "Invoiced $1,100.00",
        "Payments $600.00",
        "Refunds $120.00",
        "Credits $50.00",
        "Closing balance on March 31, 2025 $1,500.00",
        "Not yet due $320.00",
        "1–30 days past due $400.00",
        "31–60 days past due $110.00",
        "61–90 days past due $100.00",
        "More than 90 days past due $570.00",
        "Total unpaid $1,500.00",
    ):
        assert line in lines, line
    assert tenants.org_a.name in text and "A-1" in text


def test_statement_shows_only_the_own_organization(ledger, tenants, client):
    sign_in(client, tenants.charlie.user)
    response = _get(client, start="2025-01-01", end="2025-03-31", currency="USD", format="csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["Type"]: row["Balance"] for row in rows}["Closing balance"] == "888.00"


def test_technical_colleague_gets_403(tenants, client):
    sign_in(client, tenants.bob.user)
    assert _get(client).status_code == 403
