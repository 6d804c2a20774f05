"""Staff screens for plans and subscriptions. Status changes (suspension, termination) go
through `plans.services.subscription_set_status`, driven by the staff console."""

from django.contrib import admin

from plans.models import Plan, Subscription


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "reward_rate"]
    search_fields = ["code", "name"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "organization",
        "plan",
        "quantity",
        "unit_price",
        "currency",
        "frequency",
        "start_date",
        "end_date",
        "status",
    ]
    list_filter = ["status", "frequency", "plan"]
    search_fields = ["public_id", "organization__name", "organization__account_number"]
    list_select_related = ["organization", "plan"]
    raw_id_fields = ["organization", "contract"]
    readonly_fields = ["public_id", "status", "status_changed_at", "status_reason"]
