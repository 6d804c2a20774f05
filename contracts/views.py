from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contacts.roles import Action, Module
from contracts import services
from contracts.filters import ContractFilter
from contracts.forms import ContractRequestForm
from contracts.models import Contract, ContractRequest
from contracts.pdf import contract_pdf
from contracts.tables import ContractTable
from invoices.exports import attachment_response
from orders.models import Order
from plans.models import Subscription
from portal.access import ModuleViewMixin, check_action, get_for, module_view

REQUEST_LABELS = {
    ContractRequest.Kind.RENEWAL: gettext_lazy("Request renewal"),
    ContractRequest.Kind.CANCELLATION: gettext_lazy("Request cancellation at term"),
}


class ContractListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.CONTRACTS
    model = Contract
    table_class = ContractTable
    filterset_class = ContractFilter
    template_name = "contracts/contract_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            has_contracts=Contract.objects.visible_to(self.contact).exists(),
            query=query.urlencode(),
        )
        return context


def _contract(request, contract_number: str) -> Contract:
    return get_for(request, Contract.objects.select_related("organization"), number=contract_number)


@module_view(Module.CONTRACTS)
@require_GET
def contract_detail(request, contract_number):
    contract = _contract(request, contract_number)
    contact = request.contact
    subscriptions = list(
        Subscription.objects.visible_to(contact)
        .filter(contract=contract)
        .select_related("plan")
        .order_by("start_date", "id")
    )
    requests = list(
        ContractRequest.objects.visible_to(contact)
        .filter(contract=contract)
        .select_related("requested_by")
    )
    renewal_quotes = list(
        Order.objects.visible_to(contact)
        .awaiting_payment()
        .filter(contract=contract, kind=Order.Kind.QUOTE)
        .order_by("order_date", "id")
    )
    may_request = contact.can_do(Action.REQUEST) and contract.organization.allows_changes
    open_kinds = {item.kind for item in requests if item.is_open}
    actions = []
    if may_request:
        for kind in ContractRequest.Kind.values:
            refusal = services.contract_request_refusal(
                contract=contract, kind=kind, open_kinds=open_kinds
            )
            if refusal is None:
                actions.append({"kind": kind, "label": REQUEST_LABELS[kind]})
    context = {
        "contract": contract,
        "subscriptions": subscriptions,
        "requests": requests,
        "renewal_quotes": renewal_quotes,
        "actions": actions,
        "may_request": may_request,
    }
    return render(request, "contracts/contract_detail.html", context)


@module_view(Module.CONTRACTS)
def contract_request(request, contract_number, kind):
    if kind not in ContractRequest.Kind.values:
        raise Http404(_("Unknown request."))
    contract = _contract(request, contract_number)
    contact = check_action(request, Action.REQUEST)
    form = ContractRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_request_create(
                contact=contact, contract=contract, kind=kind, **form.cleaned_data
            )
        except services.ContractError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Your request was sent. We will answer it here, on the contract's page."),
            )
        return redirect("contracts:detail", contract_number=contract.number)
    refusal = services.contract_request_refusal(
        contract=contract,
        kind=kind,
        open_kinds=set(contract.requests.open().values_list("kind", flat=True)),
    )
    context = {
        "contract": contract,
        "kind": ContractRequest.Kind(kind),
        "form": form,
        "refusal": refusal,
    }
    return render(request, "contracts/request_form.html", context)


@module_view(Module.CONTRACTS)
@require_POST
def request_withdraw(request, request_id):
    item = get_for(
        request, ContractRequest.objects.select_related("contract"), public_id=request_id
    )
    contact = check_action(request, Action.REQUEST)
    try:
        services.contract_request_withdraw(contact=contact, request=item)
    except services.ContractError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("contracts:detail", contract_number=item.contract.number)


@module_view(Module.CONTRACTS)
@require_GET
def contract_pdf_download(request, contract_number):
    contract = _contract(request, contract_number)
    return attachment_response(
        contract_pdf(contract), filename_stem=f"contract-{contract.number}", file_format="pdf"
    )
