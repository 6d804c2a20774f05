"""The rewards ledger: append-only entries per organization and currency.

Sign convention — the balance of an (organization, currency) is SUM(amount), always:

- earned    > 0  rewards earned on a paid invoice line (or granted), usable until `expires_on`;
- redeemed  < 0  rewards applied as a credit to an unpaid invoice;
- expired   < 0  the unspent remainder of one earned entry, after its expiry date;
- reversed  ≤ 0  rewards taken back because the invoice they were earned on was refunded
                 (zero when everything had already been spent: the reversal is still recorded).

Which earned rewards a negative entry used up is an explicit fact, `RewardAllocation`
(written under the per-balance lock, see rewards.services), so an earned entry's unspent
remainder is `amount - SUM(its allocations)`: computed, never stored, never drifting.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Organization
from portal.access import OrganizationScopedQuerySet

ZERO = Decimal("0.00")


class RewardEntryQuerySet(OrganizationScopedQuerySet):
    def earned(self):
        return self.filter(kind=RewardEntry.Kind.EARNED)

    def with_remaining(self):
        """Annotate `remaining`: what is still unspent of each (earned) entry."""
        used = (
            RewardAllocation.objects.filter(earned=OuterRef("pk"))
            .order_by()
            .values("earned")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return self.annotate(
            remaining=F("amount")
            - Coalesce(
                Subquery(used, output_field=models.DecimalField(max_digits=14, decimal_places=2)),
                Value(ZERO),
            )
        )

    def unspent(self):
        """Earned entries with something left (expired or not: the expiry job decides)."""
        return self.earned().with_remaining().filter(remaining__gt=0)

    def balances(self) -> dict[str, Decimal]:
        """{currency: balance} — the ledger sum, in one grouped query."""
        rows = (
            self.order_by()
            .values("currency")
            .annotate(balance=Sum("amount", default=ZERO))
            .order_by("currency")
            .values_list("currency", "balance")
        )
        return dict(rows)

    def next_expiries(self, *, today) -> dict[str, dict]:
        """{currency: {"date", "amount"}}: the soonest expiry still ahead, per currency."""
        rows = (
            self.unspent()
            .filter(expires_on__gte=today)
            .order_by()
            .values("currency", "expires_on")
            .annotate(total=Sum("remaining"))
            .order_by("currency", "expires_on")
        )
        result: dict[str, dict] = {}
        for row in rows:
            result.setdefault(row["currency"], {"date": row["expires_on"], "amount": row["total"]})
        return result


class RewardEntry(models.Model):
    """One line of the rewards ledger; never updated or deleted."""

    class Kind(models.TextChoices):
        EARNED = "earned", _("Earned")
        REDEEMED = "redeemed", _("Redeemed")
        REVERSED = "reversed", _("Reversed")
        EXPIRED = "expired", _("Expired")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="reward_entries"
    )
    currency = models.CharField(_("currency"), max_length=3)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    # Signed: positive for earned, negative (or zero for a reversal) otherwise; see above.
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    # Earned entries only: the last day the rewards can be redeemed.
    expires_on = models.DateField(_("expires"), null=True, blank=True)
    # Earned and reversed entries: the paid invoice (line) the rewards were earned on.
    source_invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("earned on invoice"),
    )
    source_line = models.ForeignKey(
        "invoices.InvoiceLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reward_entries",
    )
    # Redeemed entries: the invoice the rewards were applied to.
    redeemed_invoice = models.ForeignKey(
        "invoices.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("applied to invoice"),
    )
    # Reversed and expired entries: the earned entry they cancel.
    earned_entry = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="cancellations"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    # Makes "once" a database fact: "earn:<line>:<n>", "redeem:<form token>",
    # "reverse:<earned entry>", "expire:<earned entry>", "demo-earn-…".
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)

    objects = RewardEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("rewards entry")
        verbose_name_plural = _("rewards ledger")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The history page and the balance: one organization's entries, newest first.
            models.Index(
                fields=["organization", "currency", "-created_at", "-id"], name="reward_org_recent"
            ),
            # The expiry job: earned entries by expiry date.
            models.Index(
                fields=["expires_on", "id"], name="reward_earned_expiry", condition=Q(kind="earned")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="earned", amount__gt=0, expires_on__isnull=False))
                | Q(kind__in=["redeemed", "expired"], amount__lt=0)
                | Q(kind="reversed", amount__lte=0),
                name="reward_amount_sign_by_kind",
            ),
            # An earned entry is reversed at most once and expires at most once.
            models.UniqueConstraint(
                fields=["earned_entry"], condition=Q(kind="reversed"), name="reward_reversed_once"
            ),
            models.UniqueConstraint(
                fields=["earned_entry"], condition=Q(kind="expired"), name="reward_expired_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    @property
    def not_recovered(self) -> Decimal:
        """Reversals: the part of the earned rewards that was already spent, written off."""
        if self.kind != self.Kind.REVERSED or self.earned_entry is None:
            return ZERO
        return self.earned_entry.amount + self.amount


class RewardAllocation(models.Model):
    """How much of one earned entry a redemption, reversal or expiry used up (FIFO)."""

    consumer = models.ForeignKey(RewardEntry, on_delete=models.PROTECT, related_name="allocations")
    earned = models.ForeignKey(RewardEntry, on_delete=models.PROTECT, related_name="consumed_by")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("rewards allocation")
        verbose_name_plural = _("rewards allocations")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="reward_allocation_positive"),
            models.UniqueConstraint(fields=["consumer", "earned"], name="reward_allocation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer_id} ← {self.earned_id}: {self.amount}"
