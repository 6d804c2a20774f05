from django.contrib import admin

from contacts.models import ActivityEvent, Contact, Invitation, Organization


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "roles", "is_admin", "removed_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "account_number",
        "rank",
        "currency",
        "language",
        "status",
        "created_at",
    ]
    list_filter = ["status", "rank", "currency", "language"]
    search_fields = ["name", "account_number"]
    # Status changes go through the staff console, which audits and applies them.
    readonly_fields = ["public_id", "status", "created_at"]
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


# --- The staff's customer contact log ------------------------------------------------------
# Reference data (classes, types, characteristic types) is edited here; contacts themselves
# are worked on in the staff console (contacts.staff_views), so the records here are read-only.

from django.urls import reverse  # noqa: E402
from django.utils.html import format_html  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from contacts.models import (  # noqa: E402
    CharacteristicType,
    ContactReminder,
    CustomerContact,
    CustomerContactCharacteristic,
    CustomerContactClass,
    CustomerContactLogEntry,
    CustomerContactType,
    Letter,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CustomerContactTypeInline(admin.TabularInline):
    model = CustomerContactType
    extra = 1
    fields = ["code", "label", "is_active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Contacts keep their type: retire it with "active" instead.


@admin.register(CustomerContactClass)
class CustomerContactClassAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]
    inlines = [CustomerContactTypeInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CharacteristicType)
class CharacteristicTypeAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "value_type", "choices", "is_active"]
    list_filter = ["value_type", "is_active"]
    search_fields = ["label", "code"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CustomerContactLogEntryInline(admin.TabularInline):
    model = CustomerContactLogEntry
    fields = ["created_at", "author", "kind", "text", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CustomerContactCharacteristicInline(admin.TabularInline):
    model = CustomerContactCharacteristic
    fields = ["characteristic_type", "value", "set_by", "set_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustomerContact)
class CustomerContactAdmin(ReadOnlyAdmin):
    list_display = [
        "contacted_at",
        "person",
        "contact_class",
        "contact_type",
        "channel",
        "status",
        "assigned_to",
        "staff_page",
    ]
    list_filter = ["status", "channel", "source", "contact_class", "contact_type"]
    search_fields = ["person__email", "person__name", "organizations__name", "invoice__number"]
    list_select_related = ["person", "contact_class", "contact_type", "assigned_to"]
    date_hierarchy = "contacted_at"
    inlines = [CustomerContactCharacteristicInline, CustomerContactLogEntryInline]

    @admin.display(description=_("staff page"))
    def staff_page(self, obj):
        url = reverse("contact_log:detail", kwargs={"customer_contact_id": obj.public_id})
        return format_html('<a href="{}">{}</a>', url, _("Open"))


@admin.register(CustomerContactLogEntry)
class CustomerContactLogEntryAdmin(ReadOnlyAdmin):
    """Append-only: the admin shows entries and can't add, change or delete them."""

    list_display = ["created_at", "contact", "author", "kind", "text"]
    list_filter = ["kind"]
    search_fields = ["contact__person__email", "text"]
    list_select_related = ["contact__person", "contact__contact_type__contact_class", "author"]
    actions = None


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "contact", "template", "language", "emailed_at", "emailed_to"]
    list_filter = ["template", "language"]
    search_fields = ["contact__person__email", "emailed_to"]
    list_select_related = ["contact__person", "contact__contact_type__contact_class"]
    exclude = ["pdf"]


@admin.register(ContactReminder)
class ContactReminderAdmin(ReadOnlyAdmin):
    list_display = ["due_at", "contact", "assigned_to", "raised_at", "cancelled_at"]
    list_filter = ["raised_at", "cancelled_at"]
    search_fields = ["contact__person__email", "assigned_to__email", "note"]
    list_select_related = ["contact__person", "contact__contact_type__contact_class", "assigned_to"]
