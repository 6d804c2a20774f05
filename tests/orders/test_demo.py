import pytest

from accounts.demo import seed_users
from contacts.demo import seed_organizations
from orders.demo import seed_orders
from orders.models import Order, OrderStatusEvent


@pytest.mark.django_db
def test_demo_orders_cover_every_status_once():
    seed_users()
    seed_organizations()
    seed_orders()
    counts = (Order.objects.count(), OrderStatusEvent.objects.count())
    seed_orders()
    assert (Order.objects.count(), OrderStatusEvent.objects.count()) == counts
    for account in ("ACME-001", "GLOBEX-001"):
        orders = Order.objects.filter(organization__account_number=account)
        assert set(orders.values_list("status", flat=True)) == set(Order.Status.values)
        assert orders.filter(payment_status="awaiting").count() == 1
        for order in orders.prefetch_related("lines", "events"):
            assert 1 <= len(order.lines.all()) <= 3
            assert order.total > 0
            events = list(order.events.all())
            assert events[0].status == "submitted" and events[-1].status == order.status
            assert [e.changed_at for e in events] == sorted(e.changed_at for e in events)
    first = Order.objects.get(number="SO-1001")
    assert first.lines.exists() and first.events.count() > 1
    on_hold = Order.objects.get(number="ACME-SO-3006")
    assert on_hold.events.get(status="on_hold").reason
