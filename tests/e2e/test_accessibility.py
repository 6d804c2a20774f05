"""Accessibility in a real Chromium: axe-core (vendored, see tests/e2e/axe.py) finds zero
WCAG 2.2 A/AA violations on every page, and the whole payment path works from the keyboard.

What is checked, and why this much (the run stays near two minutes on the CI machine):
- Customer pages: every GET-able HTML page of the URL resolver (like tests/test_url_access.py:
  each URL filled with an object of org A; downloads, JSON and POST-only views are skipped
  because they return no HTML page), plus the personal account pages of the user menu
  (password, two-factor, sessions). In English for each role on its own — finance,
  technical, executive — and for an administrator with every role (users, activity). In
  Portuguese (Brazil), French and German that administrator, who reaches every customer
  page, checks every third page each, in turn: every page is checked in English as each
  role and once in another language, every language on a third of the pages. (All pages in
  all four languages would add about a minute for little: the templates are the same, only
  the strings change, and the strings' completeness is tested by the translation suite.)
- Pages without a session, in each language: sign-in, sign-in code (request and confirm),
  password reset (form, sent, bad link), the accessibility statement, the 404 page; and the
  403 page a signed-in person sees.
- The staff console, in English, for a staff member signed in with the authenticator code
  (the authenticator page included).
Each test collects the violations of all its pages and fails once, listing every page,
rule and node target.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import ContactReminder, Invitation, Letter
from contacts.roles import Role
from customers.access import STAFF
from tests.billing.conftest import stripe, stripe_server  # noqa: F401 (fixtures)
from tests.billing.pay_helpers import saved_method
from tests.conftest import PASSWORD
from tests.contacts.factories import ContactFactory
from tests.e2e.axe import axe_violations, describe
from tests.e2e.helpers import LOGIN_PATH, sign_in, totp_code

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = {"en": "en-US", "pt-br": "pt-BR", "fr": "fr-FR", "de": "de-DE"}
OTHER_LANGUAGES = ["pt-br", "fr", "de"]
# Third-party pages outside the walk (allauth: the user menu's account pages).
ACCOUNT_PAGES = [
    "account_change_password",
    "mfa_index",
    "mfa_activate_totp",
    "usersessions_list",
    "account_logout",
]
SKIPPED_MODULES = {"public", STAFF, None}
FOREIGN_PREFIXES = (
    "allauth.",
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.views.static",
)


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _module_of(callback):
    target = getattr(callback, "view_class", callback)
    return getattr(target, "module", None)


def _routes(*, staff: bool) -> list[str]:
    routes = []
    for route, entry in _walk(get_resolver()):
        target = getattr(entry.callback, "view_class", entry.callback)
        if target.__module__.startswith(FOREIGN_PREFIXES) or route.startswith("admin/"):
            continue
        module = _module_of(entry.callback)
        if (module == STAFF) if staff else (module not in SKIPPED_MODULES):
            routes.append(route)
    return routes


def _url(route: str, samples: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(?P<name>\w+)>", lambda m: samples[m.group("name")], route)


def _customer_samples(tenants, stripe_emulator) -> dict[str, str]:
    """A value for every customer URL keyword: an object of org A (as the URL walk)."""
    from billing.models import Payment, PaymentAllocation
    from tests.contracts.factories import url_samples as contract_samples
    from tests.invoices.factories import make_invoice
    from tests.orders.factories import make_order

    invitation = Invitation.objects.create(
        organization=tenants.org_a,
        email="someone@example.com",
        roles=["finance"],
        token_hash="0" * 64,
        invited_by=tenants.alice.user,
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    invoice = make_invoice(tenants.org_a)
    make_invoice(tenants.org_a, amounts=["80.00"])
    payment = Payment.objects.create(
        organization=tenants.org_a,
        idempotency_key=uuid.uuid4().hex,
        currency="USD",
        amount=1,
        status="succeeded",
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=1)
    method = saved_method(stripe_emulator, tenants.org_a)
    return {
        "payment_id": str(payment.public_id),
        "method_id": str(method.public_id),
        "order_number": make_order(tenants.org_a).number,
        **contract_samples(tenants),
        "number": invoice.number,
        "position": "1",
        "contact_id": str(tenants.bob.public_id),
        "invitation_id": str(invitation.public_id),
        "token": "not-a-real-token",
    }


def _html_pages(user, urls: list[str]) -> list[str]:
    """The URLs that answer `user`'s GET with an HTML page (200): no downloads, no JSON,
    no POST-only views, no pages of modules the user's roles don't include."""
    client = Client()
    client.force_login(user)
    pages = []
    for url in urls:
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages.append(url)
    return pages


def _check_pages(page, urls: list[str], language: str) -> dict[str, list[dict]]:
    """Open each URL, check it is in `language`, and return axe's violations per URL."""
    found = {}
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{url}: {response}"
        expect(page.locator("html")).to_have_attribute("lang", language)
        violations = axe_violations(page)
        if violations:
            found[url] = violations
    return found


