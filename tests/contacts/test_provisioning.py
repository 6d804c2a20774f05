import json

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from contacts.models import Contact, Organization
from orders.models import Order

ORDER = {
    "number": "SO-9",
    "kind": "order",
    "account_number": "NEW-1",
    "customer_name": "Initech",
    "currency": "EUR",
    "language": "fr",
    "order_date": "2026-05-01",
    "contacts": {
        "finance": ["pay@initech.example"],
        "technical": ["it@initech.example"],
        "executive": ["pay@initech.example"],
    },
}


def _import(tmp_path, documents, name="orders.json"):
    path = tmp_path / name
    path.write_text(json.dumps(documents) if name.endswith(".json") else documents)
    call_command("import_orders", str(path))


@pytest.mark.django_db(transaction=True)
def test_import_provisions_organization_users_and_merged_roles(tmp_path):
    _import(tmp_path, [ORDER])
    organization = Organization.objects.get(account_number="NEW-1")
    assert (organization.name, organization.currency, organization.language) == (
        "Initech",
        "EUR",
        "fr",
    )
    payer = Contact.objects.get(user__email="pay@initech.example")
    assert payer.roles == ["finance", "executive"] and payer.is_admin
    assert sorted(m.to[0] for m in mail.outbox) == ["it@initech.example", "pay@initech.example"]
    welcome = next(m for m in mail.outbox if m.to == ["pay@initech.example"])
    assert "Customer Center" in welcome.subject and "Votre accès" in welcome.subject


@pytest.mark.django_db(transaction=True)
def test_provisioning_the_same_order_twice_changes_and_sends_nothing(tmp_path):
    _import(tmp_path, [ORDER])
    _import(tmp_path, [ORDER])
    assert Order.objects.count() == 1
    assert Contact.objects.count() == 2
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_admin_action_provisions_once(admin_client, tmp_path):
    _import(tmp_path, [ORDER])
    order = Order.objects.get()
    admin_client.post(
        "/admin/orders/order/",
        {"action": "provision_contacts", "_selected_action": [order.pk]},
    )
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_malformed_json_row_imports_nothing_and_names_the_line(tmp_path):
    bad = {**ORDER, "number": "SO-10", "currency": "euro"}
    with pytest.raises(CommandError) as error:
        _import(tmp_path, [ORDER, bad])
    assert "Line 2" in str(error.value) and "currency" in str(error.value)
    assert not Order.objects.exists() and not Organization.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_malformed_csv_names_the_line_and_imports_nothing(tmp_path):
    csv_text = (
        "number,kind,account_number,customer_name,currency,language,order_date,"
        "finance,technical,executive\n"
        "SO-1,order,C-1,Good Co,USD,en,2026-01-01,a@good.example,,\n"
        "SO-2,order,C-2,Bad Co,USD,en,2026-13-45,not-an-email,,\n"
    )
    with pytest.raises(CommandError) as error:
        _import(tmp_path, csv_text, name="orders.csv")
    message = str(error.value)
    assert "Line 3" in message and "order_date" in message and "finance" in message
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_order_without_contacts_is_refused(tmp_path):
    with pytest.raises(CommandError, match="at least one contact"):
        _import(tmp_path, [{**ORDER, "contacts": {}}])


@pytest.mark.django_db
def test_not_json_is_refused_with_its_line(tmp_path):
    path = tmp_path / "orders.json"
    path.write_text('[\n{"number": "SO-1",\n oops}\n]')
    with pytest.raises(CommandError, match="Line 3"):
        call_command("import_orders", str(path))
