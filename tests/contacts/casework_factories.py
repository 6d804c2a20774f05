"""Builders for the customer contact log tests: everything through the real services."""

from decimal import Decimal

from contacts import casework
from contacts.models import (
    CharacteristicType,
    CustomerContact,
    CustomerContactType,
    Organization,
)
from contacts.roles import Role
from invoices.models import Dispute
from invoices.services import dispute_open
from tests.accounts.factories import UserFactory
from tests.contacts.factories import ContactFactory, OrganizationFactory
from tests.customers.factories import make_staff
from tests.invoices.factories import make_invoice


def contact_type(class_code: str = "billing", code: str = "billing_question"):
    """A default type (the defaults are re-created: transactional tests flush the table)."""
    casework.contact_types_ensure()
    return CustomerContactType.objects.select_related("contact_class").get(
        contact_class__code=class_code, code=code
    )


def make_person(*organizations: Organization, language: str = "en", **fields):
    """A customer user who is an active contact of each organization."""
    person = UserFactory(language=language, **fields)
    for organization in organizations:
        ContactFactory(organization=organization, user=person, roles=[Role.FINANCE])
    return person


def make_customer_contact(
    *,
    person=None,
    staff=None,
    rank: str = Organization.Rank.BRONZE,
    type_code: str = "billing_question",
    channel: str = CustomerContact.Channel.PHONE,
    **fields,
) -> CustomerContact:
    if person is None:
        person = make_person(OrganizationFactory(rank=rank))
    return casework.customer_contact_create(
        person=person,
        contact_type=contact_type(code=type_code),
        channel=channel,
        staff_user=staff or make_staff(),
        **fields,
    )


def characteristic_type(
    code: str = "promised_amount",
    value_type: str = CharacteristicType.ValueType.NUMBER,
    choices: list[str] | None = None,
    label: str | None = None,
) -> CharacteristicType:
    return CharacteristicType.objects.create(
        code=code,
        label=label or code.replace("_", " ").capitalize(),
        value_type=value_type,
        choices=choices or [],
    )


def make_dispute(organization: Organization, *, person=None, amount: str = "40.00") -> Dispute:
    """A dispute a customer opened through the invoices service."""
    if person is None:
        person = make_person(organization)
    member = person.contacts.get(organization=organization)
    invoice = make_invoice(organization, amounts=["100.00"])
    return dispute_open(
        contact=member,
        line=invoice.lines.get(),
        reason=Dispute.Reason.WRONG_AMOUNT,
        message="The quantity is wrong.",
        amount=Decimal(amount),
    )
