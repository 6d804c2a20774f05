from django.urls import path

from billing.views import methods, payments, profile, webhooks

app_name = "billing"
urlpatterns = [
    # Billing profile and payment methods (billing/views/profile.py, methods.py).
    path("", profile.overview, name="overview"),
    path("profile/", profile.profile_edit, name="profile"),
    path("methods/", methods.method_list, name="methods"),
    path("methods/add/", methods.method_add, name="method_add"),
    path("methods/add/confirm/", methods.method_add_confirm, name="method_add_confirm"),
    path("methods/<uuid:method_id>/default/", methods.method_make_default, name="method_default"),
    path("methods/<uuid:method_id>/expiry/", methods.method_update_expiry, name="method_expiry"),
    path("methods/<uuid:method_id>/remove/", methods.method_remove, name="method_remove"),
    # Payments (billing/views/payments.py).
    path("due/", payments.payments_due, name="due"),
    path("pay/", payments.pay_start, name="pay"),
    path("pay/<uuid:payment_id>/", payments.pay_confirm, name="pay_confirm"),
    path("pay/<uuid:payment_id>/status/", payments.pay_status, name="pay_status"),
    path("payments/", payments.PaymentListView.as_view(), name="payments"),
    path("payments/<uuid:payment_id>/", payments.payment_detail, name="payment_detail"),
    path("payments/<uuid:payment_id>/receipt.pdf", payments.payment_receipt, name="receipt"),
    # Stripe webhooks: the only csrf_exempt view (billing/views/webhooks.py).
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
]
