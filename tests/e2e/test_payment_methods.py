"""Payment methods in a real browser through the emulator's Stripe.js Card Element:
add a card, add a second one and make it the default, change its expiry date; a declined
card shows the reason and saves nothing; a 3-D Secure card is confirmed in the dialog.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD, seed_users
from billing.models import PaymentMethod
from contacts.demo import seed_organizations
from contacts.models import Organization
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    DECLINED_AT_ATTACH,
    THREE_D_SECURE,
    stripe,
    stripe_server,
)
from tests.e2e.helpers import sign_in

FINANCE = "finance@acme.example"


@pytest.fixture
def acme(live_server, stripe):  # noqa: F811
    seed_users()
    seed_organizations()
    return Organization.objects.get(account_number="ACME-001")


def _confirm_access_if_asked(page) -> None:
    """Card changes need a recent password entry (allauth's re-authentication)."""
    if "/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()


def _add_card(page, number: str, month: str = "12", year: str = "31", *, three_d_secure=None):
    page.goto("/billing/methods/add/")
    _confirm_access_if_asked(page)
    element = page.locator("#card-element")
    expect(element.locator("input[placeholder=number]")).to_be_visible()
    element.locator("input[placeholder=number]").fill(number)
    element.locator("input[placeholder=exp_month]").fill(month)
    element.locator("input[placeholder=exp_year]").fill(year)
    element.locator("input[placeholder=cvc]").fill("123")
    element.locator("input[placeholder=postal_code]").fill("94105")
    page.get_by_role("button", name="Save card").click()
    if three_d_secure is not None:
        page.get_by_role("button", name=three_d_secure).click()
    page.wait_for_load_state()


def test_add_cards_make_default_and_change_expiry(page, acme):
    sign_in(page, FINANCE, DEMO_PASSWORD)

    _add_card(page, "4242424242424242")
    expect(page).to_have_url(re.compile(r"/billing/methods/$"))
    expect(page.locator(".messages")).to_contain_text("Card Visa •••• 4242 was saved.")
    first = PaymentMethod.objects.get(organization=acme, last4="4242")
    assert first.is_default and (first.exp_month, first.exp_year) == (12, 2031)

    _add_card(page, "4000056655665556", "6", "33")
    expect(page).to_have_url(re.compile(r"/billing/methods/$"))
    second = PaymentMethod.objects.get(organization=acme, last4="5556")
    assert not second.is_default

    page.locator("tr", has_text="5556").get_by_role("link", name="Make default").click()
    page.get_by_role("button", name="Make default").click()
    expect(page.locator("tr", has_text="5556")).to_contain_text("Default")
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_default and not first.is_default

    page.locator("tr", has_text="5556").get_by_role("link", name="Update expiry date").click()
    page.get_by_label("Expiry month").select_option("09")
    page.get_by_label("Expiry year").select_option("2035")
    page.get_by_role("button", name="Save expiry date").click()
    expect(page.locator("tr", has_text="5556")).to_contain_text("09/2035")
    assert page.console_errors == []


def test_declined_card_shows_the_reason_and_saves_nothing(page, acme):
    sign_in(page, FINANCE, DEMO_PASSWORD)

    _add_card(page, DECLINED_AT_ATTACH)

    expect(page).to_have_url(re.compile(r"/billing/methods/add/$"))
    expect(page.locator("main")).to_contain_text("The card was declined by the bank.")
    assert not PaymentMethod.objects.filter(organization=acme).exists()


def test_three_d_secure_card_confirmed_and_cancelled(page, acme):
    sign_in(page, FINANCE, DEMO_PASSWORD)

    _add_card(page, THREE_D_SECURE, three_d_secure="Fail authentication")
    expect(page.locator("main")).to_contain_text("could not be confirmed")
    assert not PaymentMethod.objects.filter(organization=acme).exists()

    _add_card(page, THREE_D_SECURE, three_d_secure="Complete authentication")
    expect(page).to_have_url(re.compile(r"/billing/methods/$"))
    assert PaymentMethod.objects.get(organization=acme).last4 == "3155"
