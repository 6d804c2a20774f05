"""The payment pages: Payments due, pay (saved card, new card, 3-D Secure), confirm and status,
history, detail and receipt — roles, tenants, CSP and query budgets."""

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from billing import payments
from billing.models import Payment, PaymentAllocation, PaymentMethod
from contacts.roles import Role
from invoices.models import InvoiceStatus
from orders.models import Order
from tests.billing.conftest import DECLINED_AT_ATTACH, DECLINED_AT_CHARGE, THREE_D_SECURE
from tests.billing.pay_helpers import authenticate, intents_at_stripe, saved_method
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.contracts.factories import make_contract
from tests.invoices.factories import make_invoice
from tests.invoices.test_pdf import pdf_text
from tests.orders.factories import make_order
from tests.query_budget import assert_flat_query_count

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe")]


@pytest.fixture
def executive(tenants):
    return ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])


@pytest.fixture
def fin_client(client, tenants):
    return sign_in(client, tenants.fin.user)


def _csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def _form_token(client, **params) -> str:
    page = client.get(reverse("billing:due"), params)
    return page.context["form"]["form_token"].value()


def _pay(client, invoices, method, **extra):
    data = {
        "form_token": extra.pop("form_token", None) or _form_token(client),
        "invoice": [invoice.number for invoice in invoices],
        "method": method if isinstance(method, str) else str(method.public_id),
        **extra,
    }
    for invoice in invoices:
        data.setdefault(f"amount-{invoice.number}", str(invoice.balance))
    return client.post(reverse("billing:pay"), data)


def _paid(tenants, stripe) -> Payment:
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    return payments.payment_start(
        contact=tenants.fin,
        form_token=uuid.uuid4().hex,
        invoices=[(invoice, invoice.balance)],
        payment_method=method,
    )


# --- Payments due ---------------------------------------------------------------------------


def test_payments_due_lists_invoices_overdue_first_orders_and_renewals(tenants, fin_client):
    today = timezone.localdate()
    later = make_invoice(tenants.org_a, number="A-LATER", due_date=today + timedelta(days=20))
    overdue = make_invoice(
        tenants.org_a,
        number="A-OVERDUE",
        issue_date=today - timedelta(days=60),
        due_date=today - timedelta(days=30),
    )
    make_invoice(tenants.org_b, number="B-THEIRS")
    order = make_order(tenants.org_a, number="SO-AWAITING", payment_status="awaiting")
    contract = make_contract(tenants.org_a, number="C-SUPPORT", kind="support")
    quote = make_order(tenants.org_a, number="Q-RENEWAL", payment_status="awaiting")
    Order.objects.filter(pk=quote.pk).update(contract=contract, kind=Order.Kind.QUOTE)
    make_order(tenants.org_a, number="SO-NORMAL")

    page = fin_client.get(reverse("billing:due"), {"invoice": later.number})
    content = page.content.decode().split("<main", 1)[1]
    assert page.status_code == 200
    assert content.index(overdue.number) < content.index(later.number)
    assert "B-THEIRS" not in content
    assert order.number in content and "Q-RENEWAL" in content and "SO-NORMAL" not in content
    assert "Renewal of contract C-SUPPORT" in content
    assert re.search(rf'name="invoice" value="{later.number}"[^>]*checked', content)
    assert not re.search(rf'name="invoice" value="{overdue.number}"[^>]*checked', content)
    assert "<script" not in content.split("</main>")[0]


def test_pay_two_invoices_with_a_saved_card_from_the_page(tenants, stripe, fin_client):
    method = saved_method(stripe, tenants.org_a)
    first, second = make_invoice(tenants.org_a), make_invoice(tenants.org_a, amounts=["5.25"])
    response = _pay(fin_client, [first, second], method)
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:pay_confirm", args=[payment.public_id])
    page = fin_client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["mode"] == "final"
    assert "was paid" in page.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == InvoiceStatus.CLOSED
    assert payment.amount == Decimal("105.25")


