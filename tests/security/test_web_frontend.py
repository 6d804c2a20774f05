"""ASVS 5.0 chapter V3 (Web frontend security), V13.4 / V16.5 (errors) and V14.3.2
(caching): cookies, CSRF, redirects, security headers on every kind of response.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import get_resolver

from tests.conftest import PASSWORD, sign_in
from tests.invoices.factories import make_invoice
from tests.portal.test_security_headers import PRODUCTION_ENV
from tests.test_url_access import ALL_PATTERNS, _samples, _walk

pytestmark = pytest.mark.django_db
EVIL = "https://evil.example/phish"
EVIL_VARIANTS = [EVIL, "//evil.example/", "/\\evil.example/", "https:evil.example", "\\\\evil"]


# --- V3.3 Cookies in production -------------------------------------------------------------

PRODUCTION_COOKIES = """
import json
from django.db import transaction
from django.test import Client, override_settings
from accounts.models import User

# No collectstatic here: plain static storage instead of the hashed manifest.
plain_static = override_settings(STORAGES={
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
})
result = {}
with plain_static, transaction.atomic():
    user = User.objects.create_user("cookie-check@example.com", PASSWORD)
    client = Client(HTTP_HOST="portal.example.com")
    client.get("/accounts/login/", secure=True)
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD}, secure=True
    )
    assert response.status_code == 302, response.status_code
    response = client.post(
        "/account/language/", {"language": "de", "next": "/"}, secure=True,
        HTTP_X_CSRFTOKEN=client.cookies["__Host-csrftoken"].value,
    )
    for name, morsel in client.cookies.items():
        result[name] = {k: morsel[k] for k in ("secure", "httponly", "samesite", "path", "domain")}
    transaction.set_rollback(True)
print(json.dumps(result))
"""


def test_v3_3_1_to_v3_3_4_production_cookies_are_host_prefixed_secure_httponly_samesite():
    """V3.3.1 Secure, V3.3.2 SameSite, V3.3.3 __Host- prefix (Path=/, no Domain), V3.3.4
    HttpOnly: every cookie a real sign-in and language switch set under production settings."""
    environment = {
        "PATH": os.environ["PATH"],
        **PRODUCTION_ENV,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    code = f"import django; django.setup(); PASSWORD = {PASSWORD!r}\n" + PRODUCTION_COOKIES
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cookies = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(cookies) == {"__Host-sessionid", "__Host-csrftoken", "__Host-language"}
    for name, attributes in cookies.items():
        assert attributes["secure"] is True, name
        assert attributes["httponly"] is True, name
        assert attributes["samesite"] == "Lax", name
        assert attributes["path"] == "/", name
        assert attributes["domain"] == "", name


def _database_url() -> str:
    """The test database pytest-django created (committed schema, no test data)."""
    name = connection.settings_dict["NAME"]
    host = connection.settings_dict.get("HOST") or "127.0.0.1"
    port = connection.settings_dict.get("PORT") or "5432"
    user = connection.settings_dict.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{name}"


# --- V3.5 CSRF --------------------------------------------------------------------------


def test_v3_5_1_the_stripe_webhook_is_the_only_csrf_exempt_view():
    """V3.5.1: every view of every URL tree (portal, allauth, admin) checks the CSRF token,
    except the Stripe webhook, which verifies Stripe's signature instead."""
    exempt = sorted(
        route
        for route, entry in _walk(get_resolver())
        if getattr(entry.callback, "csrf_exempt", False)
    )
    assert exempt == ["billing/stripe/webhook/"]


def test_v3_5_1_a_post_without_csrf_token_is_refused_everywhere(tenants):
    """V3.5.1 / V3.5.3: a cross-site POST (no CSRF token) to every one of the portal's URLs
    is a 403 for a signed-in owner, before the view can change anything."""
    client = Client(enforce_csrf_checks=True)
    sign_in(client, tenants.alice.user)
    samples = _samples(tenants)
    accepted = []
    for parameter in ALL_PATTERNS:
        route, entry = parameter.values
        if getattr(entry.callback, "csrf_exempt", False):
            continue
        response = client.post(_any_url(route, samples), {"next": "/"})
        if response.status_code != 403:
            accepted.append((route, response.status_code))
    assert accepted == []
    assert len(ALL_PATTERNS) > 50


