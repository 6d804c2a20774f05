"""Invoice, invoice-list and statement PDFs: templates rendered in the organization's
language, handed to WeasyPrint with a fetcher that reads our static files and nothing else.

Documents show customer and staff text (line descriptions, references), so rendering must
never reach the network or the file system beyond `static/`:

- `static:fonts/DejaVuSans.ttf`, `/static/fonts/DejaVuSans.ttf` and `fonts/DejaVuSans.ttf`
  (relative to the base URL, which is the static directory) read `BASE_DIR/static/...`;
  the resolved path must stay inside that directory (no `..`, no symlinks out of it).
- Everything else is refused: http:, https:, ftp:, file: outside static/, and data: too —
  our templates need no inline resources, and "static files only" is easier to trust
  without exceptions. A refused URL is a failed fetch to WeasyPrint: the resource is left
  out and the document still renders.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

from invoices.models import ZERO, Invoice
from portal.money import decimals_for

if TYPE_CHECKING:
    from collections.abc import Iterable

    from contacts.models import Organization
    from invoices.statements import Statement

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Seller:
    name: str
    address: tuple[str, ...]
    email: str


# The issuer printed on every document.
SELLER = Seller(
    name="Customer Center",
    address=("100 Example Street", "Springfield 12345", "United States"),
    email="billing@customer-center.example",
)


# --- Rendering -------------------------------------------------------------------------------


class FetchRefused(URLFetchingError):
    """A document asked for something other than one of our static files."""


def static_root() -> Path:
    return (Path(settings.BASE_DIR) / "static").resolve()


def static_path_for(url: str) -> Path:
    """The file under static/ that `url` names, or FetchRefused."""
    root = static_root()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "static":
        relative = unquote(parts.netloc + parts.path).lstrip("/")
    elif scheme == "file" and parts.netloc in ("", "localhost"):
        path = unquote(parts.path)
        static_url = settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"
        if Path(path).resolve().is_relative_to(root):
            relative = str(Path(path).resolve().relative_to(root))
        elif path.startswith(static_url):
            # "/static/css/x.css" joined to the file: base URL.
            relative = path.removeprefix(static_url)
        else:
            raise FetchRefused(f"Not a static file: {url}")
    else:
        raise FetchRefused(f"Scheme not allowed in documents: {url}")
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        raise FetchRefused(f"Not a static file: {url}")
    return candidate


class StaticFilesFetcher(URLFetcher):
    """WeasyPrint URL fetcher that reads static files from disk and refuses anything else."""

    def fetch(self, url, headers=None):
        try:
            path = static_path_for(url)
        except FetchRefused:
            logger.warning("Refused to fetch %r while rendering a PDF.", url[:200])
            raise
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )


_fonts = threading.local()


def _font_config() -> FontConfiguration:
    """One font configuration per thread: our fonts are loaded once, not per document."""
    if not hasattr(_fonts, "config"):
        _fonts.config = FontConfiguration()
    return _fonts.config


def render_pdf(html: str) -> bytes:
    """Render an HTML document to PDF bytes; only static files may be loaded."""
    document = HTML(
        string=html, base_url=static_root().as_uri() + "/", url_fetcher=StaticFilesFetcher()
    )
    return document.write_pdf(font_config=_font_config())


# --- Documents -------------------------------------------------------------------------------


def _number(value: Decimal, *, min_places: int, max_places: int) -> str:
    """1 → "1", 2.5 → "2.5" (en) / "2,5" (de): as many decimals as the value needs."""
    exponent = value.normalize().as_tuple().exponent
    places = min(max(-exponent if isinstance(exponent, int) else 0, min_places), max_places)
    return formats.number_format(value, places, use_l10n=True, force_grouping=True)


@dataclass(frozen=True)
class TaxRow:
    rate: str
    base: Decimal
    tax: Decimal


def _invoice_context(invoice: Invoice) -> dict:
    # One query for the lines (or none when the caller prefetched them).
    lines = list(invoice.lines.all())
    decimals = decimals_for(invoice.currency)
    rows = [
        {
            "line": line,
            "quantity": _number(line.quantity, min_places=0, max_places=3),
            "unit_price": _number(line.unit_price, min_places=decimals, max_places=4),
            "tax_rate": _number(line.tax_rate, min_places=0, max_places=2),
        }
        for line in lines
    ]
    by_rate: dict[Decimal, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        by_rate[line.tax_rate][0] += line.amount
        by_rate[line.tax_rate][1] += line.tax_amount
    taxes = [
        TaxRow(rate=_number(rate, min_places=0, max_places=2), base=base, tax=tax)
        for rate, (base, tax) in sorted(by_rate.items())
    ]
    return {"invoice": invoice, "rows": rows, "taxes": taxes}


def _render(template: str, context: dict) -> bytes:
    html = render_to_string(
        template, {"seller": SELLER, "generated_on": timezone.localdate(), **context}
    )
    return render_pdf(html)


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice document, in its organization's language and number format."""
    organization = invoice.organization
    with translation.override(organization.language):
        context = {**_invoice_context(invoice), "organization": organization}
        return _render("invoices/pdf/invoice.html", context)


def invoice_list_pdf(*, invoices: Iterable[Invoice], organization: Organization) -> bytes:
    """A table of invoices with totals per currency (the "e-mail the list" attachment)."""
    invoices = list(invoices)
    totals: dict[str, dict[str, Decimal]] = {}
    for invoice in invoices:
        sums = totals.setdefault(invoice.currency, {"total": ZERO, "balance": ZERO})
        sums["total"] += invoice.total
        sums["balance"] += invoice.balance
    context = {
        "organization": organization,
        "invoices": invoices,
        "totals": [{"currency": currency, **sums} for currency, sums in sorted(totals.items())],
    }
    with translation.override(organization.language):
        return _render("invoices/pdf/list.html", context)


def statement_pdf(statement: Statement) -> bytes:
    """The statement of account for one currency and period."""
    organization = statement.organization
    with translation.override(organization.language):
        context = {"organization": organization, "statement": statement}
        return _render("invoices/pdf/statement.html", context)
