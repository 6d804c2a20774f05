"""Security in a real browser (ASVS 5.0):

- V1.2.1 / V3.2.2: a person and an organization named `"><img src=x onerror=alert(1)>` open
  no dialog on any representative page;
- V3.4.3: zero Content-Security-Policy violations on every page a finance contact can open,
  including the card and payment pages with the emulator's Stripe.js.
"""

from django.urls import reverse

from contacts.roles import Role
from customers.access import STAFF
from portal.access import PERSONAL
from tests.billing.conftest import stripe, stripe_server  # noqa: F401 (fixtures)
from tests.conftest import PASSWORD
from tests.e2e.helpers import sign_in
from tests.invoices.factories import make_invoice
from tests.test_url_access import ALL_PATTERNS, _module_of, _samples, _url

PAYLOAD = '"><img src=x onerror=alert(1)>'
COLLECT_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_v1_2_1_hostile_names_open_no_dialog(page, live_server, tenants):
    """V1.2.1: as a person whose name (and organization's, and an invoice line's) is the
    payload, no page runs it: no dialog opens, no image with an onerror is in the DOM."""
    tenants.org_a.name = f"Org {PAYLOAD}"
    tenants.org_a.save()
    user = tenants.alice.user
    user.name = PAYLOAD
    user.save()
    tenants.bob.user.name = f"Bob {PAYLOAD}"
    tenants.bob.user.save()
    from decimal import Decimal

    from invoices.services import LineData

    invoice = make_invoice(
        tenants.org_a,
        lines=[LineData(description=PAYLOAD, quantity=Decimal(1), unit_price=Decimal(9))],
    )
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, user.email, PASSWORD)
    pages = [
        "/",
        "/invoices/",
        f"/invoices/{invoice.number}/",
        "/organization/users/",
        "/organization/activity/",
        "/account/profile/",
        "/billing/",
        "/billing/due/",
        "/orders/",
        "/contracts/",
        "/plans/",
        "/rewards/",
    ]
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.locator("img[onerror]").count() == 0, path
    assert dialogs == []
    page.goto("/")
    assert page.get_by_text(PAYLOAD).count() > 0  # Shown, as text.


def _finance_paths(tenants) -> list[str]:
    samples = _samples(tenants)
    paths = []
    for parameter in ALL_PATTERNS:
        route, entry = parameter.values
        module = _module_of(entry.callback)
        if module in (STAFF, "public", None):
            continue
        if module != PERSONAL and not tenants.fin.can_see(module):
            continue
        paths.append(_url(route, samples))
    return paths


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_v3_4_3_no_csp_violation_on_any_finance_page(
    browser_context_factory,
    live_server,
    tenants,
    stripe,  # noqa: F811
):
    """V3.4.3: a finance contact walks every page of the portal that its role opens (plus
    adding a card and confirming a payment, where the emulator's Stripe.js loads): the
    browser reports no CSP violation and no console error on any of them."""
    context = browser_context_factory()
    context.add_init_script(COLLECT_CSP)
    page = context.new_page()
    invoice = make_invoice(tenants.org_a, amounts=["50.00"])
    sign_in(page, tenants.fin.user.email, PASSWORD)
    problems = {}
    visited = 0
    for path in _finance_paths(tenants):
        probe = page.request.get(path, max_redirects=0)
        if probe.status == 405 or "text/html" not in probe.headers.get("content-type", ""):
            continue  # POST-only, or a download (PDF, CSV): no page to render.
        response = page.goto(path)
        page.wait_for_load_state("load")
        visited += 1
        found = _violations(page) + [e for e in page.console_errors if "Content Security" in e]
        if found:
            problems[path] = found
        assert response is None or response.status < 500, path

    # The Stripe.js pages: the card form and a payment's confirmation.
    page.goto(reverse("billing:method_add"))
    if "/reauthenticate/" in page.url:  # Card changes ask for the password again.
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    page.locator("#card-element input[placeholder=number]").wait_for()
    if _violations(page):
        problems["method_add"] = _violations(page)
    page.goto(reverse("billing:due"))
    page.check(f'input[name="invoice"][value="{invoice.number}"]')
    page.get_by_label("A new card").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Pay now").click()
    page.locator("#card-element input[placeholder=number]").wait_for()
    if _violations(page):
        problems["pay_confirm"] = _violations(page)

    assert visited > 20
    assert problems == {}
    assert [e for e in page.console_errors if "Content Security" in e] == []
    assert tenants.fin.roles == [Role.FINANCE]
    # The collector itself works: an injected inline script is blocked and reported.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
