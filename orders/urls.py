from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.OrderListView.as_view(), name="list"),
    path("<str:order_number>/", views.order_detail, name="detail"),
    path("<str:order_number>/notifications/", views.order_notifications, name="notifications"),
]
