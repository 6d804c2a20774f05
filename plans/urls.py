from django.urls import path

from plans import views

app_name = "plans"
urlpatterns = [
    path("", views.SubscriptionListView.as_view(), name="list"),
    path("schedule/", views.schedule, name="schedule"),
    # One literal route per format, all named "schedule_download": reverse with
    # kwargs={"file_format": ...}; any other format has no route (404). The format is not an
    # object identifier, so the URL walk treats these as plain pages.
    *(
        path(
            f"schedule/download/{file_format}/",
            views.schedule_download,
            {"file_format": file_format},
            name="schedule_download",
        )
        for file_format in views.DOWNLOAD_FORMATS
    ),
]
