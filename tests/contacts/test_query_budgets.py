import pytest
from django.urls import reverse

from contacts.models import ActivityEvent
from tests.accounts.factories import UserFactory
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.query_budget import assert_flat_query_count


@pytest.fixture
def admin_client(tenants, client):
    return sign_in(client, tenants.alice.user)


def test_user_list_query_count_is_flat(tenants, admin_client):
    def grow(n):
        users = UserFactory.create_batch(n)
        for user in users:
            ContactFactory(organization=tenants.org_a, user=user)

    assert_flat_query_count(grow=grow, request=lambda: admin_client.get(reverse("contacts:users")))


def test_activity_list_query_count_is_flat(tenants, admin_client):
    def grow(n):
        ActivityEvent.objects.bulk_create(
            ActivityEvent(organization=tenants.org_a, actor=tenants.bob.user, verb="signed_in")
            for _ in range(n)
        )

    url = reverse("contacts:activity")
    assert_flat_query_count(grow=grow, request=lambda: admin_client.get(url))
    assert_flat_query_count(grow=grow, request=lambda: admin_client.get(url, {"export": "csv"}))


def test_dashboard_query_count_is_flat(tenants, admin_client):
    def grow(n):
        for user in UserFactory.create_batch(n):
            ContactFactory(organization=tenants.org_a, user=user)

    assert_flat_query_count(grow=grow, request=lambda: admin_client.get(reverse("home")))
