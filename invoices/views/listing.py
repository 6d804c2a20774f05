from django.contrib import messages
from django.db.models import Count, Sum
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contacts.roles import Action, Module
from invoices import services
from invoices.exports import dataset_response, invoices_dataset
from invoices.filters import InvoiceFilter
from invoices.forms import EmailInvoicesForm
from invoices.models import ZERO, Invoice, InvoiceStatus
from invoices.tables import InvoiceTable
from portal.access import ModuleViewMixin, check_module, module_view
from portal.ratelimit import ratelimit_hit

TABS = [
    ("all", gettext_lazy("All")),
    (InvoiceStatus.OVERDUE, gettext_lazy("Overdue")),
    (InvoiceStatus.OPEN, gettext_lazy("Open")),
    (InvoiceStatus.CLOSED, gettext_lazy("Closed")),
]
EMAILS_PER_HOUR = 5


def status_summary(queryset) -> dict[str, dict]:
    """Counts and per-currency totals for each status tab, in one grouped query."""
    summary = {key: {"count": 0, "totals": {}} for key, _label in TABS}
    rows = (
        queryset.order_by()
        .values("status", "currency")
        .annotate(
            count=Count("*"),
            balance=Sum("balance", default=ZERO),
            total=Sum("total", default=ZERO),
        )
    )
    for row in rows:
        # Closed invoices: what was billed; unpaid ones: what is still due.
        amount = row["total"] if row["status"] == InvoiceStatus.CLOSED else row["balance"]
        for key in (row["status"], "all"):
            summary[key]["count"] += row["count"]
            if key != "all":
                summary[key]["totals"][row["currency"]] = amount
    return summary


def selected_status(params) -> str:
    status = params.get("status", "all")
    return status if status in dict(TABS) else "all"


class InvoiceListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.INVOICES
    model = Invoice
    table_class = InvoiceTable
    filterset_class = InvoiceFilter
    template_name = "invoices/invoice_list.html"

    def get_queryset(self):
        queryset = super().get_queryset()
        status = selected_status(self.request.GET)
        return queryset if status == "all" else queryset.filter(status=status)

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export in ("csv", "xlsx"):
            filterset = self.filterset_class(request.GET, queryset=self.get_queryset())
            invoices = filterset.qs if filterset.is_valid() else self.get_queryset().none()
            return dataset_response(
                invoices_dataset(invoices), filename_stem="invoices", file_format=export
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = selected_status(self.request.GET)
        summary = status_summary(Invoice.objects.visible_to(self.contact))
        query = self.request.GET.copy()
        query.pop("page", None)
        tabs = []
        for key, label in TABS:
            tab_query = query.copy()
            tab_query["status"] = key
            tabs.append(
                {
                    "key": key,
                    "label": label,
                    "query": tab_query.urlencode(),
                    "active": key == status,
                    **summary[key],
                }
            )
        context.update(
            tabs=tabs,
            status=status,
            query=query.urlencode(),
            totals=summary[status]["totals"] if status != "all" else {},
            can_pay=self.contact.can_do(Action.PAY),
        )
        return context


@module_view(Module.INVOICES)
def invoices_email(request):
    """E-mail the (filtered) invoice list with CSV and PDF attached; sent by a task."""
    contact = check_module(request, Module.INVOICES)
    params = QueryDict(request.POST.get("query") or request.GET.urlencode())
    form = EmailInvoicesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit_hit(
            f"invoices-email:{request.user.pk}", limit=EMAILS_PER_HOUR, period=3600
        ):
            messages.error(
                request,
                _("You have sent the list several times in the last hour. Please try again later."),
            )
            return redirect(f"{reverse('invoices:list')}?{params.urlencode()}")
        queryset = Invoice.objects.visible_to(contact)
        status = selected_status(params)
        if status != "all":
            queryset = queryset.filter(status=status)
        filterset = InvoiceFilter(params, queryset=queryset)
        invoices = filterset.qs if filterset.is_valid() else queryset
        recipients = (
            [request.user.email]
            if form.cleaned_data["send_to"] == form.SEND_TO_ME
            else form.cleaned_data["recipients"]
        )
        try:
            services.invoices_email_list(
                contact=contact,
                invoice_ids=list(invoices.values_list("pk", flat=True)[:5000]),
                recipients=recipients,
                message=form.cleaned_data["message"],
            )
        except services.InvoiceError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _(
                    "The invoice list is on its way to %(recipients)s. "
                    "It will arrive in a few minutes."
                )
                % {"recipients": ", ".join(recipients)},
            )
        return redirect(f"{reverse('invoices:list')}?{params.urlencode()}")
    return render(request, "invoices/email_list.html", {"form": form, "query": params.urlencode()})
