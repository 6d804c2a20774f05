"""Demo organizations for `seed_demo`, provisioned the way real orders are."""

from datetime import date

from orders.services import orders_import

DEMO_ORDERS = [
    {
        "number": "SO-1001",
        "kind": "order",
        "account_number": "ACME-001",
        "customer_name": "Acme Corporation",
        "currency": "USD",
        "language": "en",
        "order_date": date(2026, 1, 15).isoformat(),
        "finance": ["finance@acme.example"],
        "technical": ["tech@acme.example"],
        "executive": ["exec@acme.example"],
    },
    {
        "number": "SO-2001",
        "kind": "order",
        "account_number": "GLOBEX-001",
        "customer_name": "Globex GmbH",
        "currency": "EUR",
        "language": "de",
        "order_date": date(2026, 2, 3).isoformat(),
        "finance": ["finance@globex.example"],
        "technical": ["tech@globex.example"],
        "executive": ["exec@globex.example"],
    },
]


def seed_organizations() -> None:
    from accounts.models import User
    from contacts.models import Contact, Organization

    orders_import(rows=list(enumerate(DEMO_ORDERS, start=1)))
    # Demo shape: finance and executive administer; technical contacts don't.
    Contact.objects.filter(user__email__in=["tech@acme.example", "tech@globex.example"]).update(
        is_admin=False
    )
    consultant = User.objects.get(email="consultant@partners.example")
    for organization in Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"]):
        Contact.objects.get_or_create(
            organization=organization,
            user=consultant,
            defaults={"roles": ["technical"], "is_admin": False},
        )
