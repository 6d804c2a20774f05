import csv
import io
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Organization
from contacts.roles import Role
from contacts.services import ProvisionResult, organization_provision
from orders.forms import OrderDocumentForm
from orders.models import Order, OrderContact

CSV_COLUMNS = [
    "number",
    "kind",
    "account_number",
    "customer_name",
    "currency",
    "language",
    "order_date",
    "finance",
    "technical",
    "executive",
]


class OrderImportError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: list[str]
    unchanged: list[str]
    provisioned: list[ProvisionResult]


def order_documents_parse(*, content: str, file_format: str) -> list[tuple[int, dict]]:
    """(line number, raw row) pairs from a JSON array or a CSV file with a header row."""
    if file_format == "json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise OrderImportError(
                [
                    _("Line %(line)s: not valid JSON (%(error)s).")
                    % {"line": exc.lineno, "error": exc.msg}
                ]
            ) from None
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise OrderImportError([_("The JSON file must hold a list of order objects.")])
        rows = []
        for index, row in enumerate(data, start=1):
            flat = {k: v for k, v in row.items() if k != "contacts"}
            contacts = row.get("contacts") or {}
            if not isinstance(contacts, dict):
                contacts = {"invalid": contacts}
            flat.update({role: contacts.get(role) for role in Role.values})
            rows.append((index, flat))
        return rows
    if file_format == "csv":
        reader = csv.DictReader(io.StringIO(content))
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise OrderImportError(
                [
                    _("Line 1: missing columns: %(columns)s.")
                    % {"columns": ", ".join(sorted(missing))}
                ]
            )
        return [(reader.line_num, dict(row)) for row in reader]
    raise OrderImportError([_("Unknown file format; use .json or .csv.")])


def orders_import(*, rows: list[tuple[int, dict]]) -> ImportResult:
    """Validate every row first; import all of them, or nothing and every error by line."""
    errors, documents, seen = [], [], set()
    for line, row in rows:
        form = OrderDocumentForm(row)
        if not form.is_valid():
            for field, messages in form.errors.items():
                label = "" if field == "__all__" else f"{field}: "
                errors.extend(f"Line {line}: {label}{message}" for message in messages)
            continue
        if form.cleaned_data["number"] in seen:
            errors.append(f"Line {line}: number: {_('appears twice in this file.')}")
        seen.add(form.cleaned_data["number"])
        documents.append(form.cleaned_data)
    if errors:
        raise OrderImportError(errors)
    if not documents:
        raise OrderImportError([_("The file holds no orders.")])
    created, unchanged, provisioned = [], [], []
    with transaction.atomic():
        for document in documents:
            order, was_created = order_record(document=document)
            (created if was_created else unchanged).append(order.number)
            provisioned.append(order_provision_contacts(order=order))
    return ImportResult(created=created, unchanged=unchanged, provisioned=provisioned)


def order_record(*, document: dict) -> tuple[Order, bool]:
    """Store an order document once; a known number is left as it is."""
    existing = Order.objects.filter(number=document["number"]).first()
    if existing:
        return existing, False
    organization, _created = Organization.objects.get_or_create(
        account_number=document["account_number"],
        defaults={
            "name": document["customer_name"],
            "currency": document["currency"],
            "language": document["language"],
        },
    )
    order = Order.objects.create(
        number=document["number"],
        kind=document["kind"],
        organization=organization,
        order_date=document["order_date"],
        currency=document["currency"],
    )
    OrderContact.objects.bulk_create(
        OrderContact(order=order, role=role, email=email)
        for role in Role.values
        for email in dict.fromkeys(document.get(role) or [])
    )
    return order, True


def order_provision_contacts(*, order: Order) -> ProvisionResult:
    """Give the order's contact e-mails access to its organization (idempotent)."""
    organization = order.organization
    result = organization_provision(
        account_number=organization.account_number,
        name=organization.name,
        currency=organization.currency,
        language=organization.language,
        contacts_by_role=order.contacts_by_role(),
    )
    if order.provisioned_at is None:
        Order.objects.filter(pk=order.pk, provisioned_at__isnull=True).update(
            provisioned_at=timezone.now()
        )
    return result
