"""Demo contracts for `seed_demo`: per demo organization a subscription contract, a support
contract ending soon with its renewal quote awaiting payment, a licence and an expired one."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from contacts.models import Organization
from contracts.models import Contract
from orders.models import Order, OrderLine, OrderStatusEvent
from portal.money import quantize

TAX_RATES = {"USD": Decimal("8.25"), "EUR": Decimal("19.00")}
# Contract values per currency, in line with the demo plans' prices (plans.demo).
VALUES = {
    "USD": {"SUB": "43200.00", "SUP": "5400.00", "LIC": "46000.00", "SRV": "22000.00"},
    "EUR": {"SUB": "39600.00", "SUP": "4950.00", "LIC": "42000.00", "SRV": "20000.00"},
}


def _years(day, years: int):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February.
        return day.replace(year=day.year + years, day=28)


def _contracts_for(organization: Organization, today) -> list[dict]:
    prefix = organization.account_number.split("-")[0]
    prices = VALUES.get(organization.currency, VALUES["USD"])
    values = {key: Decimal(amount) for key, amount in prices.items()}
    subscription_start = today - timedelta(days=200)
    support_end = today + timedelta(days=45)
    licence_start = today - timedelta(days=400)
    services_end = today - timedelta(days=30)
    return [
        {
            "number": f"{prefix}-C-SUB-1",
            "kind": Contract.Kind.SUBSCRIPTION,
            "title": "Cloud Platform subscription agreement",
            "start_date": subscription_start,
            "end_date": _years(subscription_start, 3) - timedelta(days=1),
            "auto_renew": True,
            "renewal_date": _years(subscription_start, 3) - timedelta(days=60),
            "value": values["SUB"],
        },
        {
            "number": f"{prefix}-C-SUP-1",
            "kind": Contract.Kind.SUPPORT,
            "title": "Premier Support",
            "start_date": _years(support_end, -1) + timedelta(days=1),
            "end_date": support_end,
            "auto_renew": False,
            "renewal_date": support_end,
            "value": values["SUP"],
        },
        {
            "number": f"{prefix}-C-LIC-1",
            "kind": Contract.Kind.LICENCE,
            "title": "Database licence (perpetual, with updates)",
            "start_date": licence_start,
            "end_date": _years(licence_start, 5) - timedelta(days=1),
            "auto_renew": False,
            "renewal_date": None,
            "value": values["LIC"],
        },
        {
            "number": f"{prefix}-C-SRV-1",
            "kind": Contract.Kind.SERVICES,
            "title": "Migration services",
            "start_date": services_end - timedelta(days=180),
            "end_date": services_end,
            "auto_renew": False,
            "renewal_date": None,
            "value": values["SRV"],
        },
    ]


def _renewal_quote(organization: Organization, contract: Contract, today) -> None:
    prefix = organization.account_number.split("-")[0]
    number = f"Q-{prefix}-REN-1"
    if Order.objects.filter(number=number).exists():
        return
    currency = contract.currency
    tax_rate = TAX_RATES.get(currency, Decimal("0.00"))
    amount = quantize(contract.value, currency)
    tax = quantize(amount * tax_rate / 100, currency)
    order = Order.objects.create(
        number=number,
        kind=Order.Kind.QUOTE,
        organization=organization,
        order_date=today - timedelta(days=5),
        currency=currency,
        status=Order.Status.SUBMITTED,
        subtotal=amount,
        tax_total=tax,
        total=amount + tax,
        payment_status=Order.PaymentStatus.AWAITING,
        contract=contract,
    )
    OrderLine.objects.create(
        order=order,
        position=1,
        product=f"{contract.title} renewal (12 months)",
        quantity=Decimal("1"),
        unit_price=amount,
        tax_rate=tax_rate,
        amount=amount,
    )
    OrderStatusEvent.objects.create(
        order=order, status=Order.Status.SUBMITTED, reason="Support renewal quote"
    )


def seed_contracts() -> None:
    today = timezone.localdate()
    organizations = Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"])
    for organization in organizations:
        with transaction.atomic():
            contracts = {}
            for data in _contracts_for(organization, today):
                number = data.pop("number")
                contract, _created = Contract.objects.get_or_create(
                    number=number,
                    defaults={
                        **data,
                        "organization": organization,
                        "currency": organization.currency,
                    },
                )
                contracts[contract.kind] = contract
            _renewal_quote(organization, contracts[Contract.Kind.SUPPORT], today)
