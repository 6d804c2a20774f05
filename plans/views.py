from datetime import timedelta

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contacts.roles import Module
from invoices.exports import attachment_response, dataset_response
from plans.exports import schedule_dataset, schedule_pdf
from plans.filters import SubscriptionFilter
from plans.models import Subscription
from plans.services import billing_schedule
from plans.tables import SubscriptionTable
from portal.access import ModuleViewMixin, module_view

Status = Subscription.Status
TABS = [
    ("all", gettext_lazy("All")),
    (Status.ACTIVE, gettext_lazy("Active")),
    (Status.SUSPENDED, gettext_lazy("Suspended")),
    (Status.TERMINATED, gettext_lazy("Terminated")),
]
# Terminated subscriptions stay in the notices at the top of the list this long.
RECENTLY_TERMINATED = timedelta(days=90)
NOTICES = 5
SCHEDULE_ROWS_PER_PAGE = 100
DOWNLOAD_FORMATS = ("pdf", "csv", "xlsx")


def selected_status(params) -> str:
    status = params.get("status", "all")
    return status if status in dict(TABS) else "all"


class SubscriptionListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.PLANS
    model = Subscription
    table_class = SubscriptionTable
    filterset_class = SubscriptionFilter
    template_name = "plans/subscription_list.html"

    def get_queryset(self):
        queryset = super().get_queryset().select_related("plan", "contract")
        status = selected_status(self.request.GET)
        return queryset if status == "all" else queryset.filter(status=status)

    def get_table_kwargs(self):
        return {"today": timezone.localdate()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scoped = Subscription.objects.visible_to(self.contact)
        counts = dict(
            scoped.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        status = selected_status(self.request.GET)
        query = self.request.GET.copy()
        query.pop("page", None)
        tabs = []
        for key, label in TABS:
            tab_query = query.copy()
            tab_query["status"] = key
            count = sum(counts.values()) if key == "all" else counts.get(key, 0)
            tabs.append(
                {
                    "label": label,
                    "query": tab_query.urlencode(),
                    "active": key == status,
                    "count": count,
                }
            )
        # Suspensions, and recent terminations, with their date and reason above the table.
        notices = list(
            scoped.filter(
                Q(status=Status.SUSPENDED)
                | Q(
                    status=Status.TERMINATED,
                    status_changed_at__gte=timezone.now() - RECENTLY_TERMINATED,
                )
            )
            .select_related("plan")
            .order_by("-status_changed_at", "-id")[:NOTICES]
        )
        context.update(tabs=tabs, status=status, notices=notices)
        return context


@module_view(Module.PLANS)
@require_GET
def schedule(request):
    result = billing_schedule(contact=request.contact)
    page = Paginator(result.rows, SCHEDULE_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "plans/schedule.html", {"schedule": result, "page": page})


@module_view(Module.PLANS)
@require_GET
def schedule_download(request, file_format):
    if file_format not in DOWNLOAD_FORMATS:
        raise Http404
    result = billing_schedule(contact=request.contact)
    organization = request.organization
    stem = f"billing-schedule-{organization.account_number}-{result.today:%Y-%m-%d}"
    if file_format == "pdf":
        content = schedule_pdf(result, organization=organization)
        return attachment_response(content, filename_stem=stem, file_format="pdf")
    return dataset_response(schedule_dataset(result), filename_stem=stem, file_format=file_format)
