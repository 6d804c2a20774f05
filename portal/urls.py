from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from portal import views

# Staff sign in through allauth too, so rate limits and MFA apply to the admin.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = admin.site.site_title = "Customer Center"

urlpatterns = [
    path("", views.home, name="home"),
    # E-mail is the identity and cannot be changed (ACCOUNT_CHANGE_EMAIL off): allauth's
    # address management would still let a person add (and sign in with) another address.
    path("accounts/email/", views.email_management_disabled),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("organization/", include("contacts.urls")),
    path("invoices/", include("invoices.urls")),
    path("orders/", include("orders.urls")),
    path("contracts/", include("contracts.urls")),
    path("plans/", include("plans.urls")),
    path("rewards/", include("rewards.urls")),
    path("billing/", include("billing.urls")),
    path("staff/contact-log/", include("contacts.staff_urls")),
    path("staff/", include("customers.urls")),
    path("admin/", admin.site.urls),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("healthz", views.healthz, name="healthz"),
    path("_dev/mail/", views.dev_mail_list, name="dev_mail_list"),
    path("_dev/mail/<str:mail_id>/", views.dev_mail_detail, name="dev_mail_detail"),
]
