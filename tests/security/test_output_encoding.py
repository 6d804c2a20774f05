"""ASVS 5.0 V1.2.1 (output encoding), V1.3.11 (mail injection), V1.2.10 (CSV formulas):
hostile names are shown as text on every page, in PDFs and in e-mails.

Chromium (a dialog never opens): tests/e2e/test_security_browser.py.
"""

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core import mail
from django.utils.html import escape

from contacts.models import ActivityEvent
from customers.access import STAFF
from invoices.services import LineData
from tests.conftest import sign_in
from tests.customers.factories import make_staff
from tests.invoices.factories import make_invoice
from tests.test_url_access import ALL_PATTERNS, _module_of, _samples, _url

pytestmark = pytest.mark.django_db
PAYLOAD = '"><img src=x onerror=alert(1)>'
RAW_MARKERS = ("<img src=x", "onerror=alert(1)>")


@pytest.fixture
def hostile(tenants):
    """Org A, its people and an invoice line all carry the payload in their names."""
    tenants.org_a.name = f"Org {PAYLOAD}"
    tenants.org_a.save()
    for contact in (tenants.alice, tenants.bob, tenants.fin):
        contact.user.name = f"{contact.user.name} {PAYLOAD}"
        contact.user.save()
    line = LineData(description=f"Line {PAYLOAD}", quantity=Decimal(1), unit_price=Decimal(5))
    tenants.invoice = make_invoice(tenants.org_a, lines=[line])
    ActivityEvent.objects.create(
        organization=tenants.org_a,
        actor=tenants.bob.user,
        verb=ActivityEvent.Verb.INVITED,
        target=f'=HYPERLINK("http://evil.example","{PAYLOAD}")',
    )
    return tenants


def _assert_encoded(response, url: str) -> None:
    if "text/html" not in response.get("Content-Type", ""):
        return
    body = response.content.decode()
    for marker in RAW_MARKERS:
        assert marker not in body, f"unescaped payload on {url}"


def test_v1_2_1_every_customer_page_escapes_hostile_names(hostile, client):
    """V1.2.1: walking every portal URL as the owner, the payload (in the organization's,
    the people's and an invoice line's names) never reaches the HTML unescaped — and it is
    shown, escaped, where the names appear."""
    samples = _samples(hostile)
    sign_in(client, hostile.alice.user)
    walked = 0
    for parameter in ALL_PATTERNS:
        route, entry = parameter.values
        if _module_of(entry.callback) == STAFF:
            continue
        url = _url(route, {**samples, "number": hostile.invoice.number})
        response = client.get(url)
        assert response.status_code != 500, url
        _assert_encoded(response, url)
        walked += 1
    assert walked > 30
    home = client.get("/").content.decode()
    assert escape(PAYLOAD) in home  # Displayed as text, not dropped.
    detail = client.get(f"/invoices/{hostile.invoice.number}/").content.decode()
    assert escape(f"Line {PAYLOAD}") in detail


def test_v1_2_1_staff_console_escapes_hostile_customer_names(hostile, client):
    """V1.2.1: the staff pages that list and show the customer escape its name too."""
    client.force_login(make_staff())
    for url in (
        "/staff/",
        f"/staff/customers/{hostile.org_a.account_number}/",
        "/staff/scheduled/",
        "/staff/contact-log/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_encoded(response, url)
    assert escape(PAYLOAD) in client.get("/staff/").content.decode()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_v1_2_1_pdfs_print_the_payload_literally(hostile, client):
    """V1.2.1 (PDF context): the invoice PDF prints the names as plain text, nothing
    interpreted."""
    sign_in(client, hostile.alice.user)
    response = client.get(f"/invoices/{hostile.invoice.number}/pdf/")
    assert response.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=b"".join(response.streaming_content) if response.streaming else response.content,
        capture_output=True,
        check=True,
    ).stdout.decode()
    flat = re.sub(r"\s+", " ", text)
    assert f"Org {PAYLOAD}" in flat
    assert f"Line {PAYLOAD}" in flat


def test_v1_2_1_emails_show_the_payload_as_text(hostile, django_capture_on_commit_callbacks):
    """V1.2.1 (e-mail context): an invitation from a hostile-named organization and inviter
    shows the names literally in the text part and escaped in the HTML part."""
    from contacts import services

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            inviter=hostile.alice, email="new@example.com", roles=["finance"], is_admin=False
        )
    message = mail.outbox[-1]
    assert PAYLOAD in message.subject + message.body
    html = next(content for content, kind in message.alternatives if kind == "text/html")
    for marker in RAW_MARKERS:
        assert marker not in html
    assert escape(PAYLOAD) in html


def test_v1_3_11_hostile_name_cannot_inject_mail_headers(
    tenants, django_capture_on_commit_callbacks
):
    """V1.3.11: a newline in an organization name (shown in subjects) adds no header:
    subjects are folded to one line, and the outbox refuses header injection outright
    (tests/portal/test_emails.py)."""
    from contacts import services

    tenants.org_a.name = "Acme\r\nBcc: victim@example.com"
    tenants.org_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            inviter=tenants.alice, email="new@example.com", roles=["finance"], is_admin=False
        )
    message = mail.outbox[-1]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.recipients() == ["new@example.com"]
    assert message.message().get_all("Bcc") is None


def test_v1_2_10_activity_csv_neutralises_formulas(hostile, client):
    """V1.2.10: a formula in an exported text cell is prefixed with ' (the invoice exports:
    tests/invoices/test_exports.py)."""
    sign_in(client, hostile.alice.user)
    response = client.get("/organization/activity/?export=csv")
    assert response.status_code == 200
    body = response.content.decode()
    assert "'=HYPERLINK(" in body
    assert ",=HYPERLINK(" not in body and '"=HYPERLINK(' not in body
