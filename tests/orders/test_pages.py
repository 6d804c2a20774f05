from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.models import Contact, Organization
from orders.dashboard import dashboard_card
from orders.models import Order, OrderLine, OrderStatusEvent
from orders.services import OrderLineData, order_change_status
from tests.conftest import sign_in
from tests.orders.factories import make_order
from tests.query_budget import assert_flat_query_count

S = Order.Status


def _rows(response) -> list[str]:
    return [row.record.number for row in response.context["table"].paginated_rows]


@pytest.fixture
def bob_client(tenants, client):
    return sign_in(client, tenants.bob.user)


def test_technical_colleague_sees_every_order_of_the_organization(tenants, bob_client):
    make_order(tenants.org_a, number="A-1")
    make_order(tenants.org_a, number="A-2", payment_status="awaiting")
    make_order(tenants.org_b, number="B-1")
    response = bob_client.get(reverse("orders:list"))
    assert sorted(_rows(response)) == ["A-1", "A-2"]
    content = response.content.decode()
    assert "Awaiting payment" in content and "B-1" not in content
    assert "you see the orders awaiting payment" not in content


def test_finance_only_contact_sees_only_orders_awaiting_payment(tenants, client):
    make_order(tenants.org_a, number="A-1")
    make_order(tenants.org_a, number="A-2", payment_status="awaiting")
    make_order(tenants.org_b, number="B-2", payment_status="awaiting")
    sign_in(client, tenants.fin.user)
    response = client.get(reverse("orders:list"))
    assert _rows(response) == ["A-2"]
    assert "you see the orders awaiting payment" in response.content.decode()
    not_awaiting = reverse("orders:detail", args=["A-1"])
    assert client.get(not_awaiting).status_code == 404
    assert client.get(reverse("orders:detail", args=["A-2"])).status_code == 200


def test_list_is_newest_first_and_paginated(tenants, bob_client):
    today = date.today()
    for index in range(30):
        make_order(tenants.org_a, number=f"A-{index:02d}", order_date=today - timedelta(index))
    first = bob_client.get(reverse("orders:list"))
    assert _rows(first)[:3] == ["A-00", "A-01", "A-02"] and len(_rows(first)) == 25
    second = bob_client.get(reverse("orders:list"), {"page": 2})
    assert _rows(second) == [f"A-{index:02d}" for index in range(25, 30)]


def test_empty_list_says_so(tenants, bob_client):
    content = bob_client.get(reverse("orders:list")).content.decode()
    assert "No orders match these filters." in content


def test_filters_by_status_and_date_range(tenants, bob_client):
    old = make_order(tenants.org_a, number="A-OLD", order_date=date(2026, 1, 10))
    make_order(tenants.org_a, number="A-NEW", order_date=date(2026, 6, 10))
    order_change_status(order=old, status=S.BOOKED, changed_by=None, reason="ok")
    url = reverse("orders:list")
    assert _rows(bob_client.get(url, {"status": "booked"})) == ["A-OLD"]
    assert _rows(bob_client.get(url, {"ordered_from": "2026-06-01"})) == ["A-NEW"]
    assert _rows(bob_client.get(url, {"ordered_to": "2026-02-01"})) == ["A-OLD"]
    assert _rows(bob_client.get(url, {"payment_status": "awaiting"})) == []


def test_search_by_number_or_product_without_duplicate_rows(tenants, bob_client):
    make_order(
        tenants.org_a,
        number="A-100",
        products=["Backup storage", "Backup agent", "Backup support"],
    )
    make_order(tenants.org_a, number="A-200", products=["Firewall"])
    make_order(tenants.org_b, number="B-300", products=["Backup storage"])
    url = reverse("orders:list")
    assert _rows(bob_client.get(url, {"q": "backup"})) == ["A-100"]
    assert _rows(bob_client.get(url, {"q": "200"})) == ["A-200"]
    assert bob_client.get(url, {"q": "backup"}).context["table"].paginator.count == 1


@pytest.mark.parametrize(
    "params",
    [
        {"status": "<script>"},
        {"ordered_from": "2026-99-99"},
        {"payment_status": "x"},
        {"page": "999"},
        {"sort": "nonsense"},
    ],
)
def test_bad_filter_values_do_not_crash(tenants, bob_client, params):
    make_order(tenants.org_a)
    assert bob_client.get(reverse("orders:list"), params).status_code in (200, 404)


def test_detail_shows_lines_totals_contacts_and_the_timeline(tenants, bob_client):
    order = make_order(
        tenants.org_a,
        number="A-9",
        lines=[
            OrderLineData("Consulting <b>day</b>", Decimal("2"), Decimal("100.00"), Decimal("10")),
            OrderLineData("Licence", Decimal("1"), Decimal("50.00")),
        ],
        contacts_by_role={"technical": ["it@a.example"], "finance": ["pay@a.example"]},
    )
    for status, reason in ((S.BOOKED, "Checked"), (S.ON_HOLD, "Waiting for <site> access")):
        order_change_status(order=order, status=status, changed_by=None, reason=reason)
    response = bob_client.get(reverse("orders:detail", args=["A-9"]))
    content = response.content.decode()
    assert "Consulting &lt;b&gt;day&lt;/b&gt;" in content
    assert "$250.00" in content and "$20.00" in content and "$270.00" in content
    assert "it@a.example" in content and "pay@a.example" in content
    assert 'class="steps"' in content
    assert "Waiting for &lt;site&gt; access" in content and "On hold" in content
    states = [(i["status"], i["state"]) for i in response.context["timeline"]]
    assert states[:3] == [(S.SUBMITTED, "done"), (S.BOOKED, "current"), (S.ON_HOLD, "done")]
    assert 'aria-current="step"' in content