def _any_url(route: str, samples: dict[str, str]) -> str:
    """The route with org A's samples, or any well-formed value (CSRF is checked before the
    view runs, so the object need not exist)."""
    import re
    import uuid

    defaults = {"uuid": str(uuid.uuid4()), "int": "1", "slug": "x", "str": "x", None: "x"}

    def fill(match):
        return samples.get(match.group("name")) or defaults.get(match.group("kind"), "x")

    path = re.sub(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>", fill, route)
    return "/" + path.lstrip("^").rstrip("$")


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/logout/", "/accounts/password/reset/", "/accounts/login/code/"],
)
def test_v3_5_1_allauth_forms_refuse_posts_without_csrf_token(path, user):
    """V3.5.1: sign-in, sign-out, reset and code requests need the token too."""
    client = Client(enforce_csrf_checks=True)
    if path == "/accounts/logout/":
        client.force_login(user)
    response = client.post(path, {"login": user.email, "password": PASSWORD, "email": user.email})
    assert response.status_code == 403
    if path == "/accounts/logout/":
        assert "_auth_user_id" in client.session


# --- V3.7.2 No open redirects --------------------------------------------------------------


@pytest.mark.parametrize("target", EVIL_VARIANTS)
def test_v3_7_2_sign_in_ignores_a_foreign_next(client, user, target):
    """V3.7.2: `next` pointing off-site after sign-in lands on the dashboard instead."""
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", EVIL_VARIANTS)
def test_v3_7_2_language_switch_ignores_a_foreign_next(client, target):
    """V3.7.2: the language switch only goes back to this site."""
    response = client.post("/account/language/", {"language": "fr", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", EVIL_VARIANTS)
def test_v3_7_2_organization_switch_ignores_a_foreign_next(tenants, client, target):
    """V3.7.2: switching organization only goes back to this site."""
    sign_in(client, tenants.alice.user)
    response = client.post(
        f"/organization/switch/?next={target}",
        {"organization": str(tenants.org_a.public_id), "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", EVIL_VARIANTS)
def test_v3_7_2_sign_out_ignores_a_foreign_next(client, user, target):
    """V3.7.2: sign-out with a foreign `next` stays on this site."""
    client.force_login(user)
    response = client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location


def test_v3_7_2_same_site_next_is_still_honoured(client, user):
    """V3.7.2, the other side: a local `next` keeps working (the check is not just 'never')."""
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD, "next": "/invoices/"}
    )
    assert response["Location"] == "/invoices/"


# --- V3.4 Security headers on every kind of response, V14.3.2 no-store --------------------


def _assert_security_headers(response, *, label: str) -> None:
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives.get("object-src") == "'none'", label
    assert directives.get("base-uri") == "'none'", label
    assert directives.get("frame-ancestors") == "'none'", label
    assert "unsafe-inline" not in directives.get("script-src", ""), label
    assert response["X-Content-Type-Options"] == "nosniff", label
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", label
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", label
    assert response["Strict-Transport-Security"].startswith("max-age=31536000"), label


@pytest.fixture
def hsts(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True


@pytest.mark.urls("tests.security.urls_error")
def test_v3_4_headers_on_html_pdf_and_error_pages(tenants, hsts):
    """V3.4.1 HSTS, V3.4.3 CSP (object-src, base-uri), V3.4.4 nosniff, V3.4.5 Referrer-Policy,
    V3.4.6 frame-ancestors, V3.4.8 COOP — on an HTML page, a PDF download and the 403, 404
    and 500 pages (served over https)."""
    invoice = make_invoice(tenants.org_a)
    client = Client(raise_request_exception=False)
    sign_in(client, tenants.alice.user)
    responses = {
        "html": client.get("/invoices/", secure=True),
        "pdf": client.get(f"/invoices/{invoice.number}/pdf/", secure=True),
        "404": client.get(f"/invoices/{invoice.number}-missing/", secure=True),
        "403": client.get("/_test/refuse/", secure=True),
        "500": client.get("/_test/boom/", secure=True),
    }
    expected = {"html": 200, "pdf": 200, "404": 404, "403": 403, "500": 500}
    for label, response in responses.items():
        assert response.status_code == expected[label], label
        _assert_security_headers(response, label=label)
    assert responses["pdf"]["Content-Type"] == "application/pdf"


def test_v14_3_2_signed_in_pages_and_downloads_are_not_cached(tenants, client):
    """V14.3.2: Cache-Control no-store on an authenticated page, a PDF and a CSV download."""
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.alice.user)
    for url in (
        "/invoices/",
        f"/invoices/{invoice.number}/pdf/",
        "/organization/activity/?export=csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


# --- V13.4.2 / V16.5.1 Generic errors, no traceback -------------------------------------------


@pytest.mark.urls("tests.security.urls_error")
def test_v16_5_1_a_server_error_shows_the_generic_page_without_details(settings):
    """V16.5.1 / V13.4.2: with DEBUG off (as in production), an exception inside a view gives
    the portal's 500 page: no traceback, no exception text, no settings."""
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/_test/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    for leak in ("Traceback", "secret-internal-detail", "RuntimeError", "SECRET_KEY", 'File "'):
        assert leak not in body
