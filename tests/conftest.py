import contextlib
import os
import time
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache

from contacts.roles import Role
from portal.celery import app as celery_app
from tests.accounts.factories import UserFactory
from tests.contacts.factories import ContactFactory, OrganizationFactory

PASSWORD = "a-long-enough-test-password"


def pytest_configure(config):
    """Parallel workers share Redis: give each its own cache key prefix."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    cache_settings = settings.CACHES["default"]
    cache_settings["KEY_PREFIX"] = f"{cache_settings.get('KEY_PREFIX') or 'cc'}-test-{worker}"


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Tests run tasks eagerly; the worker test starts a real worker instead."""
    celery_app.conf.task_always_eager = True
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits live in the cache: every test starts with none, on Redis or PostgreSQL."""
    _clear_portal_cache()
    yield
    _clear_portal_cache()


def _clear_portal_cache() -> None:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("RedisCache"):
        client = cache._cache.get_client()
        keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)
    else:
        # Without database access in this test there is nothing cached there either.
        with contextlib.suppress(Exception):
            cache.clear()


@pytest.fixture
def admin_user(db, django_user_model):
    """pytest-django's admin, with the authenticator app staff need to reach the admin."""
    from allauth.mfa.totp.internal.auth import TOTP

    admin = django_user_model.objects.create_superuser("admin@example.com", PASSWORD)
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    return admin


@pytest.fixture
def user(db):
    return UserFactory(password=PASSWORD)


@pytest.fixture
def signed_in_client(client, user):
    client.force_login(user)
    return client


def sign_in(client, user, *, fresh: bool = True):
    """Sign a test client in; `fresh` also counts as a recent password entry (re-auth)."""
    client.force_login(user)
    if fresh:
        session = client.session
        session["account_authentication_methods_user"] = str(user.pk)
        session["account_authentication_methods"] = [
            {"method": "password", "at": time.time(), "email": user.email, "reauthenticated": True}
        ]
        session.save()
    return client


@dataclass
class Tenants:
    """Alice owns org A (every role, admin); Bob is her technical-only colleague;
    Fin is a finance-only colleague; Charlie owns look-alike org B (the outsider)."""

    org_a: object
    org_b: object
    alice: object
    bob: object
    fin: object
    charlie: object


@pytest.fixture
def tenants(db):
    all_roles = list(Role.values)
    org_a = OrganizationFactory(name="Look-alike Ltd", account_number="A-1")
    org_b = OrganizationFactory(name="Look-alike Ltd", account_number="B-1")
    return Tenants(
        org_a=org_a,
        org_b=org_b,
        alice=ContactFactory(organization=org_a, roles=all_roles, is_admin=True),
        bob=ContactFactory(organization=org_a, roles=[Role.TECHNICAL]),
        fin=ContactFactory(organization=org_a, roles=[Role.FINANCE]),
        charlie=ContactFactory(organization=org_b, roles=all_roles, is_admin=True),
    )
