from datetime import date, timedelta
from decimal import Decimal

from orders.services import OrderLineData, order_create

_counter = iter(range(1, 10**9))


def make_order(
    organization,
    *,
    number: str | None = None,
    order_date: date | None = None,
    status: str = "submitted",
    payment_status: str = "not_due",
    lines: list[OrderLineData] | None = None,
    products: list[str] | None = None,
    contacts_by_role: dict[str, list[str]] | None = None,
):
    """An order stored through the real creation service (lines, totals, first event)."""
    if lines is None:
        lines = [
            OrderLineData(product=product, quantity=Decimal("1"), unit_price=Decimal("100.00"))
            for product in (products or ["Cloud Platform"])
        ]
    return order_create(
        organization=organization,
        number=number or f"SO-T{next(_counter):07d}",
        order_date=order_date or date.today() - timedelta(days=5),
        currency=organization.currency,
        status=status,
        payment_status=payment_status,
        lines=lines,
        contacts_by_role=contacts_by_role,
    )
