"""Staff view of the rewards ledger: read-only; entries are written by rewards.services."""

from django.contrib import admin

from rewards.models import RewardAllocation, RewardEntry


class AllocationInline(admin.TabularInline):
    model = RewardAllocation
    fk_name = "consumer"
    fields = ["earned", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RewardEntry)
class RewardEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "organization",
        "kind",
        "amount",
        "currency",
        "expires_on",
        "source_invoice",
        "redeemed_invoice",
    ]
    list_filter = ["kind", "currency"]
    search_fields = [
        "organization__name",
        "organization__account_number",
        "source_invoice__number",
        "redeemed_invoice__number",
    ]
    list_select_related = ["organization", "source_invoice", "redeemed_invoice"]
    inlines = [AllocationInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # Viewing only: the ledger is append-only.

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
