"""contract_renew (called by staff now, by payments of renewal quotes later) and termination."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts import services
from contracts.models import Contract, ContractRequest
from orders.models import Order
from tests.contracts.factories import ContractRequestFactory, make_contract


def _quote(contract, number="Q-T-1"):
    return Order.objects.create(
        number=number,
        kind=Order.Kind.QUOTE,
        organization=contract.organization,
        order_date=timezone.localdate(),
        currency=contract.currency,
        total=Decimal("100.00"),
        payment_status=Order.PaymentStatus.AWAITING,
        contract=contract,
    )


def test_renew_moves_end_and_renewal_date_and_completes_open_renewal_requests(tenants):
    today = timezone.localdate()
    contract = make_contract(
        tenants.org_a,
        end_date=today + timedelta(days=20),
        renewal_date=today - timedelta(days=10),  # A 30-day notice period.
    )
    request = ContractRequestFactory(contract=contract, kind="renewal")
    new_end = contract.end_date + timedelta(days=365)
    renewed = services.contract_renew(
        contract=contract, new_end_date=new_end, paid_order=_quote(contract)
    )
    assert renewed.end_date == new_end
    assert renewed.renewal_date == new_end - timedelta(days=30)
    assert renewed.status == Contract.Status.ACTIVE
    assert renewed.display_status() == "active"
    request.refresh_from_db()
    assert request.status == ContractRequest.Status.COMPLETED
    assert "Q-T-1" in request.staff_note


def test_renew_twice_to_the_same_date_changes_nothing(tenants):
    contract = make_contract(tenants.org_a)
    new_end = contract.end_date + timedelta(days=365)
    quote = _quote(contract)
    services.contract_renew(contract=contract, new_end_date=new_end, paid_order=quote)
    services.contract_renew(contract=contract, new_end_date=new_end, paid_order=quote)
    contract.refresh_from_db()
    assert contract.end_date == new_end


def test_renew_refusals(tenants):
    contract = make_contract(tenants.org_a)
    with pytest.raises(services.ContractError, match="after the current end date"):
        services.contract_renew(
            contract=contract, new_end_date=contract.end_date - timedelta(days=1)
        )
    other = make_contract(tenants.org_a)
    with pytest.raises(services.ContractError, match="does not renew this contract"):
        services.contract_renew(
            contract=contract,
            new_end_date=contract.end_date + timedelta(days=1),
            paid_order=_quote(other),
        )
    terminated = make_contract(tenants.org_a, status=Contract.Status.TERMINATED)
    with pytest.raises(services.ContractError, match="terminated"):
        services.contract_renew(
            contract=terminated, new_end_date=terminated.end_date + timedelta(days=1)
        )


def test_an_expired_contract_can_be_renewed(tenants):
    today = timezone.localdate()
    contract = make_contract(tenants.org_a, end_date=today - timedelta(days=10))
    services.contract_renew(contract=contract, new_end_date=today + timedelta(days=355))
    assert contract.display_status() == "active"


def test_terminate_closes_open_requests(tenants):
    contract = make_contract(tenants.org_a, auto_renew=True)
    cancellation = ContractRequestFactory(contract=contract, kind="cancellation")
    services.contract_terminate(contract=contract)
    assert contract.status == "terminated" and contract.terminated_at is not None
    cancellation.refresh_from_db()
    assert cancellation.status == "completed" and cancellation.staff_note
    with pytest.raises(services.ContractError, match="already terminated"):
        services.contract_terminate(contract=contract)
