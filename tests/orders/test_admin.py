import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from orders.services import order_change_status
from tests.accounts.factories import UserFactory
from tests.orders.factories import make_order


@pytest.fixture
def admin_user(db):
    """A superuser with an authenticator app: staff need TOTP to use the admin."""
    user = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def order(tenants):
    return make_order(tenants.org_a, products=["Cloud Platform", "Support"])


def test_change_page_shows_lines_and_events_with_a_read_only_status(order, admin_client):
    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Cloud Platform" in content and "Support" in content
    assert "Change status…" in content
    assert 'name="status"' not in content  # Not an editable field here.


def test_admin_action_leads_to_the_status_form_which_records_the_staff_member(
    order, admin_client, admin_user
):
    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "change_status", "_selected_action": [order.pk]},
    )
    status_url = reverse("admin:orders_order_status", args=[order.pk])
    assert response.status_code == 302 and response["Location"] == status_url
    form = admin_client.get(status_url)
    assert [value for value, _label in form.context["form"].fields["status"].choices] == [
        "booked",
        "on_hold",
        "cancelled",
    ]
    response = admin_client.post(status_url, {"status": "booked", "reason": "Checked by sales"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "booked"
    event = order.events.latest("changed_at", "id")
    assert (event.status, event.changed_by, event.reason) == (
        "booked",
        admin_user,
        "Checked by sales",
    )


def test_status_form_requires_a_reason_and_refuses_other_moves(order, admin_client):
    url = reverse("admin:orders_order_status", args=[order.pk])
    assert admin_client.post(url, {"status": "booked", "reason": " "}).status_code == 200
    refused = admin_client.post(url, {"status": "completed", "reason": "skip ahead"})
    assert refused.status_code == 200 and refused.context["form"].errors
    order.refresh_from_db()
    assert order.status == "submitted" and order.events.count() == 1


def test_final_orders_offer_no_status_change(order, admin_client):
    order_change_status(order=order, status="cancelled", changed_by=None, reason="Duplicate")
    response = admin_client.get(reverse("admin:orders_order_status", args=[order.pk]))
    assert "can no longer change" in response.content.decode()


def test_action_wants_exactly_one_order(tenants, order, admin_client):
    other = make_order(tenants.org_a)
    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "change_status", "_selected_action": [order.pk, other.pk]},
        follow=True,
    )
    assert "Select exactly one order" in response.content.decode()
