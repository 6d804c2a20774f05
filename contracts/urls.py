from django.urls import path

from contracts import views

app_name = "contracts"
urlpatterns = [
    path("", views.ContractListView.as_view(), name="list"),
    path("requests/<uuid:request_id>/withdraw/", views.request_withdraw, name="withdraw"),
    path("<str:contract_number>/", views.contract_detail, name="detail"),
    path("<str:contract_number>/request/<str:kind>/", views.contract_request, name="request"),
    path("<str:contract_number>/pdf/", views.contract_pdf_download, name="pdf"),
]
