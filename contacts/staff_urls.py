"""The staff's customer contact log, mounted at /staff/contact-log/ (staff only)."""

from django.urls import path

from contacts import staff_views as views

app_name = "contact_log"
urlpatterns = [
    path("", views.CustomerContactListView.as_view(), name="list"),
    path("new/", views.contact_create, name="create"),
    path("statistics/", views.contact_statistics, name="statistics"),
    path("<uuid:customer_contact_id>/", views.contact_detail, name="detail"),
    path("<uuid:customer_contact_id>/log/", views.contact_log_append, name="log_append"),
    path("<uuid:customer_contact_id>/status/", views.contact_status, name="status"),
    path("<uuid:customer_contact_id>/assign/", views.contact_assign, name="assign"),
    path(
        "<uuid:customer_contact_id>/characteristics/",
        views.contact_characteristic_set,
        name="characteristic_set",
    ),
    path("<uuid:customer_contact_id>/letters/", views.letter_generate, name="letter_generate"),
    path("<uuid:customer_contact_id>/reminders/", views.reminder_create, name="reminder_create"),
    path("letters/<uuid:letter_id>/pdf/", views.letter_download, name="letter_download"),
    path("letters/<uuid:letter_id>/email/", views.letter_email, name="letter_email"),
    path("reminders/<uuid:reminder_id>/cancel/", views.reminder_cancel, name="reminder_cancel"),
]
