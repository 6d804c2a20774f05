"""Staff screen for the outbox: every e-mail's status, attempts and last error (read-only)."""

from django.contrib import admin

from portal.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "template", "status", "attempts", "last_error", "created_at"]
    list_filter = ["status", "template"]
    search_fields = ["subject", "template", "dedupe_key"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fields = [
        "template",
        "to",
        "reply_to",
        "subject",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "dedupe_key",
        "body_text",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
