from datetime import date, timedelta
from decimal import Decimal

from invoices.services import LineData, invoice_create

_counter = iter(range(1, 10**9))


def make_invoice(
    organization,
    *,
    number: str | None = None,
    issue_date: date | None = None,
    due_date: date | None = None,
    currency: str | None = None,
    lines: list[LineData] | None = None,
    amounts: list[str] | None = None,
):
    """An invoice issued through the real totals service."""
    issue_date = issue_date or date.today() - timedelta(days=10)
    due_date = due_date or issue_date + timedelta(days=30)
    if lines is None:
        lines = [
            LineData(description=f"Service {i}", quantity=Decimal("1"), unit_price=Decimal(a))
            for i, a in enumerate(amounts or ["100.00"], start=1)
        ]
    return invoice_create(
        organization=organization,
        number=number or f"INV-T{next(_counter):07d}",
        issue_date=issue_date,
        due_date=due_date,
        currency=currency or organization.currency,
        lines=lines,
    )
