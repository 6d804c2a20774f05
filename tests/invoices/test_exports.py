import csv
import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.urls import reverse

from invoices.exports import dataset_response, invoices_dataset, safe_filename
from invoices.services import invoice_apply_adjustment
from tests.conftest import sign_in
from tests.invoices.factories import make_invoice

HEADERS = [
    "Number",
    "Issue date",
    "Due date",
    "Status",
    "Currency",
    "Total",
    "Paid",
    "Credits",
    "Balance",
]


@pytest.fixture
def invoices(tenants):
    """Org A: one partly paid and credited invoice, one whose number is a formula."""
    partly_paid = make_invoice(
        tenants.org_a,
        number="INV-100",
        amounts=["1000.00", "234.50"],
        issue_date=date(2025, 1, 10),
        due_date=date(2025, 2, 9),
    )
    invoice_apply_adjustment(invoice=partly_paid, kind="payment", amount=Decimal("200.00"))
    invoice_apply_adjustment(invoice=partly_paid, kind="credit", amount=Decimal("34.50"))
    formula = make_invoice(
        tenants.org_a,
        number='=HYPERLINK("http://x.example")',
        amounts=["10.00"],
        issue_date=date(2025, 1, 11),
        due_date=date(2025, 2, 10),
    )
    foreign = make_invoice(tenants.org_b, number="INV-B-1", amounts=["99.00"])
    partly_paid.refresh_from_db()
    return partly_paid, formula, foreign


def _bulk(client, numbers, action):
    return client.post(reverse("invoices:bulk"), {"numbers": numbers, "action": action})


def test_dataset_keeps_decimals_and_neutralises_formulas(invoices):
    partly_paid, formula, _foreign = invoices
    dataset = invoices_dataset([partly_paid, formula])

    assert dataset.headers == HEADERS
    assert dataset[0] == (
        "INV-100",
        date(2025, 1, 10),
        date(2025, 2, 9),
        partly_paid.get_status_display(),
        "USD",
        Decimal("1234.50"),
        Decimal("200.00"),
        Decimal("34.50"),
        Decimal("1000.00"),
    )
    assert dataset[1][0] == '\'=HYPERLINK("http://x.example")'


def test_csv_of_the_selection_reads_back(invoices, tenants, client):
    partly_paid, formula, foreign = invoices
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [partly_paid.number, formula.number, foreign.number], "csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="invoices-A-1-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == HEADERS
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number) == {"INV-100", '\'=HYPERLINK("http://x.example")'}
    assert by_number["INV-100"] == [
        "INV-100",
        "2025-01-10",
        "2025-02-09",
        partly_paid.get_status_display(),
        "USD",
        "1234.50",
        "200.00",
        "34.50",
        "1000.00",
    ]


def test_xlsx_of_the_selection_reads_back(invoices, tenants, client):
    partly_paid, formula, foreign = invoices
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [partly_paid.number, formula.number, foreign.number], "xlsx")

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number) == {"INV-100", '\'=HYPERLINK("http://x.example")'}
    row = by_number["INV-100"]
    assert row[1].date() == date(2025, 1, 10)
    assert [Decimal(str(value)) for value in row[5:]] == [
        Decimal("1234.5"),
        Decimal("200"),
        Decimal("34.5"),
        Decimal("1000"),
    ]
    formula_cell = next(cell for cell in sheet["A"] if str(cell.value).startswith("'="))
    assert formula_cell.data_type == "s"  # Text, not a formula.


def test_bulk_export_with_only_foreign_numbers_exports_nothing(invoices, tenants, client):
    sign_in(client, tenants.charlie.user)
    response = _bulk(client, ["INV-100"], "csv")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("invoices", "invoices.csv"),
        ('in"voices\r\nX-Evil: 1', "in_voices_X-Evil_1.csv"),
        ("../../etc/passwd", "etc_passwd.csv"),
        ("Rechnungen März", "Rechnungen_M_rz.csv"),
        ("", "download.csv"),
    ],
)
def test_download_names_are_sanitised(stem, expected):
    assert safe_filename(stem, "csv") == expected
    response = dataset_response(
        tablib.Dataset(headers=["a"]), filename_stem=stem, file_format="csv"
    )
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="Unsupported"):
        dataset_response(tablib.Dataset(), filename_stem="x", file_format="html")
