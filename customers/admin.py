"""Staff records: read-only here. Changes go through the staff console (customers.services),
so that each one is validated and audited."""

from django.contrib import admin

from customers.models import ScheduledAction, StaffAction


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StaffAction)
class StaffActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "staff_user", "action", "customer_visible"]
    list_filter = ["action", "customer_visible"]
    search_fields = ["organization__name", "organization__account_number", "staff_user__email"]
    list_select_related = ["organization", "staff_user"]
    date_hierarchy = "created_at"


@admin.register(ScheduledAction)
class ScheduledActionAdmin(ReadOnlyAdmin):
    list_display = [
        "run_on",
        "organization",
        "target_status",
        "status",
        "attempts",
        "created_by",
        "executed_at",
    ]
    list_filter = ["status", "target_status"]
    search_fields = ["organization__name", "organization__account_number", "reason"]
    list_select_related = ["organization", "created_by"]
    date_hierarchy = "run_on"
