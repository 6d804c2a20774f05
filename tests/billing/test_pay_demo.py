"""The payments demo seed: Acme's failed charge on its expired card, a short history."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing.demo import seed_billing
from billing.models import FailedCharge, Payment
from billing.payments_demo import seed_payments
from tests.conftest import sign_in


@pytest.mark.django_db
def test_seed_payments_is_idempotent_and_shows_the_failed_charge(settings):
    settings.DEBUG = True
    call_command("seed_demo", quiet=True)
    seed_billing()
    seed_payments()
    seed_payments()
    failed = FailedCharge.objects.select_related("payment", "organization").get()
    assert failed.organization.account_number == "ACME-001"
    assert failed.payment.failure_code == "expired_card"
    assert "expired" in failed.reason
    currencies = set(Payment.objects.filter(status="succeeded").values_list("currency", flat=True))
    assert currencies == {"USD", "EUR"}
    client = sign_in(Client(), User.objects.get(email="finance@acme.example"))
    page = client.get(reverse("billing:due")).content.decode()
    assert str(failed.public_id) in page
    assert client.get(reverse("billing:payments")).status_code == 200
