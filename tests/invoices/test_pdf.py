import io
import re
import socket
import subprocess
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from invoices import pdf
from invoices.models import InvoiceLine
from invoices.pdf import FetchRefused, StaticFilesFetcher, render_pdf, static_root
from invoices.services import LineData
from tests.conftest import sign_in
from tests.invoices.factories import make_invoice
from tests.query_budget import assert_flat_query_count

# --- Reading PDFs back (also used by the statement and export tests) -------------------------


def _run_on_pdf(data: bytes, command: list[str]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(data)
        result = subprocess.run([*command, str(path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def pdf_text(data: bytes, *, layout: bool = True) -> str:
    """pdftotext's reading, non-breaking spaces as spaces; pages end with a form feed."""
    text = _run_on_pdf(data, ["pdftotext", *(["-layout"] if layout else [])])
    return text.replace("\xa0", " ")


def pdf_pages(data: bytes) -> list[str]:
    return [page for page in pdf_text(data).split("\f") if page.strip()]


def pdf_page_count(data: bytes) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(data)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True).stdout
    return int(re.search(rb"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def squeezed(text: str) -> str:
    """Without whitespace: a long cell may wrap, which must not hide a match."""
    return "".join(text.split())


def _lines(descriptions):
    return [
        LineData(description=text, quantity=Decimal("1"), unit_price=Decimal("10.00"))
        for text in descriptions
    ]


@pytest.fixture
def fetched(monkeypatch):
    """Every URL WeasyPrint hands to our fetcher while the test renders."""
    urls = []
    original = StaticFilesFetcher.fetch

    def spy(self, url, headers=None):
        urls.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticFilesFetcher, "fetch", spy)
    return urls


# --- The document ----------------------------------------------------------------------------


def test_invoice_pdf_shows_number_lines_and_total_in_the_organizations_format(tenants):
    org = tenants.org_a
    org.language, org.currency = "de", "EUR"
    org.save(update_fields=["language", "currency"])
    invoice = make_invoice(
        org,
        lines=[
            LineData(
                description="Hosting Premium", quantity=Decimal("1"), unit_price=Decimal("1000.00")
            ),
            LineData(
                description="Support-Paket Gold",
                quantity=Decimal("2"),
                unit_price=Decimal("117.25"),
            ),
        ],
    )
    text = pdf_text(pdf.invoice_pdf(invoice))

    assert invoice.number in text
    assert "Hosting Premium" in text
    assert "Support-Paket Gold" in text
    assert "1.234,50 €" in text
    assert org.name in text
    assert org.account_number in text
    assert "Customer Center" in text


def test_long_invoice_repeats_the_column_header_and_numbers_every_page(tenants):
    descriptions = [f"Managed service item {n:03d}" for n in range(1, 201)]
    invoice = make_invoice(tenants.org_a, lines=_lines(descriptions))
    data = pdf.invoice_pdf(invoice)

    count = pdf_page_count(data)
    pages = pdf_pages(data)
    assert count >= 3
    assert len(pages) == count
    for number, page in enumerate(pages, start=1):
        assert re.search(r"Description\s+Quantity\s+Unit price\s+Tax rate\s+Amount", page), number
        assert f"Page {number} of {count}" in page
    text = "".join(pages)
    assert all(description in text for description in descriptions)
    assert "$2,000.00" in pages[-1]  # Totals at the end.


def test_descriptions_are_printed_as_text_and_nothing_is_fetched(tenants, fetched):
    hostile = [
        '<img src="http://127.0.0.1:9/x.png">',
        "file:///etc/passwd",
        "<b>not bold</b>",
        '<link rel="stylesheet" href="https://example.com/x.css">',
    ]
    invoice = make_invoice(tenants.org_a, lines=_lines(hostile))
    pdf._fonts.__dict__.clear()  # A fresh font cache, so the fonts are fetched (and seen).
    text = squeezed(pdf_text(pdf.invoice_pdf(invoice), layout=False))

    for description in hostile:
        assert squeezed(description) in text
    assert "root:x:0:0" not in text
    assert fetched, "the fonts come through the fetcher"
    for url in fetched:
        assert url.startswith("static:fonts/"), url
        assert pdf.static_path_for(url).is_relative_to(static_root())


def test_rendering_opens_no_network_connection(tenants):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        html = (
            f'<img src="http://127.0.0.1:{port}/x.png">'
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
            f'<p style="background: url(http://127.0.0.1:{port}/bg.png)">x</p>'
        )
        assert render_pdf(html).startswith(b"%PDF")
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.com/style.css",
        "ftp://example.com/file",
        "data:text/plain,hello",
        "file:///etc/passwd",
        "file://otherhost/static/fonts/DejaVuSans.ttf",
        "file:///static/../etc/passwd",
        "static:../portal/settings.py",
        "static:fonts/../../manage.py",
        "static:fonts/missing.ttf",
        "static:",
    ],
)
def test_fetcher_refuses_everything_but_static_files(url):
    with pytest.raises(FetchRefused):
        StaticFilesFetcher().fetch(url)


def test_fetcher_refuses_a_path_escaping_the_static_directory():
    outside = static_root().parent / "manage.py"
    with pytest.raises(FetchRefused):
        StaticFilesFetcher().fetch(static_root().as_uri() + "/../manage.py")
    with pytest.raises(FetchRefused):
        StaticFilesFetcher().fetch(outside.as_uri())


def test_fetcher_refuses_a_symlink_out_of_static(settings, tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "static" / "link.txt").symlink_to(tmp_path / "secret.txt")
    settings.BASE_DIR = tmp_path
    with pytest.raises(FetchRefused):
        StaticFilesFetcher().fetch("static:link.txt")


@pytest.mark.parametrize(
    "url",
    [
        "static:fonts/DejaVuSans.ttf",
        "static:///fonts/DejaVuSans.ttf",
        "file:///static/fonts/DejaVuSans.ttf",  # "/static/fonts/…" joined to the base URL.
        "{root}/fonts/DejaVuSans.ttf",  # "fonts/…" relative to the base URL.
    ],
)
def test_fetcher_serves_static_files(url):
    response = StaticFilesFetcher().fetch(url.format(root=static_root().as_uri()))
    try:
        assert response.read() == (static_root() / "fonts" / "DejaVuSans.ttf").read_bytes()
    finally:
        response.close()


def test_static_url_form_loads_through_the_fetcher(fetched):
    render_pdf('<img src="/static/img/logo.svg" alt=""><img src="img/favicon.svg" alt="">')
    assert [pdf.static_path_for(url).name for url in fetched] == ["logo.svg", "favicon.svg"]


# --- The download view -----------------------------------------------------------------------


def test_owner_downloads_the_invoice_pdf(tenants, client):
    invoice = make_invoice(tenants.org_a, number="INV-2025-0001")
    sign_in(client, tenants.alice.user)
    response = client.get(reverse("invoices:pdf", args=[invoice.number]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-INV-2025-0001.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    assert "INV-2025-0001" in pdf_text(response.content)


def test_finance_colleague_downloads_the_pdf(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.fin.user)
    assert client.get(reverse("invoices:pdf", args=[invoice.number])).status_code == 200


def test_outsider_gets_404_for_another_organizations_invoice(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.charlie.user)
    assert client.get(reverse("invoices:pdf", args=[invoice.number])).status_code == 404
    assert client.get(reverse("invoices:pdf", args=["INV-MISSING"])).status_code == 404


def test_technical_colleague_gets_403(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("invoices:pdf", args=[invoice.number])).status_code == 403


def test_filename_is_sanitised(tenants, client):
    invoice = make_invoice(tenants.org_a, number='A"b;c\\d')
    sign_in(client, tenants.alice.user)
    response = client.get(reverse("invoices:pdf", args=[invoice.number]))
    assert response["Content-Disposition"] == 'attachment; filename="invoice-A_b_c_d.pdf"'


def test_pdf_view_query_count_is_flat(tenants, client, monkeypatch):
    # Queries happen while the template renders; WeasyPrint's layout of 1,000 lines only
    # costs time, so it is skipped here (the other tests render for real).
    monkeypatch.setattr(pdf, "render_pdf", lambda html: b"%PDF-1.7 " + html.encode()[:10])
    invoice = make_invoice(tenants.org_a, amounts=["1.00"])
    sign_in(client, tenants.alice.user)
    url = reverse("invoices:pdf", args=[invoice.number])
    next_position = iter(range(2, 10_000))

    def grow(n):
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=f"Line {position}",
                quantity=Decimal("1"),
                unit_price=Decimal("1.00"),
                amount=Decimal("1.00"),
            )
            for position in (next(next_position) for _ in range(n))
        )

    assert_flat_query_count(grow=grow, request=lambda: client.get(url))


# --- Bulk: zip of PDFs -----------------------------------------------------------------------


def _bulk(client, numbers, action="pdf_zip"):
    return client.post(reverse("invoices:bulk"), {"numbers": numbers, "action": action})


def test_zip_holds_exactly_the_selected_visible_invoices(tenants, client):
    first, second, _unselected = (make_invoice(tenants.org_a) for _ in range(3))
    foreign = make_invoice(tenants.org_b)
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [first.number, second.number, foreign.number])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert re.fullmatch(
        r'attachment; filename="invoices-A-1-\d{4}-\d{2}-\d{2}\.zip"',
        response["Content-Disposition"],
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"invoice-{i.number}.pdf" for i in (first, second))
        for invoice in (first, second):
            assert invoice.number in pdf_text(archive.read(f"invoice-{invoice.number}.pdf"))


def test_zip_query_count_does_not_grow_with_the_selection(tenants, client):
    sign_in(client, tenants.alice.user)
    selected = []

    def grow(n):
        selected.extend(make_invoice(tenants.org_a).number for _ in range(n))

    assert_flat_query_count(grow=grow, request=lambda: _bulk(client, selected), small=2, large=6)


def test_only_foreign_numbers_select_nothing(tenants, client):
    foreign = make_invoice(tenants.org_b)
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [foreign.number])

    assert response.status_code == 302
    assert response["Location"] == reverse("invoices:list")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Select at least one invoice first."
    ]


def test_nothing_selected_goes_back_with_a_message(tenants, client):
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [])
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Select at least one invoice first."
    ]


def test_unknown_bulk_action_is_refused(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [invoice.number], action="delete")
    assert response.status_code == 302
    assert "Choose what to do" in str(next(iter(get_messages(response.wsgi_request))))


def test_too_many_for_one_zip_is_refused(tenants, client):
    sign_in(client, tenants.alice.user)
    response = _bulk(client, [f"INV-{n}" for n in range(26)])
    assert response.status_code == 302
    assert "at most 25" in str(next(iter(get_messages(response.wsgi_request))))


def test_bulk_is_post_only_and_needs_the_invoices_module(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.alice.user)
    assert client.get(reverse("invoices:bulk")).status_code == 405
    sign_in(client, tenants.bob.user)
    assert _bulk(client, [invoice.number]).status_code == 403
