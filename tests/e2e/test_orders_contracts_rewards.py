"""Orders, contracts and rewards in a real browser: the technical contact follows an order's
status timeline and asks for a contract renewal; the finance contact redeems rewards against
an unpaid invoice and sees its balance due drop.

Every test seeds the whole demo (each function of `seed_demo`'s SEEDERS, in order) and signs
in with the documented demo password.
"""

import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.module_loading import import_string
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD
from contracts.models import Contract, ContractRequest
from invoices.models import Invoice, InvoiceAdjustment
from orders.models import Order
from portal.management.commands.seed_demo import SEEDERS
from portal.money import format_money
from rewards.models import RewardEntry
from tests.e2e.helpers import sign_in

TECH = "tech@acme.example"
FINANCE = "finance@acme.example"
ACME = "ACME-001"
# Delivered after a hold: its timeline has done steps, asides, the current step and one to come.
ORDER = "ACME-SO-3004"
# The support contract ending in about 45 days: it offers "Request renewal".
CONTRACT = "ACME-C-SUP-1"
REDEEM = Decimal("10.00")
RENEWAL_MESSAGE = "Please renew for another 12 months with the same scope."


@pytest.fixture
def demo(live_server):
    """The whole demo data set, seeded in the live server's database like `seed_demo`.

    seed_demo runs with DEBUG only, and some seeders check that too: DEBUG is on while they
    run, and off again before the browser opens a page.
    """
    with override_settings(DEBUG=True):
        for seeder in SEEDERS:
            import_string(seeder)()


def _en(function, *args, **kwargs) -> str:
    with translation.override("en"):
        return function(*args, **kwargs)


def _day(moment) -> str:
    """How the pages print an event's date (DATE_FORMAT, English, the portal's time zone)."""
    return _en(date_format, timezone.localtime(moment).date(), "DATE_FORMAT")


def _money(amount: Decimal, currency: str) -> str:
    return _en(format_money, amount, currency)


def _open_from_sidebar(page, label: str, path: str) -> None:
    with page.expect_navigation():
        page.locator("nav.sidebar").get_by_role("link", name=label, exact=True).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(path)}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(label)


def _detail_value(section, term: str):
    """The <dd> that follows the <dt> reading `term` in a details list."""
    return section.locator("dt", has_text=re.compile(rf"^\s*{re.escape(term)}\s*$")).locator(
        "xpath=following-sibling::dd[1]"
    )


