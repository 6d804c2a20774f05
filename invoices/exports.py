"""Invoice and statement spreadsheets (CSV, XLSX) and the download responses around them.

Text cells go through `safe_cell`, so a description or number starting with "=" can't run as
a formula; amounts stay Decimal (numbers in XLSX, exact digits in CSV).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import tablib
from django.http import HttpResponse
from django.utils.translation import gettext as _

from invoices.models import Invoice
from portal.tables import safe_cell

if TYPE_CHECKING:
    from invoices.statements import Statement

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


def safe_filename(stem: str, extension: str) -> str:
    """Only [A-Za-z0-9._-] in a download's name: no quotes, paths or header tricks."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "download"
    return f"{cleaned[:120]}.{extension}"


def attachment_response(content: bytes, *, filename_stem: str, file_format: str) -> HttpResponse:
    """A download named `<stem>.<format>`, the stem sanitised."""
    response = HttpResponse(content, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = (
        f'attachment; filename="{safe_filename(filename_stem, file_format)}"'
    )
    return response


def invoices_dataset(invoices: Iterable[Invoice]) -> tablib.Dataset:
    """One row per invoice, with its stored totals."""
    dataset = tablib.Dataset(
        headers=[
            _("Number"),
            _("Issue date"),
            _("Due date"),
            _("Status"),
            _("Currency"),
            _("Total"),
            _("Paid"),
            _("Credits"),
            _("Balance"),
        ],
        title=_("Invoices"),
    )
    for invoice in invoices:
        dataset.append(
            [
                safe_cell(invoice.number),
                invoice.issue_date,
                invoice.due_date,
                safe_cell(invoice.get_status_display()),
                safe_cell(invoice.currency),
                invoice.total,
                invoice.amount_paid,
                invoice.credits_applied,
                invoice.balance,
            ]
        )
    return dataset


def statement_dataset(statement: Statement) -> tablib.Dataset:
    """The running account from opening to closing balance, then the ageing buckets."""
    dataset = tablib.Dataset(
        headers=[
            _("Date"),
            _("Type"),
            _("Invoice"),
            _("Reference"),
            _("Charges"),
            _("Payments and credits"),
            _("Balance"),
            _("Currency"),
        ],
        title=_("Statement"),
    )
    currency = safe_cell(statement.currency)
    dataset.append(
        [
            statement.start,
            safe_cell(_("Opening balance")),
            "",
            "",
            "",
            "",
            statement.opening_balance,
            currency,
        ]
    )
    for entry in statement.entries:
        dataset.append(
            [
                entry.date,
                safe_cell(entry.label),
                safe_cell(entry.invoice_number),
                safe_cell(entry.reference),
                entry.charge or "",
                entry.payment or "",
                entry.balance,
                currency,
            ]
        )
    dataset.append(
        [
            statement.end,
            safe_cell(_("Closing balance")),
            "",
            "",
            "",
            "",
            statement.closing_balance,
            currency,
        ]
    )
    for bucket in statement.ageing:
        dataset.append(
            [statement.end, safe_cell(bucket.label), "", "", "", "", bucket.amount, currency]
        )
    return dataset


def dataset_response(
    dataset: tablib.Dataset, *, filename_stem: str, file_format: str
) -> HttpResponse:
    """Download a dataset as "csv" or "xlsx"."""
    if file_format not in ("csv", "xlsx"):
        raise ValueError(f"Unsupported export format: {file_format}")
    content = dataset.export(file_format)
    if isinstance(content, str):
        content = content.encode("utf-8")
    return attachment_response(content, filename_stem=filename_stem, file_format=file_format)
