"""The contract summary PDF, read back with pdftotext, in the organization's language."""

from datetime import date
from decimal import Decimal

from django.urls import reverse

from contracts.pdf import contract_pdf
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory, OrganizationFactory
from tests.contracts.factories import (
    ContractRequestFactory,
    PlanFactory,
    SubscriptionFactory,
    make_contract,
)
from tests.invoices.test_pdf import pdf_text, squeezed


def test_pdf_in_german_for_a_german_organization(db):
    organization = OrganizationFactory(currency="EUR", language="de", account_number="GLX-9")
    ContactFactory(organization=organization)
    contract = make_contract(
        organization,
        number="C-GLX-77",
        value=Decimal("12345.67"),
        end_date=date(2030, 3, 31),
        auto_renew=True,
    )
    SubscriptionFactory(
        contract=contract,
        plan=PlanFactory(name="Cloud Platform"),
        quantity=Decimal("2.5"),
        unit_price=Decimal("1000.0125"),
    )
    ContractRequestFactory(contract=contract, kind="cancellation")
    text = pdf_text(contract_pdf(contract))
    assert "C-GLX-77" in text
    assert "12.345,67 €" in text
    assert "31. März 2030" in text
    assert "Cloud Platform" in text
    assert "1.000,0125 €" in text  # The unit price keeps its digits.
    assert "2.500,03 €" in text  # 2.5 × 1,000.0125 per period, rounded once.
    assert "2,5" in text
    assert squeezed("GLX-9") in squeezed(text)


def test_pdf_in_english_with_money_in_dollars(tenants):
    contract = make_contract(tenants.org_a, number="C-ACME-1", value=Decimal("9876.5"))
    text = pdf_text(contract_pdf(contract))
    assert "C-ACME-1" in text and "$9,876.50" in text


def test_pdf_download_is_an_attachment(tenants, client):
    contract = make_contract(tenants.org_a, number="C-DL-1")
    sign_in(client, tenants.bob.user)
    response = client.get(reverse("contracts:pdf", args=[contract.number]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="contract-C-DL-1.pdf"' in response["Content-Disposition"]
    assert "C-DL-1" in pdf_text(response.content)
