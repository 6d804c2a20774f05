import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from accounts.demo import seed_users
from contacts.demo import seed_organizations
from contacts.models import Organization
from customers.demo import DEMO_TOTP_SECRET, STAFF_EMAIL, seed_customers
from customers.models import ScheduledAction


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    seed_users()
    seed_organizations()


def test_seed_customers_sets_ranks_small_customers_a_closure_and_staff_totp_once(demo):
    seed_customers()
    seed_customers()
    ranks = dict(Organization.objects.values_list("account_number", "rank"))
    assert ranks["ACME-001"] == "gold" and ranks["GLOBEX-001"] == "platinum"
    assert set(ranks.values()) == {"platinum", "gold", "silver", "bronze"}
    small = Organization.objects.filter(rank__in=["silver", "bronze"])
    assert small.count() >= 2 and not small.filter(contacts__isnull=False).exists()
    closure = ScheduledAction.objects.get()
    assert closure.target_status == "closed" and closure.status == "scheduled"
    assert closure.created_by.email == STAFF_EMAIL
    assert Authenticator.objects.filter(user__email=STAFF_EMAIL, type="totp").count() == 1


def test_demo_totp_prints_a_code_that_signs_in(demo, capsys):
    seed_customers()
    call_command("demo_totp")
    out = capsys.readouterr().out
    assert DEMO_TOTP_SECRET in out
    code = re.search(r": (\d{6}) ", out).group(1)
    authenticator = Authenticator.objects.get(user__email=STAFF_EMAIL, type="totp")
    assert TOTP(authenticator).validate_code(code)


def test_demo_totp_and_seeding_refuse_with_debug_off(demo, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("demo_totp")
    with pytest.raises(ImproperlyConfigured):
        seed_customers()
    assert not Authenticator.objects.exists()
