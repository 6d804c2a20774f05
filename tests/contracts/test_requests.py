"""Renewal and cancellation requests: who may raise them, when they are refused, withdrawal,
and staff answers. The contract itself never changes by a request."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from contacts.models import ActivityEvent, Organization
from contracts import services
from contracts.models import Contract, ContractRequest
from tests.conftest import sign_in
from tests.contracts.factories import ContractRequestFactory, make_contract


def _request_url(contract, kind="renewal"):
    return reverse("contracts:request", args=[contract.number, kind])


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Service rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "fin"])
def test_every_role_may_request_a_renewal(tenants, who):
    contact = getattr(tenants, who)
    contract = make_contract(tenants.org_a)
    request = services.contract_request_create(
        contact=contact, contract=contract, kind="renewal", message="  Two more years  "
    )
    assert request.status == ContractRequest.Status.SUBMITTED
    assert request.message == "Two more years"
    assert request.organization == tenants.org_a and request.requested_by == contact.user
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE  # A request changes nothing by itself.
    event = ActivityEvent.objects.get(organization=tenants.org_a, verb="contract_request")
    assert event.target == contract.number and event.data["kind"] == "renewal"


def test_second_open_request_of_the_same_kind_is_refused(tenants):
    contract = make_contract(tenants.org_a)
    services.contract_request_create(contact=tenants.bob, contract=contract, kind="renewal")
    with pytest.raises(services.ContractError, match="already open"):
        services.contract_request_create(contact=tenants.fin, contract=contract, kind="renewal")
    assert contract.requests.count() == 1


def test_the_database_refuses_a_second_open_request_too(tenants):
    contract = make_contract(tenants.org_a)
    ContractRequestFactory(contract=contract, kind="renewal")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractRequestFactory(contract=contract, kind="renewal")


def test_a_closed_request_allows_a_new_one(tenants):
    contract = make_contract(tenants.org_a)
    first = services.contract_request_create(contact=tenants.bob, contract=contract, kind="renewal")
    services.contract_request_update(request=first, status="declined", staff_note="Not yet.")
    second = services.contract_request_create(
        contact=tenants.bob, contract=contract, kind="renewal"
    )
    assert second.pk != first.pk


def test_renewal_and_cancellation_are_not_open_at_once(tenants):
    contract = make_contract(tenants.org_a, auto_renew=True)
    services.contract_request_create(contact=tenants.bob, contract=contract, kind="cancellation")
    with pytest.raises(services.ContractError, match="Withdraw it first"):
        services.contract_request_create(contact=tenants.bob, contract=contract, kind="renewal")


@pytest.mark.parametrize(
    ("fields", "kind", "message"),
    [
        ({"status": Contract.Status.TERMINATED}, "renewal", "terminated"),
        ({"end_date_offset": -1}, "renewal", "has ended"),
        ({"end_date_offset": -1}, "cancellation", "has ended"),
        ({"auto_renew": False}, "cancellation", "does not renew automatically"),
        ({}, "upgrade", "Unknown request"),
    ],
)
def test_refusals(tenants, fields, kind, message):
    offset = fields.pop("end_date_offset", 200)
    contract = make_contract(
        tenants.org_a, end_date=timezone.localdate() + timedelta(days=offset), **fields
    )
    with pytest.raises(services.ContractError, match=message):
        services.contract_request_create(contact=tenants.alice, contract=contract, kind=kind)
    assert not ContractRequest.objects.exists()


def test_renewal_is_allowed_on_the_last_day(tenants):
    contract = make_contract(tenants.org_a, end_date=timezone.localdate(), auto_renew=False)
    services.contract_request_create(contact=tenants.bob, contract=contract, kind="renewal")


def test_another_organizations_contract_is_refused(tenants):
    contract = make_contract(tenants.org_b)
    with pytest.raises(services.ContractError):
        services.contract_request_create(contact=tenants.alice, contract=contract, kind="renewal")


def test_withdraw_only_while_submitted(tenants):
    contract = make_contract(tenants.org_a)
    request = services.contract_request_create(
        contact=tenants.bob, contract=contract, kind="renewal"
    )
    services.contract_request_withdraw(contact=tenants.fin, request=request)
    assert request.status == ContractRequest.Status.WITHDRAWN
    assert ActivityEvent.objects.filter(verb="contract_request_withdrawn").count() == 1
    with pytest.raises(services.ContractError, match="no longer be withdrawn"):
        services.contract_request_withdraw(contact=tenants.bob, request=request)

    started = services.contract_request_create(
        contact=tenants.bob, contract=contract, kind="renewal"
    )
    services.contract_request_update(request=started, status="in_progress", staff_note="")
    with pytest.raises(services.ContractError, match="no longer be withdrawn"):
        services.contract_request_withdraw(contact=tenants.bob, request=started)


def test_staff_update_moves_open_requests_only(tenants):
    contract = make_contract(tenants.org_a)
    request = services.contract_request_create(
        contact=tenants.bob, contract=contract, kind="renewal"
    )
    request = services.contract_request_update(
        request=request, status="in_progress", staff_note="Preparing the quote."
    )
    assert request.status == "in_progress" and request.staff_note == "Preparing the quote."
    with pytest.raises(services.ContractError, match="Explain"):
        services.contract_request_update(request=request, status="declined", staff_note=" ")
    services.contract_request_update(request=request, status="completed", staff_note="Done.")
    with pytest.raises(services.ContractError, match="can't be changed"):
        services.contract_request_update(request=request, status="in_progress", staff_note="")
    with pytest.raises(services.ContractError):
        services.contract_request_update(request=request, status="withdrawn", staff_note="")


# --- Pages -------------------------------------------------------------------------------------


def test_request_form_then_post_redirects_with_a_message(tenants, client):
    contract = make_contract(tenants.org_a)
    sign_in(client, tenants.bob.user)
    page = client.get(_request_url(contract))
    assert page.status_code == 200 and "Send request" in page.content.decode()
    response = client.post(_request_url(contract), {"message": "Renew as is, please."})
    assert response.status_code == 302
    assert response["Location"] == reverse("contracts:detail", args=[contract.number])
    request = ContractRequest.objects.get()
    assert request.kind == "renewal" and request.message == "Renew as is, please."
    detail = client.get(response["Location"]).content.decode()
    assert "Renew as is, please." in detail and "Withdraw this request" in detail
    assert "Request renewal" not in detail  # The button is gone while one is open.


def test_duplicate_request_via_the_page_shows_the_reason(tenants, client):
    contract = make_contract(tenants.org_a)
    ContractRequestFactory(contract=contract, kind="renewal")
    sign_in(client, tenants.bob.user)
    assert "already open" in client.get(_request_url(contract)).content.decode()
    response = client.post(_request_url(contract), {"message": ""})
    assert response.status_code == 302
    assert any("already open" in m for m in _messages(response))
    assert ContractRequest.objects.count() == 1


def test_terminated_contract_offers_no_request_buttons(tenants, client):
    contract = make_contract(tenants.org_a, status=Contract.Status.TERMINATED)
    sign_in(client, tenants.alice.user)
    detail = client.get(reverse("contracts:detail", args=[contract.number])).content.decode()
    assert "Request renewal" not in detail and "Request cancellation at term" not in detail
    response = client.post(_request_url(contract), {"message": ""})
    assert any("terminated" in m for m in _messages(response))
    assert not ContractRequest.objects.exists()


def test_cancellation_button_only_for_auto_renewing_contracts(tenants, client):
    renewing = make_contract(tenants.org_a, auto_renew=True)
    ending = make_contract(tenants.org_a, auto_renew=False)
    sign_in(client, tenants.alice.user)
    page = client.get(reverse("contracts:detail", args=[renewing.number])).content.decode()
    assert "Request cancellation at term" in page and "Request renewal" in page
    page = client.get(reverse("contracts:detail", args=[ending.number])).content.decode()
    assert "Request cancellation at term" not in page and "Request renewal" in page


def test_closed_organization_gets_403_and_no_buttons(tenants, client):
    contract = make_contract(tenants.org_a)
    request = ContractRequestFactory(contract=contract, kind="cancellation")
    Organization.objects.filter(pk=tenants.org_a.pk).update(status=Organization.Status.CLOSED)
    sign_in(client, tenants.alice.user)
    detail = client.get(reverse("contracts:detail", args=[contract.number]))
    assert detail.status_code == 200  # Closed accounts still read.
    assert "Request renewal" not in detail.content.decode()
    assert "Withdraw this request" not in detail.content.decode()
    assert client.get(_request_url(contract)).status_code == 403
    assert client.post(_request_url(contract), {"message": ""}).status_code == 403
    withdraw = reverse("contracts:withdraw", args=[request.public_id])
    assert client.post(withdraw).status_code == 403
    request.refresh_from_db()
    assert request.status == "submitted"
    assert ContractRequest.objects.count() == 1


def test_outsider_gets_404_everywhere(tenants, client):
    contract = make_contract(tenants.org_a)
    request = ContractRequestFactory(contract=contract, kind="renewal")
    sign_in(client, tenants.charlie.user)
    for url in (
        reverse("contracts:detail", args=[contract.number]),
        reverse("contracts:pdf", args=[contract.number]),
        _request_url(contract),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(_request_url(contract), {"message": "x"}).status_code == 404
    assert client.post(reverse("contracts:withdraw", args=[request.public_id])).status_code == 404
    request.refresh_from_db()
    assert request.status == "submitted" and ContractRequest.objects.count() == 1


def test_unknown_kind_is_404(tenants, client):
    contract = make_contract(tenants.org_a)
    sign_in(client, tenants.alice.user)
    assert client.get(_request_url(contract, "upgrade")).status_code == 404


def test_withdraw_via_the_page(tenants, client):
    contract = make_contract(tenants.org_a)
    request = ContractRequestFactory(contract=contract, kind="renewal")
    sign_in(client, tenants.fin.user)
    url = reverse("contracts:withdraw", args=[request.public_id])
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("contracts:detail", args=[contract.number])
    request.refresh_from_db()
    assert request.status == "withdrawn"
    again = client.post(url)
    assert any("no longer be withdrawn" in m for m in _messages(again))
