"""The staff console: customer list, customer 360, lifecycle and service actions, scheduled
actions, and "view as customer". Staff only (customers.access); every write is a service."""

from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from accounts.views import safe_next
from contacts.casework import recent_contacts_for_organization
from contacts.models import Contact, Organization
from customers import services
from customers.access import StaffRequiredMixin, staff_required
from customers.filters import CustomerFilter, ScheduledActionFilter
from customers.forms import (
    CancelForm,
    RankForm,
    RenameForm,
    ScheduledActionForm,
    ServiceActionForm,
    StatusChangeForm,
)
from customers.impersonation import view_as_begin, view_as_end
from customers.models import ScheduledAction, StaffAction, rank_priority
from customers.tables import CustomerTable, ScheduledActionTable, ServiceTable
from invoices.models import ZERO, Dispute, Invoice
from plans.models import Subscription

AUDIT_ROWS = 50
SERVICE_OPERATIONS = {
    "suspend": services.subscription_suspend,
    "reactivate": services.subscription_reactivate,
    "terminate": services.subscription_terminate,
}


def _form_errors_to_messages(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _organization(account_number: str) -> Organization:
    return get_object_or_404(Organization, account_number=account_number)


def _back_to(organization: Organization):
    return redirect("customers:detail", account_number=organization.account_number)


# --- Lists ------------------------------------------------------------------------------------


class CustomerListView(StaffRequiredMixin, SingleTableMixin, FilterView):
    table_class = CustomerTable
    filterset_class = CustomerFilter
    template_name = "customers/customer_list.html"

    def get_queryset(self):
        return Organization.objects.annotate(
            priority=rank_priority(),
            users=Count("contacts", filter=Q(contacts__removed_at__isnull=True)),
        )


class ScheduledActionListView(StaffRequiredMixin, SingleTableMixin, FilterView):
    table_class = ScheduledActionTable
    filterset_class = ScheduledActionFilter
    template_name = "customers/scheduled_action_list.html"

    def get_queryset(self):
        return ScheduledAction.objects.select_related("organization", "created_by")


# --- Customer 360 -----------------------------------------------------------------------------


def _customer_360(request, organization: Organization) -> dict:
    """Everything on one page, in a fixed number of queries whatever the customer's size."""
    users = list(
        Contact.objects.active()
        .filter(organization=organization)
        .select_related("user")
        .order_by("user__email")
    )
    balances = list(
        Invoice.objects.filter(organization=organization)
        .unpaid()
        .order_by("currency")
        .values("currency")
        .annotate(balance=Sum("balance", default=ZERO), count=Count("id"))
    )
    disputes = list(
        Dispute.objects.filter(organization=organization)
        .unresolved()
        .select_related("invoice", "line")
        .order_by("-opened_at", "-id")
    )
    scheduled = list(
        ScheduledAction.objects.filter(organization=organization)
        .select_related("organization", "created_by")
        .order_by("-run_on", "-id")
    )
    # Its action column reads `organization` from this page's context.
    service_table = ServiceTable(
        Subscription.objects.filter(organization=organization).select_related("plan", "contract")
    )
    RequestConfig(request, paginate={"per_page": 25}).configure(service_table)
    audit = list(
        StaffAction.objects.filter(organization=organization)
        .select_related("staff_user")
        .order_by("-created_at", "-id")[:AUDIT_ROWS]
    )
    return {
        "organization": organization,
        "users": users,
        "balances": balances,
        "disputes": disputes,
        # The customer contact log is built separately; this section reads from it later.
        "recent_contacts": recent_contacts_for_organization(organization),
        "scheduled": scheduled,
        "service_table": service_table,
        "audit": audit,
        "audit_rows": AUDIT_ROWS,
        # Three forms on one page: distinct ids for their labels.
        "status_form": StatusChangeForm(organization=organization, auto_id="status-%s"),
        "rename_form": RenameForm(initial={"name": organization.name}, auto_id="rename-%s"),
        "rank_form": RankForm(initial={"rank": organization.rank}, auto_id="rank-%s"),
    }


@staff_required
def customer_detail(request, account_number):
    organization = _organization(account_number)
    return render(request, "customers/customer_detail.html", _customer_360(request, organization))


# --- Lifecycle, name, rank --------------------------------------------------------------------


@staff_required
def customer_status(request, account_number):
    """Change the status now or on a date; closing asks for a confirmation first."""
    organization = _organization(account_number)
    form = StatusChangeForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if form.needs_confirmation:
            return render(
                request,
                "customers/confirm_close.html",
                {"organization": organization, "form": form, "data": data},
            )
        try:
            if data["run_on"]:
                services.scheduled_action_create(
                    organization=organization,
                    status=data["status"],
                    run_on=data["run_on"],
                    reason=data["reason"],
                    staff_user=request.user,
                )
            else:
                services.organization_set_status(
                    organization=organization,
                    status=data["status"],
                    staff_user=request.user,
                    reason=data["reason"],
                )
        except services.CustomerError as error:
            form.add_error(None, str(error))
        else:
            label = Organization.Status(data["status"]).label
            if data["run_on"]:
                messages.success(
                    request,
                    _("The change to “%(status)s” is scheduled for %(date)s.")
                    % {"status": label, "date": formats.date_format(data["run_on"], "DATE_FORMAT")},
                )
            else:
                messages.success(request, _("The account is now “%(status)s”.") % {"status": label})
            return _back_to(organization)
    return render(
        request, "customers/customer_status.html", {"organization": organization, "form": form}
    )


@staff_required
@require_POST
def customer_rename(request, account_number):
    organization = _organization(account_number)
    form = RenameForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return _back_to(organization)
    try:
        services.organization_rename(
            organization=organization, staff_user=request.user, **form.cleaned_data
        )
    except services.CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The account was renamed."))
    return _back_to(organization)


@staff_required
@require_POST
def customer_rank(request, account_number):
    organization = _organization(account_number)
    form = RankForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return _back_to(organization)
    try:
        services.organization_set_rank(
            organization=organization, staff_user=request.user, **form.cleaned_data
        )
    except services.CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The rank was changed."))
    return _back_to(organization)


# --- Services (assets) ------------------------------------------------------------------------


@staff_required
@require_POST
def service_action(request, account_number, subscription_id, operation):
    """Suspend, reactivate or terminate one subscription; terminating asks to confirm."""
    organization = _organization(account_number)
    subscription = get_object_or_404(
        Subscription.objects.select_related("plan"),
        organization=organization,
        public_id=subscription_id,
    )
    service = SERVICE_OPERATIONS.get(operation)
    if service is None:
        return _back_to(organization)
    form = ServiceActionForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return _back_to(organization)
    if operation == "terminate" and not form.cleaned_data["confirm"]:
        context = {"organization": organization, "subscription": subscription, "form": form}
        return render(request, "customers/confirm_terminate.html", context)
    try:
        service(
            subscription=subscription, staff_user=request.user, reason=form.cleaned_data["reason"]
        )
    except services.CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            {
                "suspend": _("%(plan)s is suspended."),
                "reactivate": _("%(plan)s is active again."),
                "terminate": _("%(plan)s is terminated."),
            }[operation]
            % {"plan": subscription.plan.name},
        )
    return _back_to(organization)


