from django.contrib import admin

from contacts.models import ActivityEvent, Contact, Invitation, Organization


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "roles", "is_admin", "removed_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "account_number", "currency", "language", "status", "created_at"]
    list_filter = ["status", "currency", "language"]
    search_fields = ["name", "account_number"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [ContactInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Customer accounts are never deleted; close them instead.


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "roles", "is_admin", "removed_at"]
    list_filter = ["is_admin", "organization"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    raw_id_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "organization",
        "roles",
        "sent_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_select_related = ["organization"]
    search_fields = ["email", "organization__name"]
    exclude = ["token_hash"]
    readonly_fields = ["invited_by", "sent_at", "expires_at", "accepted_at", "revoked_at"]

    def has_add_permission(self, request) -> bool:
        return False  # Invitations come from the customer's administrators.


@admin.register(ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor", "verb", "target"]
    list_filter = ["verb"]
    search_fields = ["organization__name", "actor__email", "target"]
    list_select_related = ["organization", "actor"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
