"""Signing in and out in a real browser: password, e-mailed code, TOTP, language, sign-out."""

import re

from allauth.mfa.models import Authenticator
from django.urls import reverse
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.helpers import customer, emailed_sign_in_code, sign_in, sign_out, totp_code

LOGIN_URL = re.compile(r"/accounts/login/(\?.*)?$")
HOME_URL = re.compile(r"^https?://[^/]+/$")


def _expect_dashboard(page, user) -> None:
    expect(page).to_have_url(HOME_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.get_short_name()}")


def test_sign_in_with_password_lands_on_dashboard(page):
    user = customer("Ada Lovelace")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    sign_in(page, user.email, PASSWORD)

    _expect_dashboard(page, user)
    expect(page.locator("details.menu > summary")).to_have_text("Ada")
    assert page.console_errors == []


def test_sign_in_with_an_emailed_code(page):
    user = customer("Grace Hopper")

    page.goto(reverse("account_login"))
    with page.expect_navigation():
        page.get_by_role("link", name="E-mail me a sign-in code").click()
    page.locator("input[name='email']").fill(user.email)
    with page.expect_navigation():
        page.get_by_role("button", name="Request Code").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/confirm/"))

    page.locator("input[name='code']").fill(emailed_sign_in_code(user.email))
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()

    _expect_dashboard(page, user)
    assert page.console_errors == []


def test_enrol_totp_then_sign_in_with_it(page):
    user = customer("Katherine Johnson")
    sign_in(page, user.email, PASSWORD)
    _expect_dashboard(page, user)

    page.goto(reverse("mfa_index"))
    with page.expect_navigation():
        page.get_by_role("link", name="Activate").click()
    # Adding an authenticator always asks for the password again first.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    page.locator("input[name='password']").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    page.locator("input[name='code']").fill(totp_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/"))
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    sign_out(page)
    sign_in(page, user.email, PASSWORD)
    # The password alone does not sign in any more: the authenticator code is asked for.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(page.locator("details.menu")).to_have_count(0)
    # A code is only checked against the current 30 s step; activation did not "use" it,
    # and a sign-in code may be used once per step, so the current one is accepted here.
    page.locator("input[name='code']").fill(totp_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign In").click()

    _expect_dashboard(page, user)
    assert page.console_errors == []


def test_language_switcher_translates_the_interface(page):
    user = customer("Alan Turing")
    sign_in(page, user.email, PASSWORD)
    _expect_dashboard(page, user)
    expected_dashboard = {"pt-br": "Painel", "fr": "Tableau de bord", "de": "Übersicht"}

    untranslated = []
    for language, dashboard in expected_dashboard.items():
        with page.expect_navigation():
            # portal.js submits the form on change; no click on "Change" needed.
            page.locator("#language-switcher").select_option(language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#language-switcher")).to_have_value(language)
        nav_link = page.locator("nav.sidebar a[href='/']")
        if nav_link.inner_text().strip() != dashboard:
            untranslated.append((language, nav_link.inner_text().strip(), dashboard))

    user.refresh_from_db()
    assert user.language == "de"
    assert page.console_errors == []
    # Checked last, so html[lang] is verified for every language even without catalogues.
    assert untranslated == [], (
        f"untranslated 'Dashboard' (language, shown, expected): {untranslated}"
    )


def test_sign_out_from_the_user_menu(page, browser_context_factory):
    user = customer("Hedy Lamarr")
    sign_in(page, user.email, PASSWORD)
    _expect_dashboard(page, user)
    other_page = browser_context_factory().new_page()
    sign_in(other_page, user.email, PASSWORD)
    _expect_dashboard(other_page, user)

    sign_out(page)

    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in to Customer Center")).to_be_visible()
    expect(page.locator("details.menu")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    # Signing out ends this browser's session only.
    other_page.reload()
    _expect_dashboard(other_page, user)
    assert page.console_errors == []
    assert other_page.console_errors == []
