"""Staff console access: non-staff get 404 everywhere, anonymous visitors sign in first, and
staff without TOTP are sent to set it up — for the console and for the Django admin."""

import re

import pytest
from django.urls import URLPattern, get_resolver, reverse

from customers import urls as customer_urls
from customers.access import STAFF
from tests.conftest import sign_in
from tests.customers.factories import ScheduledActionFactory, make_staff
from tests.plans.factories import SubscriptionFactory

STAFF_PREFIX = "staff/"
PATTERNS = [
    pytest.param(STAFF_PREFIX + str(entry.pattern), entry, id=entry.name)
    for entry in customer_urls.urlpatterns
    if isinstance(entry, URLPattern)
]


def _samples(tenants) -> dict[str, str]:
    subscription = SubscriptionFactory(organization=tenants.org_a)
    action = ScheduledActionFactory(organization=tenants.org_a)
    return {
        "account_number": tenants.org_a.account_number,
        "subscription_id": str(subscription.public_id),
        "operation": "suspend",
        "action_id": str(action.public_id),
    }


def _url(route: str, samples: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(?P<name>\w+)>", lambda m: samples[m.group("name")], route)


def test_the_staff_console_is_mounted_under_staff():
    routes = {str(p.pattern) for p in get_resolver().url_patterns}
    assert STAFF_PREFIX in routes
    assert reverse("customers:list") == "/staff/"


@pytest.mark.parametrize(("route", "entry"), PATTERNS)
def test_every_staff_view_declares_the_staff_module(route, entry):
    callback = entry.callback
    view_class = getattr(callback, "view_class", None)
    assert getattr(view_class or callback, "module", None) == STAFF, route


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "entry"), PATTERNS)
def test_non_staff_get_404_and_anonymous_sign_in_on_every_staff_url(route, entry, tenants, client):
    url = _url(route, _samples(tenants))

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], url
    anonymous_post = client.post(url)
    assert anonymous_post.status_code == 302, url

    # Customer administrators (every role) are not staff: the console does not exist.
    for person in (tenants.alice, tenants.charlie):
        sign_in(client, person.user)
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x", "confirm": "on"}).status_code == 404, url
    # Staff flag without TOTP: sent to set it up, nothing done.
    sign_in(client, make_staff(totp=False))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    assert client.post(url, {"reason": "x"})["Location"] == reverse("mfa_activate_totp")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["customers:list", "customers:scheduled_list", "customers:detail"])
def test_staff_with_totp_reach_the_pages(name, tenants, staff_client):
    kwargs = {"account_number": tenants.org_a.account_number} if name.endswith("detail") else {}
    assert staff_client.get(reverse(name, kwargs=kwargs)).status_code == 200


@pytest.mark.django_db
def test_staff_without_totp_are_sent_to_mfa_setup_for_the_admin(client):
    user = make_staff(totp=False, superuser=True)
    sign_in(client, user)
    for url in ("/admin/", "/admin/contacts/organization/", "/admin/login/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_activate_totp"), url
    messages = [str(m) for m in client.get("/admin/", follow=True).context["messages"]]
    assert any("two-factor" in m for m in messages)


@pytest.mark.django_db
def test_staff_with_totp_use_the_admin(client):
    sign_in(client, make_staff(superuser=True))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/customers/staffaction/").status_code == 200
    assert client.get("/admin/customers/scheduledaction/").status_code == 200


@pytest.mark.django_db
def test_non_staff_cannot_use_the_admin(client, tenants):
    sign_in(client, tenants.alice.user)
    response = client.get("/admin/")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert client.get(response["Location"]).status_code == 403
