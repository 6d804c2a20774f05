import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "test-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://user:pass@smtp.example.com:587",
    "DEFAULT_FROM_EMAIL": "billing@example.com",
    "STRIPE_SECRET_KEY": "sk_live_test_only",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_test_only",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_only",
}


def _production(code: str, **extra) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ["PATH"], **PRODUCTION_ENV, **extra}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**environment, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_production_settings_secure_cookies_and_hsts():
    result = _production(
        "from django.conf import settings as s; import json; print(json.dumps({"
        "'session': [s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE], 'csrf': [s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE],"
        " 'hsts': s.SECURE_HSTS_SECONDS, 'ssl': s.SECURE_SSL_REDIRECT}))"
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["session"] == ["__Host-sessionid", True, True, "Lax"]
    assert values["csrf"] == ["__Host-csrftoken", True]
    assert values["hsts"] >= 31536000
    assert values["ssl"] is True


def test_production_check_deploy_is_clean():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={"PATH": os.environ["PATH"], **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DEBUG", "maybe"), ("SECRET_KEY", ""), ("SECRET_KEY", "short"), ("CONN_MAX_AGE", "ten")],
)
def test_malformed_or_missing_settings_fail_at_start(variable, value):
    result = _production("print('started')", **{variable: value})
    assert result.returncode != 0
    assert "started" not in result.stdout


def test_production_requires_each_secret():
    for name in [
        "SECRET_KEY",
        "DATABASE_URL",
        "EMAIL_URL",
        "ALLOWED_HOSTS",
        "REDIS_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
    ]:
        environment = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            env={
                "PATH": os.environ["PATH"],
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                **environment,
            },
            capture_output=True,
            text=True,
            cwd=settings.BASE_DIR,
            timeout=60,
        )
        assert result.returncode != 0, name
        assert name in result.stderr


@pytest.mark.django_db
def test_csp_forbids_inline_script_objects_and_framing(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


@pytest.mark.django_db
def test_security_headers_on_pages(client):
    response = client.get("/accounts/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_hsts_header_on_https(client):
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_signed_in_pages_are_not_stored(signed_in_client):
    response = signed_in_client.get(reverse("home"))
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_session_cookie_is_http_only(client, user):
    from tests.conftest import PASSWORD

    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_templates_hold_no_inline_script():
    offenders = []
    for path in (settings.BASE_DIR / "templates").rglob("*.html"):
        if "emails" in path.parts:  # E-mail clients need inline styles; no scripts there.
            continue
        text = path.read_text()
        if "<script>" in text or " onclick=" in text or " onload=" in text or "style=" in text:
            offenders.append(str(path))
    assert offenders == []
