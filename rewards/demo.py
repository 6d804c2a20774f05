"""Demo rewards for `seed_demo`: a balance with history in each demo organization.

Runs after the plans and invoices demo data. Real earnings come from paid invoice lines of
plans with a reward rate (if the demo has any); on top, each organization gets a few dated
earned entries (one old enough to have expired), and a finance contact redeems some against
the oldest unpaid invoice. Idempotent: the entries carry fixed keys.
"""

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from contacts.models import Contact, Organization
from contacts.roles import Role
from invoices.models import Invoice
from portal.money import quantize
from rewards.models import RewardEntry
from rewards.services import (
    expiry_date,
    ledger_balance,
    rewards_earn_pending,
    rewards_expire,
    rewards_redeem,
)

DEMO_AGES_DAYS = [420, 300, 200, 120, 45]  # The first one is past its 12 months.
DEMO_RATE = Decimal("2")


def seed_rewards() -> None:
    today = timezone.localdate()
    rewards_earn_pending(today=today)
    for organization in Organization.objects.filter(account_number__in=["ACME-001", "GLOBEX-001"]):
        account = organization.account_number
        if RewardEntry.objects.filter(idempotency_key=f"demo-earn-{account}-1").exists():
            continue
        currency = organization.currency
        paid = list(
            Invoice.objects.filter(organization=organization, currency=currency)
            .closed()
            .order_by("issue_date", "id")[: len(DEMO_AGES_DAYS)]
        )
        for n, days in enumerate(DEMO_AGES_DAYS, start=1):
            earned_on = today - timedelta(days=days)
            source = paid[n - 1] if n <= len(paid) else None
            amount = (
                quantize(source.subtotal * DEMO_RATE / 100, currency)
                if source is not None
                else quantize(Decimal(20 * n), currency)
            )
            RewardEntry.objects.create(
                organization=organization,
                currency=currency,
                kind=RewardEntry.Kind.EARNED,
                amount=amount,
                created_at=timezone.make_aware(datetime.combine(earned_on, time(12))),
                expires_on=expiry_date(earned_on),
                source_invoice=source,
                idempotency_key=f"demo-earn-{account}-{n}",
            )
        rewards_expire(today=today)
        finance = (
            Contact.objects.with_role(Role.FINANCE)
            .filter(organization=organization)
            .select_related("organization", "user")
            .order_by("id")
            .first()
        )
        unpaid = (
            Invoice.objects.filter(organization=organization, currency=currency)
            .unpaid()
            .order_by("issue_date", "id")
            .first()
        )
        balance = ledger_balance(organization_id=organization.pk, currency=currency)
        if finance is None or unpaid is None or balance <= 0:
            continue
        rewards_redeem(
            contact=finance,
            invoice=unpaid,
            amount=min(quantize(balance / 3, currency), unpaid.balance),
            token=uuid.uuid5(uuid.NAMESPACE_URL, f"demo-redeem-{account}"),
            today=today,
        )
