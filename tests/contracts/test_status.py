"""The derived status (active, expiring, expired, terminated) at its boundaries, per row and
as the list's queryset filters, which must agree."""

from datetime import date, timedelta

import pytest

from contracts.models import Contract
from tests.contracts.factories import make_contract

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (-1, "expired"),
        (0, "expiring"),
        (1, "expiring"),
        (90, "expiring"),
        (91, "active"),
        (400, "active"),
    ],
)
def test_display_status_at_the_boundaries(tenants, days, expected):
    contract = make_contract(tenants.org_a, end_date=TODAY + timedelta(days=days))
    assert contract.display_status(TODAY) == expected
    matching = [
        status
        for status in Contract.DisplayStatus.values
        if Contract.objects.with_display_status(status, TODAY).filter(pk=contract.pk).exists()
    ]
    assert matching == [expected]


def test_terminated_wins_over_the_dates(tenants):
    contract = make_contract(
        tenants.org_a, end_date=TODAY + timedelta(days=30), status=Contract.Status.TERMINATED
    )
    assert contract.display_status(TODAY) == "terminated"
    assert list(Contract.objects.with_display_status("terminated", TODAY)) == [contract]
    assert not Contract.objects.with_display_status("expiring", TODAY).exists()


def test_unknown_status_filter_matches_nothing(tenants):
    make_contract(tenants.org_a)
    assert not Contract.objects.with_display_status("bogus", TODAY).exists()
