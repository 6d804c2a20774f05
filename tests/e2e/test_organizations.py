"""Organizations in a real browser: role-based navigation, inviting a colleague end to end,
and switching between the organizations a person belongs to.

Every test seeds the demo people and organizations (the same ones `seed_demo` creates) and
signs in with the documented demo password.
"""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD, seed_users
from accounts.models import User
from contacts.demo import seed_organizations
from contacts.models import Contact, Invitation, Organization
from contacts.roles import NAVIGATION
from tests.e2e.helpers import sign_in

HOME_URL = re.compile(r"^https?://[^/]+/$")
INVITATION_URL = re.compile(r"https?://[^\s/]+/organization/invitation/[^/\s]+/")
NEW_COLLEAGUE = "newcolleague@acme.example"
NEW_PASSWORD = "a-brand-new-long-password"


@pytest.fixture
def demo(live_server):
    """The demo people and organizations, seeded in the live server's database."""
    users = seed_users()
    seed_organizations()
    return users


def _contact(email: str, account_number: str = "ACME-001") -> Contact:
    return Contact.objects.get(user__email=email, organization__account_number=account_number)


def _expected_navigation(contact: Contact) -> list[str]:
    """The sidebar labels the module × role matrix grants this contact, in NAVIGATION order."""
    with translation.override("en"):
        return [str(module.label) for module, _url in NAVIGATION if contact.can_see(module)]


def _sidebar_labels(page) -> list[str]:
    return [text.strip() for text in page.locator("nav.sidebar ul a").all_inner_texts()]


def _expect_dashboard(page, name: str) -> None:
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {name}")


def _without_document_status(errors: list[str], status: int, url: str) -> list[str]:
    """Chromium reports an error status of the document itself as a console error."""
    expected = f"console: Failed to load resource: the server responded with a status of {status}"
    return [e for e in errors if not (e.startswith(expected) and e.endswith(f"({url})"))]


