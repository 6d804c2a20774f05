"""Every plans URL: sign-in required, every role reads, nothing accepts POST."""

import pytest
from django.urls import reverse

from tests.conftest import sign_in

URLS = [
    ("plans:list", {}),
    ("plans:schedule", {}),
    ("plans:schedule_download", {"file_format": "csv"}),
    ("plans:schedule_download", {"file_format": "xlsx"}),
]


@pytest.mark.parametrize(("name", "kwargs"), URLS)
def test_anonymous_visitors_are_sent_to_sign_in(client, db, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("name", "kwargs"), URLS)
@pytest.mark.parametrize("person", ["alice", "bob", "fin", "charlie"])
def test_every_role_may_read_and_nobody_may_post(tenants, client, name, kwargs, person):
    sign_in(client, getattr(tenants, person).user)
    url = reverse(name, kwargs=kwargs)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 405
