from decimal import Decimal

from accounts.demo import seed_users
from contacts.demo import seed_organizations
from contracts.demo import seed_contracts
from contracts.models import Contract
from orders.models import Order


def test_seed_contracts_is_idempotent_and_has_every_case(db):
    seed_users()
    seed_organizations()
    seed_contracts()
    seed_contracts()
    for prefix, currency in (("ACME", "USD"), ("GLOBEX", "EUR")):
        contracts = Contract.objects.filter(number__startswith=f"{prefix}-C-")
        assert contracts.count() == 4
        assert {c.display_status() for c in contracts} == {"active", "expiring", "expired"}
        assert {c.kind for c in contracts} == {"subscription", "support", "licence", "services"}
        support = contracts.get(kind="support")
        assert support.days_left() <= 60 and support.currency == currency
        quote = Order.objects.get(number=f"Q-{prefix}-REN-1")
        assert quote.kind == "quote" and quote.payment_status == "awaiting"
        assert quote.contract == support and quote.events.count() == 1
        line = quote.lines.get()
        assert quote.subtotal == line.amount == line.quantity * line.unit_price
        assert quote.total == quote.subtotal + quote.tax_total > Decimal("0")
    assert Order.objects.filter(number__startswith="Q-").count() == 2
