"""Demo orders for `seed_demo`: every status, with lines and a dated timeline, per organization."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from contacts.models import Organization
from contacts.roles import Role
from orders.models import Order
from orders.services import (
    OrderLineData,
    order_add_lines,
    order_change_status,
    order_create,
    order_status_before_hold,
    order_timeline_start,
)

S = Order.Status
TAX_RATES = {"USD": Decimal("8.25"), "EUR": Decimal("19.00")}
PRODUCTS = {
    "en": [
        ("Cloud Platform subscription (annual)", Decimal("14400.00")),
        ("Premier Support (annual)", Decimal("5400.00")),
        ("Database licence", Decimal("2300.00")),
        ("Professional services (day)", Decimal("1100.00")),
        ("Additional storage (TB)", Decimal("85.50")),
        ("Training seat", Decimal("390.00")),
    ],
    "de": [
        ("Cloud-Plattform-Abonnement (jährlich)", Decimal("13200.00")),
        ("Premier-Support (jährlich)", Decimal("4950.00")),
        ("Datenbanklizenz", Decimal("2100.00")),
        ("Beratungsleistung (Tag)", Decimal("1050.00")),
        ("Zusätzlicher Speicher (TB)", Decimal("79.00")),
        ("Schulungsplatz", Decimal("360.00")),
    ],
}
# What staff typed when they moved the orders along, in the customer's language.
REASONS = {
    "en": {
        S.BOOKED: "Order checked and booked",
        S.PROVISIONING: "Provisioning started",
        S.DELIVERED: "Delivered and handed over",
        S.COMPLETED: "Accepted by the customer",
        S.ON_HOLD: "Waiting for the customer's network details",
        S.CANCELLED: "Cancelled at the customer's request",
        "resume": "Network details received",
    },
    "de": {
        S.BOOKED: "Bestellung geprüft und gebucht",
        S.PROVISIONING: "Bereitstellung begonnen",
        S.DELIVERED: "Geliefert und übergeben",
        S.COMPLETED: "Vom Kunden abgenommen",
        S.ON_HOLD: "Warten auf die Netzwerkdaten des Kunden",
        S.CANCELLED: "Auf Wunsch des Kunden storniert",
        "resume": "Netzwerkdaten erhalten",
    },
}
# (number suffix, days ago ordered, status path after "submitted", line picks, awaiting)
PLANS = [
    (3001, 2, [], [0], False),
    (3002, 9, [S.BOOKED], [1, 5], True),
    (3003, 21, [S.BOOKED, S.PROVISIONING], [0, 4], False),
    (3004, 40, [S.BOOKED, S.ON_HOLD, "resume", S.PROVISIONING, S.DELIVERED], [2, 3, 5], False),
    (3005, 75, [S.BOOKED, S.PROVISIONING, S.DELIVERED, S.COMPLETED], [0, 1], False),
    (3006, 30, [S.BOOKED, S.PROVISIONING, S.ON_HOLD], [3], False),
    (3007, 50, [S.BOOKED, S.CANCELLED], [4, 5], False),
]
DEMO_ACCOUNTS = {"ACME-001": "acme", "GLOBEX-001": "globex"}
MAILBOXES = {Role.FINANCE: "finance", Role.TECHNICAL: "tech", Role.EXECUTIVE: "exec"}


def _at(day, hour: int) -> datetime:
    return min(timezone.make_aware(datetime.combine(day, time(hour))), timezone.now())


def _lines(language: str, currency: str, picks: list[int]) -> list[OrderLineData]:
    return [
        OrderLineData(
            product=PRODUCTS[language][pick][0],
            quantity=Decimal(1 + (pick % 3)),
            unit_price=PRODUCTS[language][pick][1],
            tax_rate=TAX_RATES.get(currency, Decimal("0")),
        )
        for pick in picks
    ]


def _walk(order: Order, path: list[str], language: str, start) -> None:
    """Move the order along `path`, one dated step every few days from `start`."""
    reasons = REASONS[language]
    for index, step in enumerate(path, start=1):
        status = order_status_before_hold(order=order) if step == "resume" else step
        order_change_status(
            order=order,
            status=status,
            changed_by=None,
            reason=reasons[step],
            changed_at=_at(start + timedelta(days=index * 2), 10 + index % 6),
        )


def seed_orders() -> None:
    """Idempotent: numbers that exist are skipped; SO-1001/SO-2001 get lines and steps once."""
    today = timezone.localdate()
    organizations = Organization.objects.filter(account_number__in=list(DEMO_ACCOUNTS))
    for organization in organizations:
        language = "de" if organization.language == "de" else "en"
        domain = DEMO_ACCOUNTS[organization.account_number]
        prefix = organization.account_number.split("-")[0]
        contacts = {role: [f"{name}@{domain}.example"] for role, name in MAILBOXES.items()}
        for suffix, days_ago, path, picks, awaiting in PLANS:
            number = f"{prefix}-SO-{suffix}"
            if Order.objects.filter(number=number).exists():
                continue
            ordered = today - timedelta(days=days_ago)
            order = order_create(
                organization=organization,
                number=number,
                order_date=ordered,
                currency=organization.currency,
                lines=_lines(language, organization.currency, picks),
                payment_status=(
                    Order.PaymentStatus.AWAITING if awaiting else Order.PaymentStatus.NOT_DUE
                ),
                contacts_by_role=contacts,
            )
            _walk(order, path, language, ordered)
        _complete_the_first_order(organization, language)


def _complete_the_first_order(organization: Organization, language: str) -> None:
    """The orders that provisioned the demo organizations: lines and a few steps, once."""
    for order in Order.objects.filter(organization=organization, number__in=["SO-1001", "SO-2001"]):
        if not order.lines.exists():
            order_add_lines(order=order, lines=_lines(language, order.currency, [0, 1, 3]))
        order_timeline_start(order=order)
        if order.status == S.SUBMITTED and order.events.count() == 1:
            _walk(order, [S.BOOKED, S.PROVISIONING, S.DELIVERED], language, order.order_date)
