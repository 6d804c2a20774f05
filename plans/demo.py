"""Demo plans and subscriptions for `seed_demo`; runs after `contracts.demo.seed_contracts`."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from contacts.models import Organization
from contracts.models import Contract
from plans.billing import add_months
from plans.models import Plan, Subscription
from plans.services import subscription_set_status

PLANS = [
    ("CLOUD", "Cloud Platform", Decimal("2.00")),
    ("SUPPORT", "Premier Support", Decimal("0.00")),
    ("DB-ENT", "Database Enterprise", Decimal("1.50")),
    ("ANALYTICS", "Analytics seats", Decimal("3.00")),
]
PRICES = {
    "USD": {
        "CLOUD": Decimal("240.00"),
        "SUPPORT": Decimal("5400.00"),
        "DB-ENT": Decimal("1150.00"),
        "ANALYTICS": Decimal("39.90"),
    },
    "EUR": {
        "CLOUD": Decimal("220.00"),
        "SUPPORT": Decimal("4950.00"),
        "DB-ENT": Decimal("1050.00"),
        "ANALYTICS": Decimal("36.50"),
    },
}
TAX_RATES = {"USD": Decimal("8.25"), "EUR": Decimal("19.00")}
F = Subscription.Frequency
# (plan, frequency, quantity, preferred contract type, days after the start, suspended).
# A subscription starts with its contract (or, without one, on the 1st some months ago);
# the database plan starts two weeks in, so its last quarter ends mid-period: prorated.
SUBSCRIPTIONS = [
    ("CLOUD", F.MONTHLY, Decimal("5"), Contract.Kind.SUBSCRIPTION, 0, False),
    ("SUPPORT", F.ANNUAL, Decimal("1"), Contract.Kind.SUPPORT, 0, False),
    ("DB-ENT", F.QUARTERLY, Decimal("2"), Contract.Kind.LICENCE, 14, False),
    ("ANALYTICS", F.MONTHLY, Decimal("25"), Contract.Kind.SUBSCRIPTION, 0, True),
]
WITHOUT_CONTRACT_MONTHS_AGO = 7
SUSPENSION_REASON = "Suspended at customer's request"


def _contract_for(contracts: list[Contract], kind: str, today: date) -> Contract | None:
    current = [c for c in contracts if c.end_date >= today and c.status == c.Status.ACTIVE]
    return next((c for c in current if c.kind == kind), current[0] if current else None)


def seed_plans() -> None:
    plans = {
        code: Plan.objects.get_or_create(
            code=code, defaults={"name": name, "reward_rate": reward_rate}
        )[0]
        for code, name, reward_rate in PLANS
    }
    today = timezone.localdate()
    for organization in Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"]):
        if Subscription.objects.filter(organization=organization).exists():
            continue
        currency = organization.currency if organization.currency in PRICES else "USD"
        contracts = list(Contract.objects.filter(organization=organization).order_by("end_date"))
        for code, frequency, quantity, kind, offset, suspended in SUBSCRIPTIONS:
            contract = _contract_for(contracts, kind, today)
            start = (
                contract.start_date
                if contract is not None
                else add_months(today.replace(day=1), -WITHOUT_CONTRACT_MONTHS_AGO)
            ) + timedelta(days=offset)
            subscription = Subscription.objects.create(
                organization=organization,
                contract=contract,
                plan=plans[code],
                quantity=quantity,
                unit_price=PRICES[currency][code],
                currency=currency,
                tax_rate=TAX_RATES.get(currency, Decimal("0.00")),
                frequency=frequency,
                start_date=start,
            )
            if suspended:
                subscription_set_status(
                    subscription=subscription,
                    status=Subscription.Status.SUSPENDED,
                    reason=SUSPENSION_REASON,
                    changed_at=timezone.now() - timedelta(days=12),
                )
