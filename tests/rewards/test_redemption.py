import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from contacts.models import ActivityEvent
from contacts.roles import Role
from invoices.models import InvoiceAdjustment
from rewards.models import RewardAllocation, RewardEntry
from rewards.services import RewardError, rewards_redeem
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.invoices.factories import make_invoice
from tests.rewards.factories import balance_of, grant

pytestmark = pytest.mark.django_db


def _post(client, invoice, amount, *, currency=None, token=None):
    return client.post(
        reverse("rewards:redeem"),
        {
            "token": str(token or uuid.uuid4()),
            "currency": currency or invoice.currency,
            "invoice": invoice.number,
            "amount": amount,
        },
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _nothing_applied(organization, invoice, balance):
    invoice.refresh_from_db()
    assert not RewardEntry.objects.filter(kind="redeemed").exists()
    assert not InvoiceAdjustment.objects.filter(invoice=invoice, kind="credit").exists()
    assert invoice.credits_applied == Decimal("0.00")
    assert balance_of(organization) == Decimal(balance)


def test_finance_contact_redeems_and_the_invoice_balance_drops(tenants, client):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a, number="A-100", amounts=["100.00"])
    sign_in(client, tenants.fin.user)
    response = _post(client, invoice, "25.50")
    assert response.status_code == 302 and response["Location"] == reverse("rewards:list")
    assert _messages(response) == [
        "Rewards of $25.50 applied to invoice A-100. Its balance is now $74.50."
    ]
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("74.50") and invoice.credits_applied == Decimal("25.50")
    [credit] = InvoiceAdjustment.objects.filter(invoice=invoice)
    assert credit.kind == "credit" and credit.idempotency_key.startswith("reward:redeem:")
    [entry] = RewardEntry.objects.filter(kind="redeemed")
    assert entry.amount == Decimal("-25.50") and entry.redeemed_invoice == invoice
    assert entry.actor == tenants.fin.user
    assert balance_of(tenants.org_a) == Decimal("4.50")
    event = ActivityEvent.objects.get(verb="rewards_redeemed")
    assert event.organization == tenants.org_a and event.target == "A-100"
    assert event.data == {"amount": "25.50", "currency": "USD"}


def test_redeeming_the_whole_balance_due_closes_the_invoice(tenants, client):
    grant(tenants.org_a, "500.00")
    invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    sign_in(client, tenants.fin.user)
    _post(client, invoice, "100.00")
    invoice.refresh_from_db()
    assert invoice.status == "closed" and invoice.balance == Decimal("0.00")
    assert balance_of(tenants.org_a) == Decimal("400.00")


def test_redemption_uses_the_soonest_expiring_rewards_first(tenants):
    from datetime import date, timedelta

    today = date.today()
    newer = grant(tenants.org_a, "10.00", earned_on=today - timedelta(days=10))
    older = grant(tenants.org_a, "10.00", earned_on=today - timedelta(days=100))
    rewards_redeem(contact=tenants.fin, invoice=make_invoice(tenants.org_a), amount=Decimal("15"))
    used = dict(RewardAllocation.objects.values_list("earned_id", "amount"))
    assert used == {older.pk: Decimal("10.00"), newer.pk: Decimal("5.00")}


def test_executive_only_contact_sees_the_balance_but_no_form_and_gets_403(tenants, client):
    executive = ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a)
    sign_in(client, executive.user)
    page = client.get(reverse("rewards:list"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "$30.00" in content and 'action="/rewards/redeem/"' not in content
    assert "Only finance contacts can redeem rewards." in content
    assert _post(client, invoice, "10.00").status_code == 403
    _nothing_applied(tenants.org_a, invoice, "30.00")


def test_technical_contact_gets_403_on_the_page_and_the_post(tenants, client):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("rewards:list")).status_code == 403
    assert _post(client, invoice, "10.00").status_code == 403
    _nothing_applied(tenants.org_a, invoice, "30.00")


def test_outsider_cannot_apply_rewards_to_another_organizations_invoice(tenants, client):
    grant(tenants.org_a, "30.00")
    grant(tenants.org_b, "30.00")
    invoice = make_invoice(tenants.org_a, number="A-777")
    sign_in(client, tenants.charlie.user)
    response = _post(client, invoice, "10.00")
    assert response.status_code == 302
    assert _messages(response) == ["Choose one of your organization's unpaid invoices."]
    _nothing_applied(tenants.org_a, invoice, "30.00")
    assert balance_of(tenants.org_b) == Decimal("30.00")
    with pytest.raises(RewardError) as refused:
        rewards_redeem(contact=tenants.charlie, invoice=invoice, amount=Decimal("10"))
    assert refused.value.code == "not_found"
    _nothing_applied(tenants.org_a, invoice, "30.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("30.01", "You have only $30.00 in rewards to redeem."),
        ("0", "The amount must be more than zero."),
        ("-5", "The amount must be more than zero."),
        ("NaN", "Enter the amount as a number, such as 12.50."),
        ("Infinity", "Enter the amount as a number, such as 12.50."),
        ("-Infinity", "Enter the amount as a number, such as 12.50."),
        ("1e999", "This amount is far too large."),
        ("12.345", "Use at most 2 decimal places."),
        ("", "Enter the amount of rewards to apply."),
    ],
)
def test_bad_amounts_are_refused_with_a_clear_message(tenants, client, amount, message):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a, amounts=["100.00"])
    sign_in(client, tenants.fin.user)
    response = _post(client, invoice, amount)
    assert response.status_code == 302
    assert _messages(response) == [message]
    _nothing_applied(tenants.org_a, invoice, "30.00")