def test_tech_follows_an_order_timeline_and_requests_a_contract_renewal(demo, page):
    order = Order.objects.get(number=ORDER)
    assert order.organization.account_number == ACME
    assert order.status == Order.Status.DELIVERED
    events = list(order.events.order_by("changed_at", "id"))
    first_event = {}
    for event in events:
        first_event.setdefault(event.status, event)
    contract = Contract.objects.get(number=CONTRACT)
    end_date = contract.end_date
    assert not ContractRequest.objects.filter(contract=contract).exists()

    sign_in(page, TECH, DEMO_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Theo")

    # Orders → the list → the delivered order.
    _open_from_sidebar(page, "Orders", "/orders/")
    row = page.locator(".card table tbody tr", has=page.get_by_role("link", name=ORDER, exact=True))
    expect(row).to_have_count(1)
    expect(row.locator(".badge").first).to_have_text("Delivered")
    with page.expect_navigation():
        row.get_by_role("link", name=ORDER, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/orders/{re.escape(ORDER)}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {ORDER}")

    # The step list: the normal path, with the hold and the resumption where they happened.
    steps = page.locator("section[aria-labelledby='timeline-heading'] ol.steps > li")
    expect(steps).to_have_count(7)
    expected = [
        ("done", "Submitted", first_event[Order.Status.SUBMITTED]),
        ("done", "Booked", first_event[Order.Status.BOOKED]),
        ("done", "On hold", first_event[Order.Status.ON_HOLD]),
        ("done", "Resumed: Booked", [e for e in events if e.status == Order.Status.BOOKED][1]),
        ("done", "Provisioning", first_event[Order.Status.PROVISIONING]),
        ("current", "Delivered", first_event[Order.Status.DELIVERED]),
    ]
    for index, (state, label, event) in enumerate(expected):
        step = steps.nth(index)
        expect(step).to_have_class(state)
        expect(step).to_contain_text(label)
        # Each reached step shows the date it was reached.
        date = step.locator("time")
        expect(date).to_have_text(_day(event.changed_at))
        expect(date).to_have_attribute(
            "datetime", re.compile(rf"^{timezone.localtime(event.changed_at).date().isoformat()}T")
        )
    for index in (0, 1, 4):
        expect(steps.nth(index).locator(".visually-hidden")).to_have_text("(done)")
    current = page.locator("ol.steps > li[aria-current='step']")
    expect(current).to_have_count(1)
    expect(current.locator("strong")).to_have_text("Delivered")
    expect(current.locator(".visually-hidden")).to_have_text("(current step)")
    upcoming = steps.nth(6)
    expect(upcoming).to_have_class("upcoming")
    expect(upcoming.locator("strong")).to_have_text("Completed")
    expect(upcoming).to_contain_text("not yet")
    expect(upcoming.locator("time")).to_have_count(0)
    assert page.console_errors == []

    # Contracts → the support contract → Request renewal.
    _open_from_sidebar(page, "Contracts", "/contracts/")
    with page.expect_navigation():
        page.get_by_role("link", name=CONTRACT, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/contracts/{re.escape(CONTRACT)}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Contract {CONTRACT}")
    summary = page.locator("section[aria-labelledby='summary-heading']")
    end_text = _en(date_format, end_date, "DATE_FORMAT")
    expect(_detail_value(summary, "End date")).to_have_text(end_text)
    expect(page.get_by_text("No requests yet.")).to_be_visible()
    with page.expect_navigation():
        page.locator(".page-head").get_by_role("link", name="Request renewal").click()
    expect(page).to_have_url(re.compile(rf"/contracts/{re.escape(CONTRACT)}/request/renewal/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a renewal")

    page.get_by_label("Message (optional)").fill(RENEWAL_MESSAGE)
    with page.expect_navigation():
        page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(rf"/contracts/{re.escape(CONTRACT)}/$"))
    expect(page.locator("ul.messages")).to_contain_text(
        "Your request was sent. We will answer it here, on the contract's page."
    )
    requests = page.locator("section[aria-labelledby='requests-heading'] ol.steps > li")
    expect(requests).to_have_count(1)
    expect(requests.locator("strong").first).to_have_text("Renewal")
    expect(requests.locator(".badge")).to_have_text("Submitted")
    expect(requests).to_contain_text(f"by {TECH}")
    expect(requests).to_contain_text(RENEWAL_MESSAGE)
    expect(requests.get_by_role("button", name="Withdraw this request")).to_be_visible()
    # The open request takes the button away, and the contract itself is unchanged.
    expect(page.locator(".page-head").get_by_role("link", name="Request renewal")).to_have_count(0)
    expect(_detail_value(summary, "End date")).to_have_text(end_text)
    assert page.console_errors == []

    request = ContractRequest.objects.get(contract=contract)
    assert request.kind == ContractRequest.Kind.RENEWAL
    assert request.status == ContractRequest.Status.SUBMITTED
    assert request.message == RENEWAL_MESSAGE
    assert request.requested_by.email == TECH
    assert request.organization_id == contract.organization_id
    contract.refresh_from_db()
    assert contract.end_date == end_date


def test_finance_redeems_rewards_against_an_invoice(demo, page):
    acme_invoices = Invoice.objects.filter(organization__account_number=ACME)
    currency = acme_invoices.values_list("currency", flat=True).first()
    ledger = RewardEntry.objects.filter(organization__account_number=ACME)
    reward_balance = ledger.balances()[currency]
    assert reward_balance > REDEEM
    # An unpaid invoice with no credit yet (the demo already redeemed some against another).
    invoice = (
        acme_invoices.unpaid()
        .filter(currency=currency, balance__gt=REDEEM)
        .exclude(adjustments__kind=InvoiceAdjustment.Kind.CREDIT)
        .order_by("due_date", "id")
        .first()
    )
    assert invoice is not None
    invoice_balance = invoice.balance

    sign_in(page, FINANCE, DEMO_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Fiona")

    _open_from_sidebar(page, "Rewards", "/rewards/")
    balance_card = page.locator(f"section[aria-labelledby='balance-{currency}']")
    figure = balance_card.locator(".figure")
    expect(figure).to_have_text(_money(reward_balance, currency))

    form = page.locator(f"section[aria-labelledby='redeem-{currency}'] form")
    invoice_select = form.get_by_label("Invoice")
    option = f"{invoice.number} — {_money(invoice_balance, currency)} due"
    expect(invoice_select.locator("option", has_text=invoice.number)).to_have_text(option)
    invoice_select.select_option(value=invoice.number)
    form.get_by_label(f"Amount ({currency})").fill(str(REDEEM))
    with page.expect_navigation():
        form.get_by_role("button", name="Apply rewards").click()

    expect(page).to_have_url(re.compile(r"/rewards/$"))
    new_invoice_balance = invoice_balance - REDEEM
    expect(page.locator("ul.messages")).to_contain_text(
        f"Rewards of {_money(REDEEM, currency)} applied to invoice {invoice.number}. "
        f"Its balance is now {_money(new_invoice_balance, currency)}."
    )
    expect(figure).to_have_text(_money(reward_balance - REDEEM, currency))
    assert page.console_errors == []

    # The invoice: balance due down by the amount, and the credit listed.
    page.goto(f"/invoices/{invoice.number}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    balance = page.locator(
        "section.card", has=page.get_by_role("heading", name="Balance", exact=True)
    )
    expect(_detail_value(balance, "Balance due")).to_have_text(
        _money(new_invoice_balance, currency)
    )
    expect(_detail_value(balance, "Credits")).to_have_text(
        _money(invoice.credits_applied + REDEEM, currency)
    )
    credits = page.locator("section[aria-labelledby='payments-heading'] tbody tr")
    credit = credits.filter(has_text="Credit · Rewards redeemed")
    expect(credit).to_have_count(1)
    expect(credit.locator("td.numeric")).to_have_text(_money(REDEEM, currency))
    expect(credit.locator("td").first).to_have_text(
        _en(date_format, timezone.localdate(), "SHORT_DATE_FORMAT")
    )
    assert page.console_errors == []

    invoice.refresh_from_db()
    assert invoice.balance == invoice_balance - REDEEM
    assert ledger.balances()[currency] == reward_balance - REDEEM
    entry = ledger.get(kind=RewardEntry.Kind.REDEEMED, redeemed_invoice=invoice)
    assert entry.amount == -REDEEM
    assert entry.actor.email == FINANCE
