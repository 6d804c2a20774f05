"""Fuzz suite fixtures and Hypothesis profiles.

One world per test module (`world`): org A and its look-alike org B with one object of every
kind a URL names (built by the URL walks' own sample builders), a staff member with TOTP, and
the forms every page renders (`forms`, a crawl of every GET target). It lives in a transaction
opened for the module and rolled back after it; each test runs in a savepoint inside it
(pytest-django's `db`), and each Hypothesis example in a savepoint of its own
(`harness.attempt`), so examples never see each other's writes.

Profiles (applied per test through `FUZZ`, not globally): "fuzz-ci" is chosen when CI=true —
derandomized, so a CI failure reproduces with the same examples; "fuzz-dev" otherwise, random.
`FUZZ_EXAMPLES=<n>` raises the example count for a long local run.
"""

import os

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings

from contacts.roles import Role
from portal import devstripe
from tests.billing.conftest import stripe, stripe_server  # noqa: F401 (fixtures)
from tests.conftest import Tenants
from tests.contacts.factories import ContactFactory, OrganizationFactory
from tests.fuzz.harness import build_world, crawl

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "print_blob": True,
}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
settings.register_profile("fuzz-ci", derandomize=True, max_examples=EXAMPLES, **_COMMON)
settings.register_profile("fuzz-dev", max_examples=EXAMPLES, **_COMMON)
FUZZ = settings.get_profile("fuzz-ci" if os.environ.get("CI") == "true" else "fuzz-dev")


def _tenants() -> Tenants:
    """The same people as tests/conftest.py's `tenants`, built once per module."""
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


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, stripe_server):  # noqa: F811
    overrides = devstripe.settings_overrides(stripe_server.base_url)
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            STRIPE_TIMEOUT=5,
            STRIPE_MAX_NETWORK_RETRIES=0,
            **overrides,
        ),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world(_tenants())
            built.forms = crawl(built)
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def fuzz(world, db, stripe):  # noqa: F811 (billing views call the Stripe emulator)
    """The module's world, for a test that runs in a savepoint of the module's transaction."""
    return world
