"""The staff console in a real browser: a staff member (signed in with the authenticator
code) schedules a customer's closure for tomorrow, logs a contact for one of its people
with two log entries, a characteristic and a letter; then, with the date moved forward in
the test, the scheduled-actions job closes the account and its finance user sees it.

The test seeds the whole demo (each function of `seed_demo`'s SEEDERS, in order) and signs
in with the documented demo password.
"""

import re
import subprocess
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.module_loading import import_string
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD
from contacts.models import CustomerContact, Letter, Organization
from customers.demo import DEMO_TOTP_SECRET, STAFF_EMAIL
from customers.models import ScheduledAction, StaffAction
from customers.services import scheduled_actions_run
from plans.models import Subscription
from portal.management.commands.seed_demo import SEEDERS
from tests.e2e.helpers import sign_in, totp_code

ACME = "ACME-001"
ACME_NAME = "Acme Corporation"
FINANCE = "finance@acme.example"
FINANCE_NAME = "Fiona Finance"
CLOSING_REASON = "Contract ended; close the account when the notice period is over."
FIRST_ENTRY = "Fiona called: she asked when the account closes and what happens to invoices."
SECOND_ENTRY = "Explained that open invoices stay payable; a reminder letter will follow."
TICKET = "TCK-4711"
HOME_URL = re.compile(r"^https?://[^/]+/$")


@pytest.fixture
def demo(live_server):
    """The whole demo data set, seeded in the live server's database like `seed_demo`.

    seed_demo runs with DEBUG only, and some seeders check that too: DEBUG is on while they
    run, and off again before the browser opens a page.
    """
    with override_settings(DEBUG=True):
        for seeder in SEEDERS:
            import_string(seeder)()


def _day(day) -> str:
    """How the pages print a date (DATE_FORMAT, English)."""
    with translation.override("en"):
        return date_format(day, "DATE_FORMAT")


