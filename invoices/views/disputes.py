from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django_tables2 import SingleTableView

from contacts.models import Contact
from contacts.roles import Module, Role
from invoices import services
from invoices.dispute_forms import DisputeForm
from invoices.dispute_tables import DisputeTable
from invoices.models import Dispute, Invoice
from portal.access import ModuleViewMixin, get_for, module_view

# Finance and executives may dispute a charge; today that is exactly who sees invoices,
# checked again here so that widening the invoices module does not widen disputes.
DISPUTE_ROLES = frozenset({Role.FINANCE, Role.EXECUTIVE})


def _check_may_dispute(request) -> Contact:
    contact = request.contact
    if not contact.role_set & DISPUTE_ROLES:
        raise PermissionDenied(_("Only finance and executive contacts can dispute a charge."))
    if not request.organization.allows_changes:
        raise PermissionDenied(
            _("This account is closed: charges can no longer be disputed here. Please contact us.")
        )
    return contact


@module_view(Module.INVOICES)
def dispute_open(request, number, position):
    # Lines have no organization of their own: scope through the invoice (404 for others).
    invoice = get_for(request, Invoice.objects.select_related("organization"), number=number)
    line = get_object_or_404(invoice.lines, position=position)  # line.invoice is `invoice`.
    contact = _check_may_dispute(request)
    open_dispute = line.disputes.unresolved().first()
    form = DisputeForm(request.POST or None, line=line)
    if request.method == "POST" and open_dispute is None and form.is_valid():
        try:
            services.dispute_open(contact=contact, line=line, **form.cleaned_data)
        except services.InvoiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Your dispute was opened. We will review it and keep you informed here."),
            )
            return redirect("invoices:detail", number=invoice.number)
    context = {"invoice": invoice, "line": line, "form": form, "open_dispute": open_dispute}
    return render(request, "invoices/dispute_form.html", context)


class DisputeListView(ModuleViewMixin, SingleTableView):
    module = Module.INVOICES
    model = Dispute
    table_class = DisputeTable
    template_name = "invoices/dispute_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("invoice", "line")
