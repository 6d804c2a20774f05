import uuid

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from contacts.models import Contact
from contacts.roles import Action, Module
from invoices.models import Invoice
from portal.access import ModuleViewMixin, check_action, module_view
from portal.money import format_money
from portal.tables import csv_response
from rewards import services
from rewards.filters import RewardEntryFilter
from rewards.forms import RedeemForm
from rewards.models import ZERO, RewardEntry
from rewards.tables import RewardEntryTable


def may_redeem(contact: Contact) -> bool:
    return contact.can_do(Action.REDEEM) and contact.organization.allows_changes


def redeemable_invoices(contact: Contact, currencies) -> list[Invoice]:
    """Any unpaid invoice of the organization in a currency with rewards (one query)."""
    return list(
        Invoice.objects.visible_to(contact)
        .unpaid()
        .filter(currency__in=list(currencies), balance__gt=0)
        .only("number", "currency", "balance", "due_date", "organization_id")
        .order_by("due_date", "id")
    )


def redeem_form(contact: Contact, currency: str, balances, invoices, **kwargs) -> RedeemForm:
    return RedeemForm(
        currency=currency, balance=balances.get(currency, ZERO), invoices=invoices, **kwargs
    )


class RewardListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.REWARDS
    model = RewardEntry
    table_class = RewardEntryTable
    filterset_class = RewardEntryFilter
    template_name = "rewards/reward_list.html"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("source_invoice", "redeemed_invoice", "earned_entry", "actor")
        )

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            filterset = self.filterset_class(request.GET, queryset=self.get_queryset())
            entries = filterset.qs if filterset.is_valid() else self.get_queryset().none()
            return rewards_csv(entries)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ledger = RewardEntry.objects.visible_to(self.contact)
        balances = ledger.balances()
        expiries = ledger.next_expiries(today=timezone.localdate())
        forms = []
        if may_redeem(self.contact):
            positive = [currency for currency, balance in balances.items() if balance > 0]
            invoices = redeemable_invoices(self.contact, positive) if positive else []
            chosen = self.request.GET.get("invoice")
            forms = [
                redeem_form(
                    self.contact,
                    currency,
                    balances,
                    invoices,
                    initial={"token": uuid.uuid4(), "invoice": chosen},
                )
                for currency in positive
            ]
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            balances=[
                {"currency": currency, "balance": balance, "next_expiry": expiries.get(currency)}
                for currency, balance in balances.items()
            ],
            redeem_forms=forms,
            can_redeem=self.contact.can_do(Action.REDEEM),
            query=query.urlencode(),
        )
        return context


def _invoice_number(entry: RewardEntry) -> str:
    invoice = entry.source_invoice or entry.redeemed_invoice
    return invoice.number if invoice else ""


def rewards_csv(entries):
    """The (filtered) history as CSV; text cells are formula-safe (portal.tables)."""
    rows = (
        (
            timezone.localtime(entry.created_at).date().isoformat(),
            entry.get_kind_display(),
            entry.amount,
            entry.currency,
            _invoice_number(entry),
            entry.expires_on.isoformat() if entry.expires_on else "",
        )
        for entry in entries.iterator(chunk_size=2000)
    )
    return csv_response(
        filename="rewards.csv",
        header=[_("Date"), _("Type"), _("Amount"), _("Currency"), _("Invoice"), _("Expires")],
        rows=rows,
    )


@module_view(Module.REWARDS)
@require_POST
def redeem(request):
    contact = check_action(request, Action.REDEEM)
    currency = (request.POST.get("currency") or "")[:3]
    balances = RewardEntry.objects.visible_to(contact).balances()
    invoices = list(Invoice.objects.visible_to(contact).unpaid().order_by("due_date", "id"))
    form = redeem_form(contact, currency, balances, invoices, data=request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("rewards:list")
    try:
        entry = services.rewards_redeem(
            contact=contact,
            invoice=form.cleaned_data["invoice"],
            amount=form.cleaned_data["amount"],
            currency=form.cleaned_data["currency"],
            token=form.cleaned_data["token"],
        )
    except services.RewardError as error:
        messages.error(request, str(error))
        return redirect("rewards:list")
    invoice = Invoice.objects.get(pk=entry.redeemed_invoice_id)
    messages.success(
        request,
        _("Rewards of %(amount)s applied to invoice %(number)s. Its balance is now %(balance)s.")
        % {
            "amount": format_money(-entry.amount, entry.currency),
            "number": invoice.number,
            "balance": format_money(invoice.balance, invoice.currency),
        },
    )
    return redirect("rewards:list")