def test_form_problems_are_shown_on_the_page_and_nothing_is_charged(tenants, stripe, fin_client):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    partial = _pay(fin_client, [invoice], method, **{f"amount-{invoice.number}": "10"})
    assert partial.status_code == 200
    assert "Tell us why you pay only part" in partial.content.decode()
    over = _pay(fin_client, [invoice], method, **{f"amount-{invoice.number}": "100.01"})
    assert "left to pay" in over.content.decode()
    nothing = fin_client.post(
        reverse("billing:pay"), {"form_token": "x", "method": str(method.public_id)}
    )
    assert "Choose at least one" in nothing.content.decode()
    garbage = _pay(fin_client, [invoice], method, **{f"amount-{invoice.number}": "NaN"})
    assert "Enter the amount" in garbage.content.decode()
    assert not Payment.objects.exists()
    assert intents_at_stripe() == []


def test_double_post_of_the_same_form_redirects_to_the_same_payment(tenants, stripe, fin_client):
    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    token = _form_token(fin_client)
    first = _pay(fin_client, [invoice], method, form_token=token)
    again = _pay(fin_client, [invoice], method, form_token=token)
    assert first["Location"] == again["Location"]
    assert Payment.objects.count() == 1
    assert len(intents_at_stripe()) == 1


def test_declined_card_shows_the_reason_and_a_new_form_can_retry(tenants, stripe, fin_client):
    declined = saved_method(stripe, tenants.org_a, DECLINED_AT_CHARGE)
    invoice = make_invoice(tenants.org_a)
    response = _pay(fin_client, [invoice], declined)
    page = fin_client.get(response["Location"], follow=True)
    content = page.content.decode()
    assert "declined" in content
    assert page.context["mode"] == "final"
    retry = page.context["retry_query"]
    assert retry == f"invoice={invoice.number}"
    good = saved_method(stripe, tenants.org_a, default=False)
    again = fin_client.get(f"{reverse('billing:due')}?{retry}")
    assert again.context["form"]["form_token"].value() != Payment.objects.get().idempotency_key
    _pay(fin_client, [invoice], good)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED


def test_three_d_secure_through_the_confirm_page(tenants, stripe, fin_client):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    confirm = fin_client.get(_pay(fin_client, [invoice], method)["Location"])
    assert confirm.context["mode"] == "action"
    secret = confirm.context["client_secret"]
    content = confirm.content.decode()
    assert f'data-client-secret="{secret}"' in content
    assert f'<script src="{stripe.js_url}"></script>' in content
    assert "js/stripe-pay.js" in content
    directives = _csp(confirm)
    assert directives["script-src"] == f"'self' {stripe.base_url}"
    assert directives["connect-src"] == f"'self' {stripe.base_url}"

    authenticate(stripe, secret)  # The bank's dialog, answered in the browser.
    status_url = reverse("billing:pay_status", args=[confirm.context["payment"].public_id])
    answer = fin_client.post(status_url, {"action": "sync"}, HTTP_ACCEPT="application/json")
    assert json.loads(answer.content)["status"] == "succeeded"
    assert json.loads(answer.content)["final"] is True
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED


def test_three_d_secure_cancelled_without_javascript_changes_nothing(tenants, stripe, fin_client):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    confirm = fin_client.get(_pay(fin_client, [invoice], method)["Location"])
    authenticate(stripe, confirm.context["client_secret"], success=False)
    payment = confirm.context["payment"]
    # The "Check status" button (no JavaScript): POST, then back to the confirm page.
    response = fin_client.post(reverse("billing:pay_status", args=[payment.public_id]))
    assert response.status_code == 302
    page = fin_client.get(response["Location"])
    assert "authentication" in page.content.decode()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")


def test_pay_with_a_new_card_saves_it_without_changing_the_default(tenants, stripe, fin_client):
    default = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    confirm = fin_client.get(_pay(fin_client, [invoice], "new")["Location"])
    assert confirm.context["mode"] == "setup"
    secret = confirm.context["client_secret"]
    assert secret.startswith("seti_")
    content = confirm.content.decode()
    assert 'id="card-element"' in content
    assert "<input" not in content.split('id="card-element"')[1].split("</div>")[0]
    # What the emulator's Stripe.js does with the Card Element: confirm the SetupIntent.
    setup = stripe.confirm_setup_intent(secret, "5555555555554444")
    assert setup["status"] == "succeeded"
    payment = confirm.context["payment"]
    answer = fin_client.post(
        reverse("billing:pay_status", args=[payment.public_id]),
        {"action": "card", "setup_intent": setup["id"]},
        HTTP_ACCEPT="application/json",
    )
    assert json.loads(answer.content)["status"] == "succeeded"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    new = PaymentMethod.objects.get(last4="4444")
    default.refresh_from_db()
    assert default.is_default and not new.is_default
    assert Payment.objects.get().payment_method == new
    # A second post of the same card form does not charge again.
    fin_client.post(
        reverse("billing:pay_status", args=[payment.public_id]),
        {"action": "card", "setup_intent": setup["id"]},
    )
    assert len(intents_at_stripe()) == 1


