"""Two organizations with look-alike data: nothing of one is ever visible to the other."""

import pytest
from django.urls import reverse

from contacts.models import ActivityEvent
from contacts.services import activity_record
from tests.conftest import sign_in


@pytest.fixture
def events(tenants):
    activity_record(
        organization=tenants.org_a,
        actor=tenants.alice.user,
        verb="invited",
        target="a-only@example.com",
    )
    activity_record(
        organization=tenants.org_b,
        actor=tenants.charlie.user,
        verb="invited",
        target="b-only@example.com",
    )


def test_user_list_shows_only_my_organization(tenants, client):
    sign_in(client, tenants.charlie.user)
    page = client.get(reverse("contacts:users")).content.decode()
    assert tenants.charlie.user.email in page
    assert tenants.alice.user.email not in page and tenants.bob.user.email not in page


def test_activity_list_search_and_export_never_mix(tenants, client, events):
    sign_in(client, tenants.charlie.user)
    page = client.get(reverse("contacts:activity"), {"actor": "@"}).content.decode()
    assert "b-only@example.com" in page and "a-only@example.com" not in page
    export = client.get(reverse("contacts:activity"), {"export": "csv"}).content.decode()
    assert "b-only@example.com" in export and "a-only@example.com" not in export


def test_dashboard_counts_are_per_organization(tenants, client):
    sign_in(client, tenants.charlie.user)
    page = client.get(reverse("home"))
    card = next(c for c in page.context["cards"] if c["module"] == "users")
    assert card["users"] == 1


def test_switching_to_a_foreign_organization_is_refused(tenants, client):
    sign_in(client, tenants.charlie.user)
    response = client.post(
        reverse("contacts:switch"), {"organization": str(tenants.org_a.public_id)}
    )
    assert response.status_code == 302
    page = client.get(reverse("contacts:users")).content.decode()
    assert tenants.alice.user.email not in page


def test_csv_export_neutralises_formulas(tenants, client):
    activity_record(organization=tenants.org_a, actor=None, verb="invited", target="=HYPERLINK(1)")
    sign_in(client, tenants.alice.user)
    export = client.get(reverse("contacts:activity"), {"export": "csv"}).content.decode()
    assert "'=HYPERLINK(1)" in export


def test_consultant_switches_between_organizations(tenants, client):
    from tests.contacts.factories import ContactFactory

    consultant = ContactFactory(organization=tenants.org_a, roles=["technical"]).user
    ContactFactory(organization=tenants.org_b, user=consultant, roles=["technical"])
    sign_in(client, consultant)
    first = client.get(reverse("home")).context["current_organization"]
    other = tenants.org_b if first == tenants.org_a else tenants.org_a
    client.post(reverse("contacts:switch"), {"organization": str(other.public_id)})
    assert client.get(reverse("home")).context["current_organization"] == other
    # The choice is remembered for the session.
    assert client.get(reverse("home")).context["current_organization"] == other


def test_sign_in_is_logged_for_each_organization(tenants, client):
    from tests.conftest import PASSWORD

    client.post("/accounts/login/", {"login": tenants.alice.user.email, "password": PASSWORD})
    assert ActivityEvent.objects.filter(
        verb="signed_in", organization=tenants.org_a, actor=tenants.alice.user
    ).exists()
    assert not ActivityEvent.objects.filter(verb="signed_in", organization=tenants.org_b)
