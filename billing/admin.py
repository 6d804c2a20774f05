"""Staff screens for billing profiles and payment methods.

Card mirrors are read-only (they follow Stripe); a requested tax ID change is approved or
declined with an action that calls the profile service. Payments, failed charges, refunds and
Stripe events are registered by billing/payments_admin.py (the payments side), if present.
"""

import importlib

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import profiles
from billing.models import BillingProfile, PaymentMethod


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "contact_email",
        "country",
        "tax_id",
        "requested_tax_id",
        "auto_pay",
    ]
    list_filter = ["auto_pay", "country"]
    search_fields = [
        "organization__name",
        "organization__account_number",
        "contact_email",
        "tax_id",
    ]
    list_select_related = ["organization"]
    readonly_fields = ["organization", "requested_tax_id", "stripe_customer_id", "updated_at"]
    actions = ["approve_tax_id", "decline_tax_id"]

    def has_add_permission(self, request) -> bool:
        return False  # Profiles are created with the organization's first billing visit.

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _decide(self, request, queryset, *, approve: bool):
        done = sum(
            profiles.billing_profile_tax_id_decide(
                profile=profile, staff_user=request.user, approve=approve
            )
            for profile in queryset
        )
        messages.success(request, _("%(count)d tax ID request(s) handled.") % {"count": done})

    @admin.action(description=gettext_lazy("Approve the requested tax ID"))
    def approve_tax_id(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=gettext_lazy("Decline the requested tax ID"))
    def decline_tax_id(self, request, queryset):
        self._decide(request, queryset, approve=False)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "exp_month", "exp_year", "is_default", "removed_at"]
    list_filter = ["is_default", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["organization__name", "organization__account_number", "last4"]
    list_select_related = ["organization"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


try:
    importlib.import_module("billing.payments_admin")
except ModuleNotFoundError as error:
    if error.name != "billing.payments_admin":
        raise
