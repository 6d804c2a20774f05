"""Staff screens: requests are answered and contracts renewed through the services."""

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from contracts.models import Contract, ContractReminder, ContractRequest
from tests.accounts.factories import UserFactory
from tests.contracts.factories import ContractRequestFactory, make_contract


@pytest.fixture
def staff_client(client, db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")  # The admin asks staff for two-factor sign-in.
    client.force_login(staff)
    return client


def test_staff_answer_a_request_with_a_note(tenants, staff_client):
    request = ContractRequestFactory(contract=make_contract(tenants.org_a), kind="renewal")
    url = reverse("admin:contracts_contractrequest_update", args=[request.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"status": "declined", "staff_note": ""})
    assert response.status_code == 200 and "Explain" in response.content.decode()
    response = staff_client.post(url, {"status": "in_progress", "staff_note": "On it."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "in_progress" and request.staff_note == "On it."


def test_mark_in_progress_action(tenants, staff_client):
    submitted = ContractRequestFactory(contract=make_contract(tenants.org_a), kind="renewal")
    withdrawn = ContractRequestFactory(
        contract=make_contract(tenants.org_a), kind="renewal", status="withdrawn"
    )
    staff_client.post(
        reverse("admin:contracts_contractrequest_changelist"),
        {"action": "mark_in_progress", "_selected_action": [submitted.pk, withdrawn.pk]},
    )
    assert dict(ContractRequest.objects.values_list("pk", "status")) == {
        submitted.pk: "in_progress",
        withdrawn.pk: "withdrawn",
    }


def test_staff_renew_a_contract(tenants, staff_client):
    contract = make_contract(tenants.org_a)
    url = reverse("admin:contracts_contract_renew", args=[contract.pk])
    assert staff_client.get(url).status_code == 200
    new_end = contract.end_date + timedelta(days=365)
    response = staff_client.post(url, {"new_end_date": new_end.isoformat()})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.end_date == new_end


def test_contracts_cannot_be_deleted_and_reminders_are_read_only(tenants, staff_client):
    contract = make_contract(tenants.org_a)
    reminder = ContractReminder.objects.create(
        contract=contract, days_before=90, end_date=contract.end_date
    )
    assert staff_client.get(
        reverse("admin:contracts_contract_delete", args=[contract.pk])
    ).status_code in (403, 302)
    for url in (
        reverse("admin:contracts_contract_change", args=[contract.pk]),
        reverse("admin:contracts_contract_add"),
        reverse("admin:contracts_contract_changelist"),
        reverse("admin:contracts_contractrequest_changelist"),
        reverse("admin:contracts_contractreminder_changelist"),
    ):
        assert staff_client.get(url).status_code == 200, url
    assert (
        staff_client.post(
            reverse("admin:contracts_contractreminder_change", args=[reminder.pk]), {}
        ).status_code
        == 403
    )
    assert Contract.objects.filter(pk=contract.pk).exists()


def test_terminate_action(tenants, staff_client):
    contract = make_contract(tenants.org_a)
    staff_client.post(
        reverse("admin:contracts_contract_changelist"),
        {"action": "terminate", "_selected_action": [contract.pk]},
    )
    contract.refresh_from_db()
    assert contract.status == "terminated"
