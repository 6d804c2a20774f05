from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contacts.roles import Action, Module
from invoices import services
from invoices.forms import EmailInvoicesForm
from invoices.models import Dispute, Invoice, InvoiceLine
from portal.access import check_module, get_for, module_view
from portal.ratelimit import ratelimit_hit


def _invoice_for_detail(request, number: str) -> Invoice:
    queryset = Invoice.objects.select_related("organization").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")),
        "adjustments",
        "history",
        Prefetch("disputes", queryset=Dispute.objects.select_related("line")),
    )
    return get_for(request, queryset, number=number)


@module_view(Module.INVOICES)
def invoice_detail(request, number):
    invoice = _invoice_for_detail(request, number)
    disputes = list(invoice.disputes.all())
    disputed_lines = {d.line_id for d in disputes if d.is_unresolved}
    context = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "adjustments": list(invoice.adjustments.all()),
        "history": list(invoice.history.all()),
        "disputes": disputes,
        "disputed_lines": disputed_lines,
        "disputed_total": sum((d.amount for d in disputes if d.is_unresolved), start=0),
        "email_form": EmailInvoicesForm(),
        "can_dispute": invoice.organization.allows_changes,
        # Open invoices stay payable even on a closed account.
        "can_pay": request.contact.can_do(Action.PAY),
    }
    return render(request, "invoices/invoice_detail.html", context)


@module_view(Module.INVOICES)
@require_POST
def invoice_email(request, number):
    contact = check_module(request, Module.INVOICES)
    invoice = get_for(request, Invoice, number=number)
    form = EmailInvoicesForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("invoices:detail", number=invoice.number)
    if not ratelimit_hit(f"invoice-email:{request.user.pk}", limit=20, period=3600):
        messages.error(
            request, _("You have sent many e-mails in the last hour. Please try again later.")
        )
        return redirect("invoices:detail", number=invoice.number)
    recipients = (
        [request.user.email]
        if form.cleaned_data["send_to"] == form.SEND_TO_ME
        else form.cleaned_data["recipients"]
    )
    try:
        services.invoice_email(
            contact=contact,
            invoice=invoice,
            recipients=recipients,
            message=form.cleaned_data["message"],
        )
    except services.InvoiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Invoice %(number)s is on its way to %(recipients)s.")
            % {"number": invoice.number, "recipients": ", ".join(recipients)},
        )
    return redirect("invoices:detail", number=invoice.number)
