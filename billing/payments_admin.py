"""Staff screens for payments (read-only, with a refund form), failed charges and Stripe
events. Loaded by billing/admin.py. Refunds go through billing.payments.payment_refund, the
same service the charge.refunded webhook meets (a refund is applied once either way)."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import payments
from billing.models import FailedCharge, Payment, PaymentAllocation, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PaymentAllocationInline(admin.TabularInline):
    model = PaymentAllocation
    fields = ["invoice", "order", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (kept in the activity log)"), max_length=200
    )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "organization",
        "amount",
        "currency",
        "status",
        "origin",
        "amount_refunded",
        "created_at",
    ]
    list_filter = ["status", "origin", "currency"]
    search_fields = [
        "=public_id",
        "=stripe_payment_intent_id",
        "organization__name",
        "organization__account_number",
    ]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    inlines = [PaymentAllocationInline]
    readonly_fields = [
        "refund_link",
        "public_id",
        "organization",
        "status",
        "origin",
        "amount",
        "currency",
        "amount_refunded",
        "payment_method",
        "paid_by",
        "stripe_payment_intent_id",
        "failure_code",
        "failure_message",
        "partial_reason",
        "idempotency_key",
        "created_at",
        "succeeded_at",
        "allocated_at",
        "receipt_sent_at",
    ]
    fields = readonly_fields

    @admin.display(description=gettext_lazy("Refund"))
    def refund_link(self, obj):
        if obj.status != Payment.Status.SUCCEEDED or obj.amount_refunded >= obj.amount:
            return "—"
        url = reverse("admin:billing_payment_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Refund…"))

    def get_urls(self):
        return [
            path(
                "<int:payment_pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_payment_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, payment_pk):
        if not request.user.has_perm("billing.change_payment"):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("organization"), pk=payment_pk)
        left = payment.amount - payment.amount_refunded
        form = RefundForm(request.POST or None, initial={"amount": left})
        if request.method == "POST" and form.is_valid():
            try:
                applied = payments.payment_refund(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    staff_user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except payments.PaymentError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Refunded %(amount)s %(currency)s.")
                    % {"amount": applied, "currency": payment.currency},
                )
                return redirect("admin:billing_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "payment": payment,
            "left": left,
            "form": form,
            "title": _("Refund payment"),
        }
        return render(request, "admin/billing/payment_refund.html", context)


@admin.register(FailedCharge)
class FailedChargeAdmin(ReadOnlyAdmin):
    list_display = ["payment", "organization", "reason", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["organization__name", "organization__account_number"]
    list_select_related = ["organization", "payment"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_event_id", "event_type", "received_at", "processed_at", "has_error"]
    list_filter = ["event_type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=stripe_event_id", "event_type"]

    @admin.display(boolean=True, description=gettext_lazy("error"))
    def has_error(self, obj) -> bool:
        return bool(obj.error)
