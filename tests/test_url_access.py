"""Walks every URL pattern of the project as owner, wrong-role colleague, outsider and
anonymous visitor. New views are covered automatically; a view that declares no module fails.

Object URLs are filled with org A's objects (see SAMPLES): the outsider from org B must get
404 for each, on GET and POST, exactly like a missing object.
"""

import uuid
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from contacts.models import Invitation
from contacts.roles import MODULE_ROLES
from customers.access import STAFF
from portal.access import PERSONAL
from tests.conftest import sign_in

PUBLIC = "public"
# Third-party URL trees with their own, tested access rules (allauth: sign-in flows;
# admin/: staff only, through allauth's login — tested with the staff console).
FOREIGN_PREFIXES = (
    "allauth.",
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.views.static",
)


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _module_of(callback):
    view_class = getattr(callback, "view_class", None)
    return getattr(view_class, "module", None) if view_class else getattr(callback, "module", None)


def _is_foreign(callback) -> bool:
    target = getattr(callback, "view_class", callback)
    return target.__module__.startswith(FOREIGN_PREFIXES)


ALL_PATTERNS = [
    pytest.param(route, entry, id=route or "/")
    for route, entry in _walk(get_resolver())
    if not _is_foreign(entry.callback) and not route.startswith("admin/")
]


def _samples(tenants) -> dict[str, str]:
    """A value for every URL keyword: always an object that belongs to org A."""
    invitation = Invitation.objects.create(
        organization=tenants.org_a,
        email="someone@example.com",
        roles=["finance"],
        token_hash="0" * 64,
        invited_by=tenants.alice.user,
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    from billing.models import Payment, PaymentAllocation
    from tests.billing.profile_factories import PaymentMethodFactory
    from tests.contracts.factories import url_samples as contract_samples
    from tests.invoices.factories import make_invoice
    from tests.orders.factories import make_order

    invoice = make_invoice(tenants.org_a)
    payment = Payment.objects.create(
        organization=tenants.org_a,
        idempotency_key=uuid.uuid4().hex,
        currency="USD",
        amount=1,
        status="succeeded",
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=1)
    return {
        "payment_id": str(payment.public_id),
        "method_id": str(PaymentMethodFactory(organization=tenants.org_a).public_id),
        "order_number": make_order(tenants.org_a).number,
        **contract_samples(tenants),
        "number": invoice.number,
        "position": "1",
        "contact_id": str(tenants.bob.public_id),
        "invitation_id": str(invitation.public_id),
        "token": "not-a-real-token",
        "mail_id": "missing",
    }


def _url(route: str, samples: dict[str, str]) -> str:
    import re

    def fill(match):
        return samples[match.group("name")]

    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", fill, route)
    return "/" + path.lstrip("^").rstrip("$")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "entry"), ALL_PATTERNS)
def test_every_view_declares_its_module(route, entry):
    module = _module_of(entry.callback)
    assert module in {*MODULE_ROLES, PERSONAL, PUBLIC, STAFF}, f"{route} declares no module"


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "entry"), ALL_PATTERNS)
def test_access_rules_hold_for_every_url(route, entry, tenants, client):
    module = _module_of(entry.callback)
    if module in (PUBLIC, PERSONAL, STAFF, None):
        return  # Staff URLs: walked by tests/customers/test_access.py (404 for non-staff).
    url = _url(route, _samples(tenants))
    is_object_url = "<" in route

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], url

    sign_in(client, tenants.alice.user)
    assert client.get(url).status_code not in (403, 404, 500), f"owner refused at {url}"

    colleague = next((c for c in (tenants.bob, tenants.fin) if not c.can_see(module)), None)
    if colleague is not None:
        sign_in(client, colleague.user)
        assert client.get(url).status_code == 403, f"wrong role allowed at {url}"
        assert client.post(url).status_code in (403, 405), f"wrong role allowed to POST {url}"

    if is_object_url:
        sign_in(client, tenants.charlie.user)
        assert client.get(url).status_code in (404, 405), f"outsider reached {url}"
        assert client.post(url).status_code in (404, 405), f"outsider posted to {url}"
