from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("scheduled/", views.ScheduledActionListView.as_view(), name="scheduled_list"),
    path(
        "scheduled/<uuid:action_id>/edit/",
        views.scheduled_action_edit,
        name="scheduled_edit",
    ),
    path(
        "scheduled/<uuid:action_id>/cancel/",
        views.scheduled_action_cancel,
        name="scheduled_cancel",
    ),
    path("view-as/stop/", views.view_as_stop, name="view_as_stop"),
    path("customers/<str:account_number>/", views.customer_detail, name="detail"),
    path("customers/<str:account_number>/status/", views.customer_status, name="status"),
    path("customers/<str:account_number>/rename/", views.customer_rename, name="rename"),
    path("customers/<str:account_number>/rank/", views.customer_rank, name="rank"),
    path("customers/<str:account_number>/view-as/", views.view_as_start, name="view_as"),
    path(
        "customers/<str:account_number>/services/<uuid:subscription_id>/<str:operation>/",
        views.service_action,
        name="service_action",
    ),
]
