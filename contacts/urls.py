from django.urls import path

from contacts import views

app_name = "contacts"
urlpatterns = [
    path("users/", views.UserListView.as_view(), name="users"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<uuid:contact_id>/", views.user_edit, name="user_edit"),
    path("users/<uuid:contact_id>/remove/", views.user_remove, name="user_remove"),
    path(
        "invitations/<uuid:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("activity/", views.ActivityListView.as_view(), name="activity"),
    path("switch/", views.organization_switch, name="switch"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
