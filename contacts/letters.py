"""Letters a customer contact triggers: templates/contacts/letters/<template>.html rendered in
the person's language and turned into a PDF by invoices.pdf.render_pdf (static files only)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation

from contacts.models import CustomerContact, Letter, Organization
from invoices.pdf import SELLER, render_pdf


def letter_organization(contact: CustomerContact) -> Organization | None:
    """The organization a letter is addressed to: the linked invoice's, else the first one
    the person belonged to when they got in touch."""
    if contact.invoice_id is not None:
        return contact.invoice.organization
    if contact.dispute_id is not None:
        return contact.dispute.organization
    organizations = sorted(contact.organizations.all(), key=lambda o: (o.name, o.pk))
    return organizations[0] if organizations else None


def letter_context(contact: CustomerContact) -> dict:
    return {
        "seller": SELLER,
        "contact": contact,
        "person": contact.person,
        "organization": letter_organization(contact),
        "invoice": contact.invoice,
        "dispute": contact.dispute,
        "today": timezone.localdate(),
        # A short reference the person can quote when they answer.
        "reference": str(contact.public_id).split("-")[0].upper(),
    }


def letter_render(*, contact: CustomerContact, template: str, language: str) -> bytes:
    """The letter's PDF in `language` (its words, dates and numbers)."""
    if template not in Letter.Template.values:
        raise ValueError(f"Unknown letter template: {template!r}")
    with translation.override(language):
        html = render_to_string(f"contacts/letters/{template}.html", letter_context(contact))
    return render_pdf(html)
