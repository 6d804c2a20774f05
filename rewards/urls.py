from django.urls import path

from rewards import views

app_name = "rewards"
urlpatterns = [
    path("", views.RewardListView.as_view(), name="list"),
    path("redeem/", views.redeem, name="redeem"),
]