def test_new_card_declined_when_saving_charges_nothing(tenants, stripe, fin_client):
    invoice = make_invoice(tenants.org_a)
    confirm = fin_client.get(_pay(fin_client, [invoice], "new")["Location"])
    refused = stripe.confirm_setup_intent(confirm.context["client_secret"], DECLINED_AT_ATTACH)
    assert "error" in refused
    payment = confirm.context["payment"]
    answer = fin_client.post(
        reverse("billing:pay_status", args=[payment.public_id]),
        {"action": "error", "code": refused["error"].get("code", "")},
        HTTP_ACCEPT="application/json",
    )
    data = json.loads(answer.content)
    assert data["status"] == "created" and "declined" in data["message"]
    assert intents_at_stripe() == []
    assert not PaymentMethod.objects.exists()


def test_a_setup_intent_of_another_session_is_not_charged(tenants, stripe, fin_client):
    invoice = make_invoice(tenants.org_a)
    confirm = fin_client.get(_pay(fin_client, [invoice], "new")["Location"])
    setup = stripe.confirm_setup_intent(confirm.context["client_secret"])
    from django.test import Client

    other = sign_in(Client(), tenants.alice.user)
    answer = other.post(
        reverse("billing:pay_status", args=[confirm.context["payment"].public_id]),
        {"action": "card", "setup_intent": setup["id"]},
        HTTP_ACCEPT="application/json",
    )
    assert "expired" in json.loads(answer.content)["message"]
    assert intents_at_stripe() == []


def test_stripe_down_on_the_confirm_page_offers_a_safe_retry(tenants, stripe, settings, fin_client):
    from tests.billing.pay_helpers import closed_port

    method = saved_method(stripe, tenants.org_a)
    invoice = make_invoice(tenants.org_a)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"
    response = _pay(fin_client, [invoice], method)
    page = fin_client.get(response["Location"])
    assert page.context["mode"] == "retry"
    assert "did not answer" in page.content.decode()
    settings.STRIPE_API_BASE = stripe.base_url
    payment = page.context["payment"]
    fin_client.post(reverse("billing:pay_status", args=[payment.public_id]), {"action": "retry"})
    fin_client.post(reverse("billing:pay_status", args=[payment.public_id]), {"action": "retry"})
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert len(intents_at_stripe()) == 1


# --- History, detail, receipt ----------------------------------------------------------------


def test_history_detail_and_receipt(tenants, stripe, fin_client):
    payment = _paid(tenants, stripe)
    invoice = payment.allocations.get().invoice
    listing = fin_client.get(reverse("billing:payments"))
    assert listing.status_code == 200
    assert str(payment.public_id) in listing.content.decode()
    assert invoice.number in listing.content.decode()
    filtered = fin_client.get(reverse("billing:payments"), {"status": "failed"})
    assert str(payment.public_id) not in filtered.content.decode()

    detail = fin_client.get(reverse("billing:payment_detail", args=[payment.public_id]))
    assert detail.status_code == 200
    assert reverse("invoices:detail", args=[invoice.number]) in detail.content.decode()
    assert reverse("billing:receipt", args=[payment.public_id]) in detail.content.decode()

    receipt = fin_client.get(reverse("billing:receipt", args=[payment.public_id]))
    assert receipt["Content-Type"] == "application/pdf"
    text = pdf_text(receipt.content)
    assert "Payment receipt" in text
    assert invoice.number in text
    assert "$100.00" in text


def test_receipt_is_in_the_organizations_language(tenants, stripe, fin_client):
    tenants.org_a.language = "de"
    tenants.org_a.save(update_fields=["language"])
    payment = _paid(tenants, stripe)
    text = pdf_text(fin_client.get(reverse("billing:receipt", args=[payment.public_id])).content)
    assert "100,00 $" in text