# --- Scheduled actions ------------------------------------------------------------------------


@staff_required
def scheduled_action_edit(request, action_id):
    action = get_object_or_404(
        ScheduledAction.objects.select_related("organization"), public_id=action_id
    )
    initial = {"run_on": action.run_on, "reason": action.reason}
    form = ScheduledActionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.scheduled_action_update(
                scheduled_action=action, staff_user=request.user, **form.cleaned_data
            )
        except services.CustomerError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The scheduled action was changed."))
            return _back_to(action.organization)
    return render(request, "customers/scheduled_action_edit.html", {"action": action, "form": form})


@staff_required
@require_POST
def scheduled_action_cancel(request, action_id):
    action = get_object_or_404(
        ScheduledAction.objects.select_related("organization"), public_id=action_id
    )
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.scheduled_action_cancel(
            scheduled_action=action, staff_user=request.user, reason=reason
        )
    except services.CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The scheduled action was cancelled."))
    default = reverse("customers:detail", args=[action.organization.account_number])
    return redirect(safe_next(request, default))


# --- View as customer -------------------------------------------------------------------------


@staff_required
@require_POST
def view_as_start(request, account_number):
    organization = _organization(account_number)
    services.staff_view_start(organization=organization, staff_user=request.user)
    view_as_begin(request, organization)
    messages.info(
        request,
        _("You are viewing the portal as %(organization)s, read-only.")
        % {"organization": organization.name},
    )
    return redirect("home")


@staff_required
@require_POST
def view_as_stop(request):
    public_id = view_as_end(request)
    organization = Organization.objects.filter(public_id=public_id).first() if public_id else None
    if organization is None:
        return redirect("customers:list")
    services.staff_view_end(organization=organization, staff_user=request.user)
    messages.info(request, _("You stopped viewing the portal as the customer."))
    return _back_to(organization)