def test_cancelled_order_shows_its_reason(tenants, bob_client):
    order = make_order(tenants.org_a, number="A-C")
    order_change_status(order=order, status=S.CANCELLED, changed_by=None, reason="Duplicate")
    content = bob_client.get(reverse("orders:detail", args=["A-C"])).content.decode()
    assert "Cancelled" in content and "Duplicate" in content and "not reached" in content


def test_outsider_gets_404_and_anonymous_is_sent_to_sign_in(tenants, client):
    order = make_order(tenants.org_a)
    url = reverse("orders:detail", args=[order.number])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    sign_in(client, tenants.charlie.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("orders:detail", args=["nope"])).status_code == 404
    assert order.number not in client.get(reverse("orders:list")).content.decode()


# --- The e-mail preference ------------------------------------------------------------------


def test_contact_turns_order_emails_on_and_off(tenants, bob_client):
    order = make_order(tenants.org_a)
    url = reverse("orders:notifications", args=[order.number])
    response = bob_client.post(url, {"enabled": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:detail", args=[order.number])
    assert Contact.objects.get(pk=tenants.bob.pk).notify_order_updates
    page = bob_client.get(response["Location"])
    assert "You will get an e-mail" in page.content.decode()
    bob_client.post(url, {"enabled": "0"})
    assert not Contact.objects.get(pk=tenants.bob.pk).notify_order_updates
    # Only the person's own preference changed.
    assert not Contact.objects.filter(notify_order_updates=True).exists()


def test_the_preference_is_post_only_and_closed_accounts_may_still_change_it(tenants, bob_client):
    order = make_order(tenants.org_a)
    url = reverse("orders:notifications", args=[order.number])
    assert bob_client.get(url).status_code == 405
    Organization.objects.filter(pk=tenants.org_a.pk).update(status="closed")
    assert bob_client.post(url, {"enabled": "1"}).status_code == 302
    assert Contact.objects.get(pk=tenants.bob.pk).notify_order_updates


def test_outsider_cannot_reach_the_preference_through_another_orders_url(tenants, client):
    order = make_order(tenants.org_a)
    sign_in(client, tenants.charlie.user)
    url = reverse("orders:notifications", args=[order.number])
    assert client.post(url, {"enabled": "1"}).status_code == 404
    assert not Contact.objects.get(pk=tenants.charlie.pk).notify_order_updates


# --- Query budgets --------------------------------------------------------------------------

_numbers = iter(range(10**9))


def _bulk_orders(organization, n, **fields):
    today = date.today()
    Order.objects.bulk_create(
        Order(
            organization=organization,
            number=f"Q-{next(_numbers):08d}",
            order_date=today - timedelta(days=i % 400),
            currency="USD",
            total=Decimal("10.00"),
            **fields,
        )
        for i in range(n)
    )


def test_list_query_count_is_flat(tenants, bob_client):
    url = reverse("orders:list")
    assert_flat_query_count(
        grow=lambda n: _bulk_orders(tenants.org_a, n, payment_status="awaiting"),
        request=lambda: bob_client.get(url),
    )
    assert_flat_query_count(
        grow=lambda n: _bulk_orders(tenants.org_a, n),
        request=lambda: bob_client.get(url, {"q": "Q-", "status": "submitted"}),
    )


def test_finance_list_query_count_is_flat(tenants, client):
    sign_in(client, tenants.fin.user)
    url = reverse("orders:list")
    assert_flat_query_count(
        grow=lambda n: _bulk_orders(tenants.org_a, n, payment_status="awaiting"),
        request=lambda: client.get(url),
    )


def test_detail_query_count_is_flat_in_lines(tenants, bob_client):
    order = make_order(tenants.org_a)

    def grow(n):
        start = order.lines.count() + 1
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order, position=start + i, product=f"L{i}", quantity=1, unit_price=1, amount=1
            )
            for i in range(n)
        )

    url = reverse("orders:detail", args=[order.number])
    assert_flat_query_count(grow=grow, request=lambda: bob_client.get(url))


def test_detail_query_count_is_flat_in_events(tenants, bob_client):
    order = make_order(tenants.org_a)

    def grow(n):
        OrderStatusEvent.objects.bulk_create(
            OrderStatusEvent(order=order, status=S.ON_HOLD, reason=f"hold {i}") for i in range(n)
        )

    url = reverse("orders:detail", args=[order.number])
    assert_flat_query_count(grow=grow, request=lambda: bob_client.get(url))


# --- Dashboard card -------------------------------------------------------------------------


def test_dashboard_card_counts_in_progress_and_awaiting_payment(tenants):
    make_order(tenants.org_a)
    make_order(tenants.org_a, payment_status="awaiting")
    make_order(tenants.org_a, payment_status="awaiting", products=["A", "B"])
    done = make_order(tenants.org_a)
    order_change_status(order=done, status=S.CANCELLED, changed_by=None, reason="no")
    make_order(tenants.org_b, payment_status="awaiting")
    card = dashboard_card(tenants.bob)
    assert card["module"] == "orders" and card["template"] == "orders/card.html"
    assert card["in_progress"] == 3
    assert card["awaiting"] == {"count": 2, "totals": {"USD": Decimal("300.00")}}
    finance = dashboard_card(tenants.fin)
    assert finance["in_progress"] == 2 and finance["awaiting"]["count"] == 2


def test_dashboard_card_renders(tenants, rf):
    from django.template.loader import render_to_string

    make_order(tenants.org_a, payment_status="awaiting")
    html = render_to_string("orders/card.html", {"card": dashboard_card(tenants.bob)})
    assert "1 order in progress" in html and "$100.00" in html
    assert "?payment_status=awaiting" in html