def _detail_value(section, term: str):
    """The <dd> that follows the <dt> reading `term` in a details list."""
    return section.locator("dt", has_text=re.compile(rf"^\s*{re.escape(term)}\s*$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def _submit(page, button) -> None:
    with page.expect_navigation():
        button.click()


def _sign_in_as_staff(page) -> None:
    sign_in(page, STAFF_EMAIL, DEMO_PASSWORD)
    # Staff have an authenticator: the password alone does not sign in.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.locator("input[name='code']").fill(totp_code(DEMO_TOTP_SECRET))
    _submit(page, page.get_by_role("button", name="Sign In"))
    expect(page.locator("details.menu")).to_have_count(1)


def _schedule_closure(page, tomorrow) -> None:
    page.goto("/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    _submit(page, page.get_by_role("link", name=ACME, exact=True))
    expect(page).to_have_url(re.compile(rf"/staff/customers/{ACME}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ACME_NAME)

    form = page.locator(f"form[action='/staff/customers/{ACME}/status/']")
    form.get_by_label("New status").select_option(label="Closed")
    form.locator("input[name='run_on']").fill(tomorrow.isoformat())
    form.get_by_label("Reason").fill(CLOSING_REASON)
    _submit(page, form.get_by_role("button", name="Continue"))

    # Closing asks for a confirmation, with the date.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Close {ACME_NAME}?")
    expect(page.get_by_role("alert")).to_contain_text(
        f"On {_day(tomorrow)} the account will be closed."
    )
    _submit(page, page.get_by_role("button", name="Yes, schedule the closure"))

    expect(page).to_have_url(re.compile(rf"/staff/customers/{ACME}/$"))
    expect(
        page.get_by_text(f"The change to “Closed” is scheduled for {_day(tomorrow)}.")
    ).to_be_visible()
    scheduled = page.locator("section[aria-labelledby='scheduled-heading']")
    row = scheduled.locator("tbody tr", has_text=CLOSING_REASON)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text(_day(tomorrow))
    expect(row.locator("td").nth(1)).to_have_text("Closed")
    expect(row.locator("td").nth(3)).to_have_text(STAFF_EMAIL)
    expect(row.locator("td").nth(4)).to_contain_text("Scheduled")
    expect(
        _detail_value(page.locator("section[aria-labelledby='account-heading']"), "Status")
    ).to_have_text("Active")


def _log_contact(page) -> CustomerContact:
    page.goto("/staff/contact-log/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    tabs = page.get_by_role("navigation", name="Customer contact log")
    _submit(page, tabs.get_by_role("link", name="Log a contact", exact=True))
    expect(page).to_have_url(re.compile(r"/staff/contact-log/new/$"))

    # Look the person up: their organizations are offered (and preselected).
    page.get_by_label("E-mail address", exact=True).fill(FINANCE)
    _submit(page, page.get_by_role("button", name="Look up"))
    expect(page.get_by_text(f"{FINANCE_NAME} ({FINANCE}), writes in English.")).to_be_visible()
    organization = page.get_by_role("checkbox", name=ACME_NAME)
    expect(organization).to_be_checked()

    form = page.locator("form[method='post']", has=page.locator("[name='contact_type']"))
    expect(form.get_by_label("Person's e-mail address")).to_have_value(FINANCE)
    form.get_by_label("Reason (class and type)").select_option(label="Cancellation request")
    form.get_by_label("Channel").select_option(label="Phone")
    form.get_by_label("Notes").fill("Asked about the account closure.")
    _submit(page, form.get_by_role("button", name="Log the contact"))

    expect(page).to_have_url(re.compile(r"/staff/contact-log/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("The customer contact was logged.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Cancellation request · {FINANCE_NAME}"
    )
    contact = CustomerContact.objects.get(person__email=FINANCE, notes__startswith="Asked about")
    assert list(contact.organizations.values_list("account_number", flat=True)) == [ACME]
    organizations = page.locator("section[aria-labelledby='organizations-heading']")
    expect(organizations.get_by_role("link", name=ACME_NAME)).to_be_visible()

    # Two entries, each through the append form.
    log = page.locator("section#log")
    for text in (FIRST_ENTRY, SECOND_ENTRY):
        log.locator("textarea[name='text']").fill(text)
        _submit(page, log.get_by_role("button", name="Add to the log"))
        expect(page).to_have_url(re.compile(r"#log$"))
        expect(page.get_by_text("Added to the log.")).to_be_visible()
    entries = log.locator("ol.steps > li")
    expect(entries.filter(has_text=FIRST_ENTRY)).to_have_count(1)
    expect(entries.filter(has_text=SECOND_ENTRY)).to_have_count(1)
    texts = entries.all_inner_texts()
    first = next(i for i, t in enumerate(texts) if FIRST_ENTRY in t)
    second = next(i for i, t in enumerate(texts) if SECOND_ENTRY in t)
    assert first < second, texts

    # A characteristic.
    characteristics = page.locator("section#characteristics")
    characteristics.get_by_label("Characteristic").select_option(label="Ticket reference")
    characteristics.get_by_label("Value").fill(TICKET)
    _submit(page, characteristics.get_by_role("button", name="Save"))
    expect(page.get_by_text("The characteristic was saved.")).to_be_visible()
    row = characteristics.locator("tbody tr", has_text="Ticket reference")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text(TICKET)
    expect(row.locator("td").nth(1)).to_have_text(STAFF_EMAIL)

    # A letter, kept with the contact as a PDF.
    letters = page.locator("section#letters")
    letters.get_by_label("Letter").select_option(label="Payment reminder")
    _submit(page, letters.get_by_role("button", name="Generate"))
    expect(page.get_by_text("The letter was generated.")).to_be_visible()
    letter_row = letters.locator("tbody tr", has_text="Payment reminder")
    expect(letter_row).to_have_count(1)
    with page.expect_download() as download_info:
        letter_row.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    path = download.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert FINANCE_NAME in text, text
    assert ACME_NAME in text or ACME in text, text

    contact.refresh_from_db()
    assert contact.log_entries.filter(text__in=[FIRST_ENTRY, SECOND_ENTRY]).count() == 2
    assert contact.characteristics.get(characteristic_type__code="ticket_reference").value == TICKET
    assert Letter.objects.filter(contact=contact, template="payment_reminder").count() == 1
    return contact


def test_staff_schedules_a_closure_logs_a_contact_and_the_job_closes_the_account(
    demo, browser_context_factory
):
    tomorrow = timezone.localdate() + timedelta(days=1)
    acme = Organization.objects.get(account_number=ACME)
    assert acme.status == Organization.Status.ACTIVE
    live = Subscription.objects.filter(organization=acme).exclude(
        status=Subscription.Status.TERMINATED
    )
    assert live.exists(), "The demo should give Acme services to terminate."

    staff_page = browser_context_factory().new_page()
    _sign_in_as_staff(staff_page)
    _schedule_closure(staff_page, tomorrow)
    action = ScheduledAction.objects.get(organization=acme, reason=CLOSING_REASON)
    assert action.status == ScheduledAction.Status.SCHEDULED
    assert action.run_on == tomorrow
    assert action.target_status == Organization.Status.CLOSED

    _log_contact(staff_page)
    assert staff_page.console_errors == []

    # Today nothing is due; tomorrow (passed to the job, no clock freezing) this one is.
    assert scheduled_actions_run() == {}
    outcome = scheduled_actions_run(today=tomorrow)
    assert outcome == {str(ScheduledAction.Status.DONE): 1}, outcome
    action.refresh_from_db()
    assert action.status == ScheduledAction.Status.DONE
    assert action.attempts == 1
    assert action.result["to"] == Organization.Status.CLOSED
    acme.refresh_from_db()
    assert acme.status == Organization.Status.CLOSED
    assert (
        not Subscription.objects.filter(organization=acme)
        .exclude(status=Subscription.Status.TERMINATED)
        .exists()
    )
    closed = StaffAction.objects.get(organization=acme, action=StaffAction.Kind.STATUS_CHANGED)
    assert closed.data["to"] == Organization.Status.CLOSED
    assert closed.data["scheduled_action"] == str(action.public_id)
    assert closed.reason == CLOSING_REASON
    # Running it again does nothing (the job is idempotent).
    assert scheduled_actions_run(today=tomorrow) == {}

    # The customer sees it, in a browser of their own.
    customer_page = browser_context_factory().new_page()
    sign_in(customer_page, FINANCE, DEMO_PASSWORD)
    expect(customer_page).to_have_url(HOME_URL)
    expect(customer_page.get_by_role("heading", level=1)).to_have_text("Welcome, Fiona")
    expect(customer_page.locator(".banner.banner-bad")).to_have_text(
        "This account is closed. You can still read and download everything and pay open "
        "invoices, but you can't order, invite users or change anything."
    )
    assert customer_page.console_errors == []

    # And staff see the status and the audit entry on the 360 page.
    staff_page.goto(f"/staff/customers/{ACME}/")
    expect(
        _detail_value(staff_page.locator("section[aria-labelledby='account-heading']"), "Status")
    ).to_have_text("Closed")
    expect(
        staff_page.get_by_text("This account is closed. A closed account is final")
    ).to_be_visible()
    audit = staff_page.locator("section[aria-labelledby='audit-heading'] ol.steps > li")
    entry = audit.filter(has_text="Changed the account status")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("shown to the customer")
    expect(entry).to_contain_text("Active → Closed")
    expect(entry).to_contain_text("by a scheduled action")
    expect(entry).to_contain_text(CLOSING_REASON)
    expect(audit.filter(has_text="Scheduled a status change")).to_have_count(1)
    row = staff_page.locator(
        "section[aria-labelledby='scheduled-heading'] tbody tr", has_text=CLOSING_REASON
    )
    expect(row.locator("td").nth(4)).to_contain_text("Done")
    assert staff_page.console_errors == []