def test_more_than_the_invoice_balance_is_refused(tenants, client):
    grant(tenants.org_a, "300.00")
    invoice = make_invoice(tenants.org_a, number="A-200", amounts=["100.00"])
    sign_in(client, tenants.fin.user)
    response = _post(client, invoice, "100.01")
    assert _messages(response) == ["Invoice A-200 has only $100.00 left to pay."]
    _nothing_applied(tenants.org_a, invoice, "300.00")


def test_currency_mismatch_is_refused(tenants, client):
    grant(tenants.org_a, "30.00")
    grant(tenants.org_a, "30.00", currency="EUR")
    euro_invoice = make_invoice(tenants.org_a, number="A-EUR", currency="EUR")
    sign_in(client, tenants.fin.user)
    response = _post(client, euro_invoice, "10.00", currency="USD")
    assert _messages(response) == ["Invoice A-EUR is in EUR: USD rewards can't pay it."]
    _nothing_applied(tenants.org_a, euro_invoice, "30.00")
    with pytest.raises(RewardError) as refused:
        rewards_redeem(
            contact=tenants.fin, invoice=euro_invoice, amount=Decimal("10"), currency="USD"
        )
    assert refused.value.code == "currency"


def test_rewards_of_another_currency_do_not_count(tenants):
    grant(tenants.org_a, "30.00", currency="EUR")
    invoice = make_invoice(tenants.org_a)  # USD
    with pytest.raises(RewardError) as refused:
        rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("10"))
    assert refused.value.code == "insufficient_balance"
    _nothing_applied(tenants.org_a, invoice, "0.00")


def test_paid_invoice_is_refused(tenants):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a, amounts=["10.00"])
    rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("10"))
    with pytest.raises(RewardError) as refused:
        rewards_redeem(contact=tenants.fin, invoice=invoice, amount=Decimal("1"))
    assert refused.value.code == "invoice_paid"
    assert balance_of(tenants.org_a) == Decimal("20.00")


def test_service_refuses_amounts_the_form_would_refuse(tenants):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a)
    for amount in ("NaN", "Infinity", "0", "-1", "1.001", "abc"):
        with pytest.raises(RewardError) as refused:
            rewards_redeem(contact=tenants.fin, invoice=invoice, amount=amount)
        assert refused.value.code == "invalid_amount", amount
    _nothing_applied(tenants.org_a, invoice, "30.00")


def test_closed_organization_cannot_redeem(tenants, client):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a)
    tenants.org_a.status = "closed"
    tenants.org_a.save(update_fields=["status"])
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("rewards:list"))
    assert page.status_code == 200 and not page.context["redeem_forms"]
    assert _post(client, invoice, "10.00").status_code == 403
    _nothing_applied(tenants.org_a, invoice, "30.00")


def test_double_submit_applies_once(tenants, client):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a, number="A-300", amounts=["100.00"])
    sign_in(client, tenants.fin.user)
    form = client.get(reverse("rewards:list")).context["redeem_forms"][0]
    token = form.initial["token"]
    first = _post(client, invoice, "10.00", token=token)
    second = _post(client, invoice, "10.00", token=token)
    applied = "Rewards of $10.00 applied to invoice A-300. Its balance is now $90.00."
    assert _messages(first) == [applied]
    assert set(_messages(second)) == {applied}  # The second click says the same, applies nothing.
    invoice.refresh_from_db()
    assert invoice.credits_applied == Decimal("10.00")
    assert RewardEntry.objects.filter(kind="redeemed").count() == 1
    assert InvoiceAdjustment.objects.filter(invoice=invoice).count() == 1
    assert balance_of(tenants.org_a) == Decimal("20.00")


def test_form_offers_unpaid_invoices_with_balances_and_defaults_the_amount(tenants, client):
    grant(tenants.org_a, "30.00")
    make_invoice(tenants.org_a, number="A-DUE", amounts=["20.00"])
    make_invoice(tenants.org_a, number="A-BIG", amounts=["500.00"])
    make_invoice(tenants.org_b, number="B-DUE", amounts=["20.00"])
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("rewards:list"))
    content = page.content.decode()
    assert "A-DUE — $20.00 due" in content and "A-BIG — $500.00 due" in content
    assert "B-DUE" not in content
    [form] = page.context["redeem_forms"]
    assert form.initial["amount"] == Decimal("20.00")  # min(balance, first invoice's balance)
    chosen = client.get(reverse("rewards:list"), {"invoice": "A-BIG"}).context["redeem_forms"][0]
    assert chosen.initial["invoice"] == "A-BIG" and chosen.initial["amount"] == Decimal("30.00")


def test_tampered_or_stale_form_is_refused(tenants, client):
    grant(tenants.org_a, "30.00")
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.fin.user)
    for data in (
        {"currency": "USD", "invoice": invoice.number, "amount": "5"},
        {"token": "not-a-uuid", "currency": "USD", "invoice": invoice.number, "amount": "5"},
        {"token": str(uuid.uuid4()), "invoice": invoice.number, "amount": "5"},
    ):
        response = client.post(reverse("rewards:redeem"), data)
        assert response.status_code == 302
        assert "This form is out of date. Reload the page and try again." in _messages(response)
    _nothing_applied(tenants.org_a, invoice, "30.00")
