"""Staff screens for contracts: requests are answered and contracts renewed through services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts import services
from contracts.forms import ContractRenewForm, ContractRequestUpdateForm
from contracts.models import Contract, ContractReminder, ContractRequest
from portal.money import format_money


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ContractRequestInline(ReadOnlyInline):
    model = ContractRequest
    fields = ["created_at", "kind", "status", "requested_by", "message", "staff_note"]


class ContractReminderInline(ReadOnlyInline):
    model = ContractReminder
    fields = ["days_before", "end_date", "sent_at"]
    show_change_link = False


def _page_context(model_admin, request, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "has_view_permission": True,
        **extra,
    }


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "organization",
        "kind",
        "title",
        "start_date",
        "end_date",
        "auto_renew",
        "contract_value",
        "customer_status",
    ]
    list_filter = ["kind", "status", "auto_renew", "currency"]
    search_fields = ["number", "title", "organization__name", "organization__account_number"]
    list_select_related = ["organization"]
    date_hierarchy = "end_date"
    autocomplete_fields = ["organization"]
    inlines = [ContractRequestInline, ContractReminderInline]
    actions = ["terminate"]

    # Staff add contracts here; dates and status then move only through the services
    # (contract_renew, contract_terminate), which keep requests and reminders consistent.
    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["status", "terminated_at"]
        return [
            "number",
            "organization",
            "currency",
            "end_date",
            "renewal_date",
            "status",
            "terminated_at",
            "renew_link",
        ]

    def get_fields(self, request, obj=None):
        fields = [
            "number",
            "organization",
            "kind",
            "title",
            "start_date",
            "end_date",
            "auto_renew",
            "renewal_date",
            "currency",
            "value",
            "status",
            "terminated_at",
        ]
        return fields if obj is None else [*fields, "renew_link"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Customer-facing records are never deleted.

    @admin.display(description=gettext_lazy("contract value"), ordering="value")
    def contract_value(self, contract: Contract) -> str:
        return format_money(contract.value, contract.currency)

    @admin.display(description=gettext_lazy("status seen by the customer"))
    def customer_status(self, contract: Contract) -> str:
        return contract.get_display_status_display()

    @admin.display(description=gettext_lazy("renewal"))
    def renew_link(self, contract: Contract) -> str:
        if not contract.pk or contract.status != Contract.Status.ACTIVE:
            return "—"
        url = reverse("admin:contracts_contract_renew", args=[contract.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Renew…"))

    def get_urls(self):
        renew = self.admin_site.admin_view(self.renew_view)
        return [
            path("<path:object_id>/renew/", renew, name="contracts_contract_renew"),
            *super().get_urls(),
        ]

    def renew_view(self, request, object_id):
        contract = self.get_object(request, object_id)
        if contract is None:
            raise Http404(_("No such contract."))
        if not self.has_change_permission(request, contract):
            raise PermissionDenied
        form = ContractRenewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.contract_renew(
                    contract=contract, new_end_date=form.cleaned_data["new_end_date"]
                )
            except services.ContractError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, _("The contract was renewed."), messages.SUCCESS)
                return redirect("admin:contracts_contract_change", contract.pk)
        context = _page_context(
            self,
            request,
            title=_("Renew contract %(number)s") % {"number": contract.number},
            original=contract,
            contract=contract,
            form=form,
        )
        return TemplateResponse(request, "contracts/admin/contract_renew.html", context)

    @admin.action(description=gettext_lazy("Terminate now"), permissions=["change"])
    def terminate(self, request, queryset):
        done = 0
        for contract in queryset.select_related("organization"):
            try:
                services.contract_terminate(contract=contract)
            except services.ContractError as error:
                self.message_user(request, f"{contract}: {error}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, _("%(count)d contracts terminated.") % {"count": done})


@admin.register(ContractRequest)
class ContractRequestAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "contract",
        "organization",
        "kind",
        "status",
        "requested_by",
        "updated_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["contract__number", "organization__name", "requested_by__email", "message"]
    list_select_related = ["contract", "organization", "requested_by"]
    date_hierarchy = "created_at"
    fields = [
        "public_id",
        "organization",
        "contract",
        "kind",
        "requested_by",
        "created_at",
        "message",
        "status",
        "staff_note",
        "updated_at",
        "update_link",
    ]
    readonly_fields = fields
    actions = ["mark_in_progress", "update_one"]

    # Customers raise requests; staff answer through contract_request_update, never by editing.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("answer"))
    def update_link(self, item: ContractRequest) -> str:
        if not item.pk or not item.is_open:
            return "—"
        url = reverse("admin:contracts_contractrequest_update", args=[item.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Answer…"))

    def get_urls(self):
        update = self.admin_site.admin_view(self.update_view)
        return [
            path("<path:object_id>/update/", update, name="contracts_contractrequest_update"),
            *super().get_urls(),
        ]

    def update_view(self, request, object_id):
        item = self.get_object(request, object_id)
        if item is None:
            raise Http404(_("No such request."))
        if not self.has_change_permission(request, item):
            raise PermissionDenied
        initial = {"status": item.status, "staff_note": item.staff_note}
        form = ContractRequestUpdateForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.contract_request_update(request=item, **form.cleaned_data)
            except services.ContractError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, _("The request was updated."), messages.SUCCESS)
                return redirect("admin:contracts_contractrequest_change", item.pk)
        context = _page_context(
            self,
            request,
            title=_("Answer the request on %(number)s") % {"number": item.contract.number},
            original=item,
            item=item,
            form=form,
        )
        return TemplateResponse(request, "contracts/admin/request_update.html", context)

    @admin.action(description=gettext_lazy("Mark in progress"), permissions=["change"])
    def mark_in_progress(self, request, queryset):
        changed = 0
        for item in queryset.filter(status=ContractRequest.Status.SUBMITTED):
            try:
                services.contract_request_update(
                    request=item,
                    status=ContractRequest.Status.IN_PROGRESS,
                    staff_note=item.staff_note,
                )
            except services.ContractError as error:
                self.message_user(request, f"{item}: {error}", messages.WARNING)
            else:
                changed += 1
        self.message_user(request, _("%(count)d requests marked in progress.") % {"count": changed})

    @admin.action(description=gettext_lazy("Answer the request…"), permissions=["change"])
    def update_one(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one request to answer."), messages.WARNING)
            return None
        return redirect("admin:contracts_contractrequest_update", queryset.get().pk)


@admin.register(ContractReminder)
class ContractReminderAdmin(admin.ModelAdmin):
    list_display = ["contract", "days_before", "end_date", "sent_at"]
    list_filter = ["days_before"]
    search_fields = ["contract__number", "contract__organization__name"]
    list_select_related = ["contract"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
