"""Invoices in a real browser: the finance contact's overdue round trip (open an invoice,
download its PDF, dispute a line, e-mail the list to a colleague) and the list's bulk
"Download PDFs (zip)" action.

Every test seeds the demo people, organizations and invoices (the ones `seed_demo` creates)
and signs in with the documented demo password.
"""

import csv
import io
import re
import subprocess
import zipfile
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD, seed_users
from contacts.demo import seed_organizations
from invoices.demo import seed_invoices
from invoices.models import Dispute, Invoice, InvoiceLine, InvoiceStatus
from tests.e2e.helpers import sign_in

FINANCE = "finance@acme.example"
COLLEAGUE = "colleague@acme.example"
ACME = "ACME-001"
# The link also names the line ("Dispute this charge 2") for screen readers.
DISPUTE_LINK = re.compile(r"^Dispute this charge")


@pytest.fixture
def demo(live_server):
    """The demo people, organizations and invoices, seeded in the live server's database."""
    users = seed_users()
    seed_organizations()
    seed_invoices()
    return users


def _detail_url(number: str) -> re.Pattern:
    return re.compile(rf"/invoices/{re.escape(number)}/$")


def _pdf_text(path) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout


def _open_invoices(page) -> None:
    with page.expect_navigation():
        page.locator("nav.sidebar").get_by_role("link", name="Invoices", exact=True).click()
    expect(page).to_have_url(re.compile(r"/invoices/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")


def _open_overdue_tab(page) -> list[str]:
    """Click the "Overdue" tab; check that every row says so in words. Returns the numbers."""
    tabs = page.get_by_role("navigation", name="Invoice status")
    with page.expect_navigation():
        tabs.get_by_role("link", name=re.compile(r"^Overdue\b")).click()
    expect(page).to_have_url(re.compile(r"[?&]status=overdue(&|$)"))
    expect(tabs.get_by_role("link", name=re.compile(r"^Overdue\b"))).to_have_attribute(
        "aria-current", "page"
    )
    overdue = list(
        Invoice.objects.filter(organization__account_number=ACME, status=InvoiceStatus.OVERDUE)
        .order_by("-issue_date")
        .values_list("number", flat=True)
    )
    assert 1 < len(overdue) <= 25, overdue  # One page of the list holds them all.
    rows = page.locator(".card table tbody tr")
    expect(rows).to_have_count(len(overdue))
    # Flagged with text, not only with colour: each row's status badge reads "Overdue".
    expect(rows.locator(".badge")).to_have_text([re.compile(r"\bOverdue$")] * len(overdue))
    numbers = [text.strip() for text in rows.locator("td:nth-child(2) a").all_inner_texts()]
    assert numbers == overdue
    return numbers


def test_overdue_invoice_pdf_dispute_and_email_the_list(demo, page, tmp_path):
    sign_in(page, FINANCE, DEMO_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Fiona")
    _open_invoices(page)
    numbers = _open_overdue_tab(page)

    # Open the newest overdue invoice.
    number = numbers[0]
    with page.expect_navigation():
        page.get_by_role("link", name=number, exact=True).click()
    expect(page).to_have_url(_detail_url(number))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {number}")
    expect(page.locator(".page-head .badge")).to_have_text(re.compile(r"\bOverdue$"))

    # Its PDF.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == f"invoice-{number}.pdf"
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    assert number in _pdf_text(pdf_path)

    # Dispute a line that has no dispute yet.
    lines = page.locator("section[aria-labelledby='lines-heading'] tbody tr")
    undisputed = lines.filter(has=page.get_by_role("link", name=DISPUTE_LINK)).first
    position = int(undisputed.locator("td").first.inner_text())
    line = InvoiceLine.objects.get(invoice__number=number, position=position)
    assert not Dispute.objects.filter(line=line).exists()
    with page.expect_navigation():
        undisputed.get_by_role("link", name=DISPUTE_LINK).click()
    expect(page).to_have_url(
        re.compile(rf"/invoices/{re.escape(number)}/lines/{position}/dispute/$")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Dispute a charge")

    page.get_by_label("What is wrong?").select_option(label="Charged twice")
    page.get_by_label("Tell us more").fill("This charge also appears on the previous invoice.")
    amount = page.get_by_label(re.compile(r"^Disputed amount"))
    # The default is the line's total including tax; keep it.
    line_total = line.amount + line.tax_amount
    assert Decimal(amount.input_value()) == line_total
    with page.expect_navigation():
        page.get_by_role("button", name="Open dispute").click()

    expect(page).to_have_url(_detail_url(number))
    expect(page.locator("ul.messages")).to_contain_text(
        "Your dispute was opened. We will review it and keep you informed here."
    )
    disputed_row = lines.nth(position - 1)
    expect(disputed_row.locator("td").first).to_have_text(str(position))
    expect(disputed_row.locator(".badge")).to_have_text("In dispute")
    expect(disputed_row.get_by_role("link", name=DISPUTE_LINK)).to_have_count(0)
    dispute = Dispute.objects.get(line=line)
    assert dispute.reason == Dispute.Reason.DUPLICATE
    assert dispute.amount == line_total
    assert dispute.opened_by.email == FINANCE

    # Back to the overdue list, and e-mail it to a colleague.
    _open_invoices(page)
    _open_overdue_tab(page)
    with page.expect_navigation():
        page.get_by_role("link", name="E-mail this list").click()
    expect(page).to_have_url(re.compile(r"/invoices/email/\?(.*&)?status=overdue(&|$)"))
    expect(page.get_by_role("heading", level=1)).to_have_text("E-mail the invoice list")

    mail.outbox.clear()
    page.get_by_label("Other addresses").check()
    page.get_by_label("E-mail addresses").fill(COLLEAGUE)
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/invoices/\?(.*&)?status=overdue(&|$)"))
    expect(page.locator("ul.messages")).to_contain_text(
        f"The invoice list is on its way to {COLLEAGUE}."
    )
    assert page.console_errors == []

    sent = [m for m in mail.outbox if COLLEAGUE in m.to]
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    message = sent[0]
    assert message.reply_to == [FINANCE]
    attachments = {a[0]: a for a in message.attachments}
    assert set(attachments) == {"invoices.csv", "invoices.pdf"}, list(attachments)

    _name, csv_content, csv_type = attachments["invoices.csv"]
    assert csv_type.startswith("text/csv")
    if isinstance(csv_content, bytes):
        csv_content = csv_content.decode("utf-8")
    csv_rows = list(csv.reader(io.StringIO(csv_content)))
    # Only the overdue view was e-mailed.
    assert sorted(row[0] for row in csv_rows[1:]) == sorted(numbers)

    _name, pdf_content, pdf_type = attachments["invoices.pdf"]
    assert pdf_type == "application/pdf"
    assert pdf_content.startswith(b"%PDF")
    list_pdf = tmp_path / "invoices.pdf"
    list_pdf.write_bytes(pdf_content)
    assert number in _pdf_text(list_pdf)


def test_bulk_download_of_selected_invoices_as_a_zip(demo, page, tmp_path):
    sign_in(page, FINANCE, DEMO_PASSWORD)
    _open_invoices(page)

    rows = page.locator(".card table tbody tr")
    expect(rows).to_have_count(25)  # The first page of the "All" tab.
    chosen = [text.strip() for text in rows.locator("td:nth-child(2) a").all_inner_texts()[:2]]
    for number in chosen:
        checkbox = page.get_by_label(f"Select {number}", exact=True)
        checkbox.check()
        expect(checkbox).to_be_checked()
    page.get_by_label("With the selected invoices").select_option(label="Download PDFs (zip)")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Apply").click()
    download = download_info.value
    assert download.failure() is None
    assert re.fullmatch(r"invoices-ACME-001-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    zip_path = tmp_path / download.suggested_filename
    download.save_as(zip_path)

    with zipfile.ZipFile(zip_path) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(f"invoice-{n}.pdf" for n in chosen)
        for number in chosen:
            content = archive.read(f"invoice-{number}.pdf")
            assert content.startswith(b"%PDF")
            pdf_path = tmp_path / f"invoice-{number}.pdf"
            pdf_path.write_bytes(content)
            assert number in _pdf_text(pdf_path)

    # A download leaves the list where it was.
    expect(page).to_have_url(re.compile(r"/invoices/$"))
    assert page.console_errors == []
