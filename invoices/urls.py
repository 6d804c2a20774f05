from django.urls import path

from invoices.views import detail, disputes, documents, listing

app_name = "invoices"
urlpatterns = [
    path("", listing.InvoiceListView.as_view(), name="list"),
    path("bulk/", documents.invoices_bulk, name="bulk"),
    path("email/", listing.invoices_email, name="email_list"),
    path("statement/", documents.statement, name="statement"),
    path("disputes/", disputes.DisputeListView.as_view(), name="disputes"),
    path("<str:number>/", detail.invoice_detail, name="detail"),
    path("<str:number>/pdf/", documents.invoice_pdf, name="pdf"),
    path("<str:number>/email/", detail.invoice_email, name="email"),
    path("<str:number>/lines/<int:position>/dispute/", disputes.dispute_open, name="dispute"),
]
