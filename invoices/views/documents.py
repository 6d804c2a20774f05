"""Downloads: one invoice's PDF, the selected invoices (zip of PDFs, CSV, Excel), and the
statement of account (page, PDF, CSV)."""

import io
import zipfile
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.views import safe_next
from contacts.roles import Module
from invoices import pdf
from invoices.exports import (
    attachment_response,
    dataset_response,
    invoices_dataset,
    safe_filename,
    statement_dataset,
)
from invoices.models import Invoice
from invoices.statements import statement_build
from portal.access import get_for, module_view

BULK_FORMATS = ("pdf_zip", "csv", "xlsx")
# A zip renders every PDF in the request: one page of the list at most.
MAX_ZIP_INVOICES = 25
MAX_SELECTED = 1000
MAX_STATEMENT_YEARS = 5


@module_view(Module.INVOICES)
@require_GET
def invoice_pdf(request, number):
    invoice = get_for(request, Invoice.objects.select_related("organization"), number=number)
    return attachment_response(
        pdf.invoice_pdf(invoice), filename_stem=f"invoice-{invoice.number}", file_format="pdf"
    )


def _zip_of_pdfs(invoices: list[Invoice]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for invoice in invoices:
            archive.writestr(
                safe_filename(f"invoice-{invoice.number}", "pdf"), pdf.invoice_pdf(invoice)
            )
    return buffer.getvalue()


@module_view(Module.INVOICES)
@require_POST
def invoices_bulk(request):
    """The list's checkboxes: selected invoices of this organization; others are ignored."""
    back = safe_next(request, reverse("invoices:list"))
    action = request.POST.get("action")
    numbers = set(request.POST.getlist("numbers"))
    if action == "pay":
        query = urlencode(sorted(("invoice", number) for number in numbers))
        return redirect(f"{reverse('billing:due')}?{query}")
    if action not in BULK_FORMATS:
        messages.error(request, _("Choose what to do with the selected invoices."))
        return redirect(back)
    limit = MAX_ZIP_INVOICES if action == "pdf_zip" else MAX_SELECTED
    if len(numbers) > limit:
        messages.error(request, _("Select at most %(count)d invoices for this.") % {"count": limit})
        return redirect(back)
    queryset = Invoice.objects.visible_to(request.contact).filter(number__in=numbers)
    if action == "pdf_zip":
        queryset = queryset.select_related("organization").prefetch_related("lines")
    invoices = list(queryset.order_by("-issue_date", "-id"))
    if not invoices:
        messages.error(request, _("Select at least one invoice first."))
        return redirect(back)
    stem = f"invoices-{request.organization.account_number}-{timezone.localdate():%Y-%m-%d}"
    if action == "pdf_zip":
        return attachment_response(_zip_of_pdfs(invoices), filename_stem=stem, file_format="zip")
    return dataset_response(invoices_dataset(invoices), filename_stem=stem, file_format=action)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February.
        return day.replace(year=day.year + years, day=28)


class StatementForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(code, code) for code in currencies]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end date can't be before the start date."))
            elif end > _years_later(start, MAX_STATEMENT_YEARS):
                self.add_error(
                    "end",
                    _(
                        "A statement covers at most %(years)d years. Choose a later start date "
                        "or an earlier end date."
                    )
                    % {"years": MAX_STATEMENT_YEARS},
                )
        return data


@module_view(Module.INVOICES)
@require_GET
def statement(request):
    organization = request.organization
    used = (
        Invoice.objects.visible_to(request.contact)
        .order_by()
        .values_list("currency", flat=True)
        .distinct()
    )
    today = timezone.localdate()
    defaults = {
        "start": today.replace(month=1, day=1).isoformat(),
        "end": today.isoformat(),
        "currency": organization.currency,
    }
    form = StatementForm(
        {key: request.GET.get(key, value) for key, value in defaults.items()},
        currencies=sorted({*used, organization.currency}),
    )
    if not form.is_valid():
        return render(request, "invoices/statement.html", {"form": form, "statement": None})
    result = statement_build(organization=organization, **form.cleaned_data)
    stem = f"statement-{organization.account_number}-{result.currency}-{result.start}-{result.end}"
    file_format = request.GET.get("format")
    if file_format == "pdf":
        return attachment_response(pdf.statement_pdf(result), filename_stem=stem, file_format="pdf")
    if file_format == "csv":
        return dataset_response(statement_dataset(result), filename_stem=stem, file_format="csv")
    query = urlencode({"start": result.start, "end": result.end, "currency": result.currency})
    return render(
        request, "invoices/statement.html", {"form": form, "statement": result, "query": query}
    )