def test_receipt_of_an_unfinished_payment_is_not_found(tenants, stripe, fin_client):
    method = saved_method(stripe, tenants.org_a, THREE_D_SECURE)
    invoice = make_invoice(tenants.org_a)
    payment = payments.payment_start(
        contact=tenants.fin,
        form_token="t",
        invoices=[(invoice, invoice.balance)],
        payment_method=method,
    )
    assert fin_client.get(reverse("billing:receipt", args=[payment.public_id])).status_code == 404


# --- Roles and tenants ------------------------------------------------------------------------


def _payment_urls(payment) -> list[str]:
    return [
        reverse("billing:due"),
        reverse("billing:payments"),
        reverse("billing:pay_confirm", args=[payment.public_id]),
        reverse("billing:pay_status", args=[payment.public_id]),
        reverse("billing:payment_detail", args=[payment.public_id]),
        reverse("billing:receipt", args=[payment.public_id]),
    ]


def test_technical_contacts_get_403_on_every_payment_page(tenants, stripe, client):
    payment = _paid(tenants, stripe)
    sign_in(client, tenants.bob.user)
    for url in _payment_urls(payment) + [reverse("billing:pay")]:
        assert client.get(url).status_code in (403, 405), url
        assert client.post(url).status_code == 403, url


def test_executives_read_but_cannot_pay(tenants, stripe, client, executive):
    payment = _paid(tenants, stripe)
    invoice = make_invoice(tenants.org_a)
    sign_in(client, executive.user)
    for url in _payment_urls(payment):
        assert client.get(url).status_code == 200, url
    due = client.get(reverse("billing:due")).content.decode()
    assert invoice.number in due and 'name="invoice"' not in due
    response = client.post(
        reverse("billing:pay"),
        {
            "form_token": "x",
            "invoice": invoice.number,
            f"amount-{invoice.number}": "100",
            "method": "new",
        },
    )
    assert response.status_code == 403
    status = reverse("billing:pay_status", args=[payment.public_id])
    assert client.post(status, {"action": "sync"}).status_code == 403
    assert Payment.objects.count() == 1


def test_outsiders_get_404_for_another_organizations_payment(tenants, stripe, client):
    payment = _paid(tenants, stripe)
    sign_in(client, tenants.charlie.user)
    for url in _payment_urls(payment)[2:]:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code in (404, 405), url
    listing = client.get(reverse("billing:payments")).content.decode()
    assert str(payment.public_id) not in listing


def test_the_webhook_is_the_only_csrf_exempt_view():
    def walk(resolver):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry)
            elif isinstance(entry, URLPattern):
                yield entry

    exempt = {
        entry.name
        for entry in walk(get_resolver())
        if getattr(entry.callback, "csrf_exempt", False)
        and not entry.callback.__module__.startswith(("django.contrib.admin", "allauth"))
    }
    assert exempt == {"stripe_webhook"}


def test_no_card_number_input_in_payment_templates():
    folder = Path(django_settings.BASE_DIR) / "templates" / "billing"
    for path in folder.glob("pay*.html"):
        text = path.read_text()
        assert not re.search(
            r'<input[^>]*(name|id|autocomplete)="[^"]*(card|cvc|cvv|cc-|exp)', text, re.I
        ), path


# --- Query budgets ----------------------------------------------------------------------------


def test_payments_due_query_count_is_flat(tenants, stripe, fin_client):
    saved_method(stripe, tenants.org_a)
    make_order(tenants.org_a, payment_status="awaiting")

    def grow(n):
        for _ in range(n):
            make_invoice(tenants.org_a)

    assert_flat_query_count(grow=grow, request=lambda: fin_client.get(reverse("billing:due")))


def test_payment_history_query_count_is_flat(tenants, fin_client):
    invoice = make_invoice(tenants.org_a)

    def grow(n):
        created = Payment.objects.bulk_create(
            Payment(
                organization=tenants.org_a,
                idempotency_key=uuid.uuid4().hex,
                currency="USD",
                amount=Decimal("1.00"),
                status=Payment.Status.SUCCEEDED,
                paid_by=tenants.fin.user,
            )
            for _ in range(n)
        )
        PaymentAllocation.objects.bulk_create(
            PaymentAllocation(payment=payment, invoice=invoice, amount=Decimal("1.00"))
            for payment in created
        )

    assert_flat_query_count(grow=grow, request=lambda: fin_client.get(reverse("billing:payments")))
