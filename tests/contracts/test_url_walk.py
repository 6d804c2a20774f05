"""The project-wide URL walk over the contracts URLs, with the sample objects they need
(the same keys the lead adds to tests/test_url_access.py's SAMPLES)."""

import pytest

from tests import test_url_access as walk
from tests.contracts.factories import url_samples

CONTRACT_PATTERNS = [p for p in walk.ALL_PATTERNS if p.values[0].startswith("contracts/")]


def test_all_contract_urls_are_walked():
    assert len(CONTRACT_PATTERNS) == 5


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "entry"), CONTRACT_PATTERNS)
def test_access_rules_hold_for_contract_urls(route, entry, tenants, client, monkeypatch):
    original = walk._samples
    monkeypatch.setattr(walk, "_samples", lambda t: {**original(t), **url_samples(t)})
    walk.test_access_rules_hold_for_every_url(route, entry, tenants, client)
    walk.test_every_view_declares_its_module(route, entry)
