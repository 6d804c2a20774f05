import csv
from decimal import Decimal

import django_tables2 as tables
from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class PortalTable(tables.Table):
    """Every table in the portal: one template, one look, 25 rows a page."""

    class Meta:
        template_name = "components/table.html"
        attrs = {"class": "table"}
        per_page = 25


def safe_cell(value) -> str:
    """Neutralise spreadsheet formula injection in exported text cells."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_response(*, filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return response
