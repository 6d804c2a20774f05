"""The contract summary PDF, in the organization's language (rendered like the invoices)."""

from django.template.loader import render_to_string
from django.utils import timezone, translation

from contracts.models import Contract
from invoices.pdf import SELLER, render_pdf


def contract_pdf(contract: Contract) -> bytes:
    """Number, type, dates, value, status, the subscriptions under it and open requests."""
    organization = contract.organization
    subscriptions = list(contract.subscriptions.select_related("plan").order_by("start_date", "id"))
    open_requests = list(
        contract.requests.open().select_related("requested_by").order_by("created_at", "id")
    )
    with translation.override(organization.language):
        html = render_to_string(
            "contracts/pdf/contract.html",
            {
                "seller": SELLER,
                "generated_on": timezone.localdate(),
                "organization": organization,
                "contract": contract,
                "display_status": contract.get_display_status_display(),
                "subscriptions": subscriptions,
                "open_requests": open_requests,
            },
        )
        return render_pdf(html)