def _report(found: dict[str, list[dict]]) -> str:
    return "\n".join(f"{url}\n{describe(violations)}" for url, violations in found.items())


def _executive(tenants):
    return ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])


# (language, who): each role alone in English; the administrator with every role in each.
RUNS = [
    ("en", "finance"),
    ("en", "technical"),
    ("en", "executive"),
    ("en", "administrator"),
    ("pt-br", "administrator"),
    ("fr", "administrator"),
    ("de", "administrator"),
]


@pytest.mark.parametrize(("language", "who"), RUNS, ids=[f"{lang}-{who}" for lang, who in RUNS])
def test_customer_pages_have_no_wcag_violations(
    browser_context_factory,
    live_server,
    tenants,
    stripe,  # noqa: F811
    language,
    who,
):
    """WCAG 2.2 A/AA (axe-core): zero violations on every customer page for the role."""
    contact = {
        "finance": tenants.fin,
        "technical": tenants.bob,
        "executive": _executive(tenants),
        "administrator": tenants.alice,
    }[who]
    user = contact.user
    user.language = language
    user.save(update_fields=["language"])
    samples = _customer_samples(tenants, stripe)
    urls = [_url(route, samples) for route in _routes(staff=False)]
    urls += [reverse(name) for name in ACCOUNT_PAGES]
    pages = _html_pages(user, urls)
    assert len(pages) >= 8, pages
    if language != "en":
        # Every page in one of the three other languages, in turn (see the module docstring).
        pages = pages[OTHER_LANGUAGES.index(language) :: len(OTHER_LANGUAGES)]

    page = browser_context_factory(locale=LANGUAGES[language]).new_page()
    sign_in(page, user.email, PASSWORD)
    found = _check_pages(page, pages, language)
    print(f"axe: {len(pages)} pages checked as {who} in {language}")
    assert not found, f"axe found WCAG 2.2 A/AA violations ({who}, {language}):\n" + _report(found)
    assert page.console_errors == []


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_pages_without_a_session_have_no_wcag_violations(
    browser_context_factory, live_server, tenants, language
):
    """WCAG 2.2 A/AA (axe-core): sign-in, sign-in code, password reset, the accessibility
    statement, and the 404 and 403 pages, in each language."""
    page = browser_context_factory(locale=LANGUAGES[language]).new_page()
    found = {}

    def check(page, label: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", language)
        if violations := axe_violations(page):
            found[label] = violations

    for path in (
        LOGIN_PATH,
        reverse("account_reset_password"),
        reverse("account_reset_password_done"),
        "/accounts/password/reset/key/1-not-a-key/",
        reverse("accessibility"),
        "/no-such-page/",
    ):
        page.goto(path)
        check(page, path)

    # Asking for a sign-in code leads to the page where the code is typed.
    page.goto(reverse("account_request_login_code"))
    check(page, reverse("account_request_login_code"))
    page.locator("input[name='email']").fill(tenants.bob.user.email)
    with page.expect_navigation():
        page.locator("main button[type='submit']").first.click()
    expect(page).to_have_url(re.compile(reverse("account_confirm_login_code")))
    check(page, reverse("account_confirm_login_code"))

    # A signed-in person without the role sees the 403 page (in a second context: the code
    # sign-in is still pending in the first).
    tenants.bob.user.language = language
    tenants.bob.user.save(update_fields=["language"])
    signed_in = browser_context_factory(locale=LANGUAGES[language]).new_page()
    sign_in(signed_in, tenants.bob.user.email, PASSWORD)
    response = signed_in.goto(reverse("invoices:list"))
    assert response is not None and response.status == 403
    check(signed_in, "403 " + reverse("invoices:list"))

    assert not found, f"axe found WCAG 2.2 A/AA violations ({language}):\n" + _report(found)
    # The 404 and 403 answers are logged by Chromium as failed loads; nothing else may be.
    errors = [e for e in page.console_errors + signed_in.console_errors if "status of 40" not in e]
    assert errors == []


def _staff_samples(tenants, staff) -> dict[str, str]:
    from tests.contacts.casework_factories import make_customer_contact
    from tests.customers.factories import ScheduledActionFactory
    from tests.plans.factories import SubscriptionFactory

    contact = make_customer_contact(person=tenants.alice.user, staff=staff)
    letter = Letter.objects.create(
        contact=contact, template="payment_reminder", language="en", pdf=b"%PDF-1.7"
    )
    reminder = ContactReminder.objects.create(
        contact=contact, due_at=timezone.now() + timedelta(days=1), assigned_to=staff
    )
    return {
        "customer_contact_id": str(contact.public_id),
        "letter_id": str(letter.public_id),
        "reminder_id": str(reminder.public_id),
        "account_number": tenants.org_a.account_number,
        "subscription_id": str(SubscriptionFactory(organization=tenants.org_a).public_id),
        "operation": "suspend",
        "action_id": str(ScheduledActionFactory(organization=tenants.org_a).public_id),
    }


def test_staff_console_pages_have_no_wcag_violations(browser_context_factory, live_server, tenants):
    """WCAG 2.2 A/AA (axe-core): the authenticator step and every staff console page."""
    from tests.customers.factories import TOTP_SECRET, make_staff

    staff = make_staff(name="Sam Staff")
    samples = _staff_samples(tenants, staff)
    pages = _html_pages(staff, [_url(route, samples) for route in _routes(staff=True)])
    assert len(pages) >= 8, pages

    page = browser_context_factory().new_page()
    sign_in(page, staff.email, PASSWORD)
    expect(page).to_have_url(re.compile(reverse("mfa_authenticate")))
    found = {}
    if violations := axe_violations(page):
        found[reverse("mfa_authenticate")] = violations
    page.locator("input[name='code']").fill(totp_code(TOTP_SECRET))
    with page.expect_navigation():
        page.locator("main button[type='submit']").first.click()
    found |= _check_pages(page, pages, "en")
    print(f"axe: {len(pages) + 1} staff pages checked")
    assert not found, "axe found WCAG 2.2 A/AA violations (staff):\n" + _report(found)
    assert page.console_errors == []


# --- Keyboard only -------------------------------------------------------------------------

_FOCUS_VISIBLE = """el => {
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || (style.boxShadow && style.boxShadow !== "none");
}"""


def _focused(page):
    return page.evaluate_handle("document.activeElement").as_element()


def _tab_to(page, selector: str, *, backwards: bool = False, limit: int = 80):
    """Press Tab (or Shift+Tab) until the focused element matches `selector`; return it."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            element = _focused(page)
            assert element.evaluate(_FOCUS_VISIBLE), f"no visible focus on {selector}"
            return element
    raise AssertionError(f"{limit} presses of {key} never reached {selector} on {page.url}")


def _assert_landmarks(page, *, navigation: bool) -> None:
    for role in ("banner", "main", "contentinfo"):
        expect(page.get_by_role(role)).to_have_count(1)
    if navigation:
        expect(page.get_by_role("navigation", name="Main")).to_have_count(1)


def test_keyboard_only_from_sign_in_to_a_completed_payment(
    browser_context_factory,
    live_server,
    stripe,  # noqa: F811
):
    """Keyboard only (Tab, Shift+Tab, Enter, Space, typing; no clicks): the skip link, visible
    focus, landmarks, announced form errors, and a payment with a saved card to its end."""
    from billing.models import Payment
    from invoices.models import InvoiceStatus
    from tests.contacts.factories import OrganizationFactory
    from tests.e2e.helpers import customer
    from tests.invoices.factories import make_invoice

    organization = OrganizationFactory(name="Keyboard Ltd", account_number="KEY-1")
    user = customer("Kim Keys", organization=organization, roles=[Role.FINANCE])
    saved_method(stripe, organization)
    invoice = make_invoice(organization, amounts=["120.00"])
    page = browser_context_factory().new_page()
    page.goto(LOGIN_PATH)
    _assert_landmarks(page, navigation=False)

    # The first Tab reaches the skip link, shown with a visible focus; Enter moves to main.
    page.keyboard.press("Tab")
    skip = _focused(page)
    assert skip.inner_text().strip() == "Skip to main content"
    assert skip.evaluate(_FOCUS_VISIBLE) and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # A failed submit: the field is marked invalid and described by its error; the form's
    # error is an alert.
    _tab_to(page, "input[name='login']")
    page.keyboard.type(user.email)
    page.keyboard.press("Enter")  # No password yet.
    password = page.locator("input[name='password']")
    expect(password).to_have_attribute("aria-invalid", "true")
    described_by = password.get_attribute("aria-describedby").split()
    errors = [page.locator(f"[id='{ident}']") for ident in described_by]
    assert any(e.count() and "required" in e.inner_text() for e in errors), described_by
    _tab_to(page, "input[name='password']")
    page.keyboard.type("not-the-password-at-all")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("not correct")

    # Signed in from the keyboard.
    _tab_to(page, "input[name='password']")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    _assert_landmarks(page, navigation=True)

    # Billing → Payments due, through the sidebar and the overview's link.
    _tab_to(page, "nav.sidebar a[href='/billing/']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _tab_to(page, "main a[href='/billing/due/']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Payments due", exact=True)).to_be_visible()

    # Choose the invoice and the saved card, then pay.
    _tab_to(page, f"input[name='invoice'][value='{invoice.number}']")
    page.keyboard.press("Space")
    expect(page.locator(f"input[name='invoice'][value='{invoice.number}']")).to_be_checked()
    _tab_to(page, "input[name='method']")
    # Tab enters the radio group on its checked card (or the first); arrows move within it.
    saved_card = page.get_by_label(re.compile(r"•••• 4242"))
    while not page.evaluate("document.activeElement.id === 'method-1'"):
        page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect(saved_card).to_be_checked()
    _tab_to(page, "#pay-form button[type='submit']")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="was paid")).to_be_visible(timeout=15_000)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CLOSED
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert page.console_errors == []


# --- The accessibility statement -----------------------------------------------------------


def test_the_accessibility_statement_is_public_and_linked_from_every_footer(client, tenants):
    """The statement names its target (WCAG 2.2 AA), its tests, limits and a contact, needs
    no sign-in, and the footer of public and signed-in pages links to it."""
    from django.conf import settings

    url = reverse("accessibility")
    assert url == "/accessibility/"
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    for expected in ("WCAG", "2.2", "AA", "axe-core", "keyboard", "Stripe"):
        assert expected in text, expected
    assert f"mailto:{settings.ACCESSIBILITY_CONTACT_EMAIL.split('<')[-1].strip('>')}" in text

    footer_link = f'<a href="{url}">Accessibility</a>'
    assert footer_link in client.get(LOGIN_PATH).content.decode()
    client.force_login(tenants.alice.user)
    assert footer_link in client.get("/").content.decode()