def test_navigation_follows_the_role_matrix(demo, page, browser_context_factory):
    finance = _contact("finance@acme.example")
    assert finance.is_admin and finance.roles == ["finance"]
    expected = _expected_navigation(finance)
    # The demo finance contact administers Acme, so the matrix gives them the users pages.
    assert "Users" in expected and expected[0] == "Dashboard"

    sign_in(page, "finance@acme.example", DEMO_PASSWORD)
    _expect_dashboard(page, "Fiona")
    sidebar = page.locator("nav.sidebar")
    expect(sidebar.locator(".nav-section")).to_have_text("Acme Corporation")
    expect(sidebar.locator("ul a")).to_have_count(len(expected))
    assert _sidebar_labels(page) == expected
    expect(sidebar.get_by_role("link", name="Dashboard", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    # Each entry opens its page (no 403 for what the sidebar offers).
    for label in expected[1:]:
        with page.expect_navigation() as navigation:
            sidebar.get_by_role("link", name=label, exact=True).click()
        assert navigation.value.status == 200, (label, navigation.value.status)
        expect(sidebar.get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    assert page.console_errors == []

    tech = _contact("tech@acme.example")
    assert not tech.is_admin and tech.roles == ["technical"]
    tech_expected = _expected_navigation(tech)
    assert "Users" not in tech_expected
    tech_page = browser_context_factory().new_page()
    sign_in(tech_page, "tech@acme.example", DEMO_PASSWORD)
    _expect_dashboard(tech_page, "Theo")
    assert _sidebar_labels(tech_page) == tech_expected
    expect(tech_page.locator("nav.sidebar").get_by_role("link", name="Users")).to_have_count(0)
    assert tech_page.console_errors == []

    response = tech_page.goto("/organization/users/")
    assert response.status == 403
    expect(tech_page.get_by_role("heading", level=1)).to_have_text(
        "You don't have access to this page"
    )
    expect(tech_page.locator("table")).to_have_count(0)
    assert _without_document_status(tech_page.console_errors, 403, response.url) == []


def test_invite_a_colleague_who_signs_up_and_joins(
    demo, page, browser_context_factory, live_server, settings
):
    # The e-mailed link is built from SITE_URL: point it at the live server.
    settings.SITE_URL = live_server.url
    sign_in(page, "finance@acme.example", DEMO_PASSWORD)
    _expect_dashboard(page, "Fiona")
    with page.expect_navigation():
        page.locator("nav.sidebar").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")

    # The sign-in itself counts as a recent password entry for five minutes
    # (ACCOUNT_REAUTHENTICATION_TIMEOUT); later, inviting asks for the password again.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)
    with time_machine.travel(later, tick=True):
        with page.expect_navigation():
            page.get_by_role("link", name="Invite a user").click()
        expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/\?next="))
        page.locator("input[name='password']").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(re.compile(r"/organization/users/invite/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Invite a user")

        mail.outbox.clear()
        page.get_by_label("E-mail address").fill(NEW_COLLEAGUE)
        page.get_by_label("Finance", exact=True).check()
        with page.expect_navigation():
            page.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(re.compile(r"/organization/users/$"))
    expect(page.locator("ul.messages")).to_contain_text(f"Invitation sent to {NEW_COLLEAGUE}.")
    open_invitations = page.locator(
        ".card", has=page.get_by_role("heading", name="Open invitations")
    )
    row = open_invitations.locator("tr", has_text=NEW_COLLEAGUE)
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text(["Finance"])
    assert page.console_errors == []

    sent = [m for m in mail.outbox if NEW_COLLEAGUE in m.to]
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    match = INVITATION_URL.search(sent[0].body)
    assert match, sent[0].body
    accept_url = match.group(0)
    accept_path = urlsplit(accept_url).path

    guest = browser_context_factory().new_page()
    guest.goto(accept_url)
    expect(guest).to_have_url(re.compile(r"/accounts/login/\?next=" + re.escape(accept_path)))
    # Nobody has this address yet: the login page offers invited people a sign-up.
    expect(guest.locator(".alert-info")).to_contain_text(f"You were invited as {NEW_COLLEAGUE}.")
    create_password = guest.get_by_role("link", name="Create your password")
    expect(create_password).to_be_visible()
    with guest.expect_navigation():
        create_password.click()
    expect(guest).to_have_url(re.compile(r"/accounts/signup/"))
    expect(guest.get_by_role("heading", level=1)).to_have_text("Create your password")

    form = guest.locator("form:has(input[name='password1'])")
    form.locator("input[name='email']").fill(NEW_COLLEAGUE)
    form.locator("input[name='password1']").fill(NEW_PASSWORD)
    form.locator("input[name='password2']").fill(NEW_PASSWORD)
    with guest.expect_navigation():
        form.locator("button[type='submit']").click()

    expect(guest).to_have_url(re.compile(re.escape(accept_path) + "$"))
    expect(guest.get_by_role("heading", level=1)).to_have_text("Join Acme Corporation")
    with guest.expect_navigation():
        guest.get_by_role("button", name="Accept invitation").click()

    expect(guest).to_have_url(HOME_URL)
    # No name was asked for at sign-up: the dashboard greets them by e-mail address.
    expect(guest.get_by_role("heading", level=1)).to_have_text(f"Welcome, {NEW_COLLEAGUE}")
    expect(guest.locator("ul.messages")).to_contain_text("Welcome to Acme Corporation.")
    expect(guest.locator("nav.sidebar .nav-section")).to_have_text("Acme Corporation")
    assert guest.console_errors == []

    new_user = User.objects.get(email=NEW_COLLEAGUE)
    contact = Contact.objects.get(user=new_user)
    assert contact.organization == Organization.objects.get(account_number="ACME-001")
    assert contact.roles == ["finance"]
    assert not contact.is_admin
    assert Invitation.objects.get(email=NEW_COLLEAGUE).accepted_at is not None


def test_switch_between_organizations(demo, page):
    sign_in(page, "consultant@partners.example", DEMO_PASSWORD)
    _expect_dashboard(page, "Casey")
    switcher = page.locator("select#organization-switcher")
    expect(switcher.locator("option")).to_have_text(["Acme Corporation", "Globex GmbH"])
    expect(page.locator("nav.sidebar .nav-section")).to_have_text("Acme Corporation")
    expect(page.get_by_text("You are working in Acme Corporation.")).to_be_visible()

    with page.expect_navigation():
        # portal.js submits the form on change; no click on "Switch" needed.
        switcher.select_option(label="Globex GmbH")

    _expect_dashboard(page, "Casey")
    expect(page.locator("ul.messages")).to_contain_text("You are now working in Globex GmbH.")
    expect(page.locator("nav.sidebar .nav-section")).to_have_text("Globex GmbH")
    expect(page.get_by_text("You are working in Globex GmbH.")).to_be_visible()
    expect(switcher.locator("option:checked")).to_have_text("Globex GmbH")

    page.reload()
    expect(page.locator("nav.sidebar .nav-section")).to_have_text("Globex GmbH")
    expect(page.get_by_text("You are working in Globex GmbH.")).to_be_visible()
    expect(page.locator("ul.messages")).to_have_count(0)

    # The "Switch" button works too (the no-JavaScript path).
    switcher.evaluate(
        "(select, label) => { for (const o of select.options) o.selected = o.text === label; }",
        "Acme Corporation",
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()
    expect(page.locator("nav.sidebar .nav-section")).to_have_text("Acme Corporation")
    expect(page.get_by_text("You are working in Acme Corporation.")).to_be_visible()
    assert page.console_errors == []
