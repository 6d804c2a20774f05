"""Paying in a real browser through the emulator's Stripe.js (Card Element: plain inputs with
placeholders number, exp_month, exp_year, cvc, postal_code; a 3-D Secure confirm/cancel
dialog): two invoices with a new card, 3-D Secure confirmed and cancelled, a declined card,
and the expired-card failed charge paid with another card while the default stays."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing import payments
from billing.models import FailedCharge, Payment, PaymentMethod
from contacts.roles import Role
from invoices.models import InvoiceStatus
from portal.models import OutboundEmail
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    DECLINED_AT_ATTACH,
    THREE_D_SECURE,
    stripe,
    stripe_server,
)
from tests.billing.pay_helpers import saved_method
from tests.conftest import PASSWORD
from tests.contacts.factories import OrganizationFactory
from tests.e2e.helpers import customer, sign_in
from tests.invoices.factories import make_invoice

CONFIRMED = re.compile(r"/billing/pay/[0-9a-f-]+/$")


@pytest.fixture
def acme(live_server, stripe):  # noqa: F811
    organization = OrganizationFactory(name="Acme", account_number="ACME-E2E")
    user = customer("Fiona Finance", organization=organization, roles=[Role.FINANCE])
    return organization, user


def _open_due(page, user) -> None:
    page.goto("/billing/due/")
    sign_in(page, user.email, PASSWORD)
    page.goto("/billing/due/")
    expect(page.get_by_role("heading", name="Payments due", exact=True)).to_be_visible()


def _pay_now(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Pay now").click()
    expect(page).to_have_url(CONFIRMED)


def _fill_card(page, number: str) -> None:
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("94105")


def test_pay_two_invoices_in_one_payment_with_a_new_card(page, acme):
    organization, user = acme
    first = make_invoice(organization, amounts=["120.00"])
    second = make_invoice(organization, amounts=["80.00"])
    _open_due(page, user)
    page.check(f'input[name="invoice"][value="{first.number}"]')
    page.check(f'input[name="invoice"][value="{second.number}"]')
    page.get_by_label("A new card").check()
    _pay_now(page)
    _fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay \$200\.00")).click()
    expect(page.get_by_text("was paid")).to_be_visible(timeout=15_000)
    for invoice in (first, second):
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.CLOSED
    payment = Payment.objects.get()
    assert payment.amount == Decimal("200.00")
    receipt = OutboundEmail.objects.get(template="payment_receipt")
    assert receipt.to == [user.email]
    assert receipt.attachments.get().filename.endswith(".pdf")
    assert page.console_errors == []


def test_three_d_secure_confirmed_then_another_cancelled(page, acme, stripe):  # noqa: F811
    organization, user = acme
    saved_method(stripe, organization, THREE_D_SECURE)
    confirmed = make_invoice(organization)
    cancelled = make_invoice(organization)
    _open_due(page, user)
    page.check(f'input[name="invoice"][value="{confirmed.number}"]')
    _pay_now(page)
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("was paid")).to_be_visible(timeout=15_000)
    confirmed.refresh_from_db()
    assert confirmed.status == InvoiceStatus.CLOSED

    page.goto("/billing/due/")
    page.check(f'input[name="invoice"][value="{cancelled.number}"]')
    _pay_now(page)
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.get_by_text("authentication (3-D Secure) failed or was cancelled")).to_be_visible(
        timeout=15_000
    )
    cancelled.refresh_from_db()
    assert cancelled.balance == Decimal("100.00")
    assert page.console_errors == []


def test_declined_card_shows_the_reason_and_changes_nothing(page, acme):
    organization, user = acme
    invoice = make_invoice(organization)
    _open_due(page, user)
    page.check(f'input[name="invoice"][value="{invoice.number}"]')
    page.get_by_label("A new card").check()
    _pay_now(page)
    _fill_card(page, DECLINED_AT_ATTACH)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page.locator("#pay-errors")).to_contain_text("declined", timeout=15_000)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert not PaymentMethod.objects.exists()
    assert Payment.objects.get().status == Payment.Status.CREATED
    expect(page.get_by_role("link", name="Enter another card")).to_be_visible()


def test_failed_expired_charge_paid_with_another_card_keeps_the_default(
    page,
    acme,
    stripe,  # noqa: F811
):
    organization, user = acme
    expired = saved_method(stripe, organization, exp_month=1, exp_year=2021, auto_pay=True)
    other = saved_method(stripe, organization, default=False)
    today = timezone.localdate()
    invoice = make_invoice(
        organization, issue_date=today - timedelta(days=40), due_date=today - timedelta(days=5)
    )
    payments.payments_autopay()
    failed = FailedCharge.objects.get()
    _open_due(page, user)
    expect(page.get_by_text("expired at the end of 01/2021")).to_be_visible()
    page.check(f'input[name="failed_charge"][value="{failed.public_id}"]')
    page.get_by_label(re.compile(r"•••• 4242 · 12/2030")).check()
    _pay_now(page)
    expect(page.get_by_text("was paid")).to_be_visible()
    invoice.refresh_from_db()
    failed.refresh_from_db()
    expired.refresh_from_db()
    other.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    assert failed.resolved_at is not None
    assert expired.is_default and not other.is_default
