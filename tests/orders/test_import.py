import json
from datetime import datetime, time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from contacts.models import Contact, Organization
from orders.models import Order, OrderLine, OrderStatusEvent

ORDER = {
    "number": "SO-500",
    "kind": "order",
    "account_number": "IMP-1",
    "customer_name": "Importers Inc",
    "currency": "USD",
    "language": "en",
    "order_date": "2026-03-02",
    "contacts": {"technical": ["it@importers.example"], "finance": ["pay@importers.example"]},
    "lines": [
        {"product": "Cloud Platform", "quantity": 2, "unit_price": 100.00, "tax_rate": 19},
        {"product": "Storage (TB)", "quantity": "1.5", "unit_price": "33.3333", "tax_rate": 7.5},
        {"product": "Setup", "quantity": 1, "unit_price": "250"},
    ],
}


def _import(tmp_path, documents, name="orders.json"):
    path = tmp_path / name
    path.write_text(json.dumps(documents) if name.endswith(".json") else documents)
    call_command("import_orders", str(path))


def test_import_stores_lines_totals_and_the_first_step(tmp_path, db):
    _import(tmp_path, [ORDER])
    order = Order.objects.get(number="SO-500")
    lines = list(order.lines.order_by("position"))
    assert [(line.position, line.product) for line in lines] == [
        (1, "Cloud Platform"),
        (2, "Storage (TB)"),
        (3, "Setup"),
    ]
    # 200.00 + 50.00 (1.5 × 33.3333 = 49.99995) + 250.00; tax 38.00 + 3.75 + 0.
    assert [line.amount for line in lines] == [
        Decimal("200.00"),
        Decimal("50.00"),
        Decimal("250.00"),
    ]
    assert (order.subtotal, order.tax_total, order.total) == (
        Decimal("500.00"),
        Decimal("41.75"),
        Decimal("541.75"),
    )
    assert isinstance(order.total, Decimal)
    event = order.events.get()
    assert event.status == "submitted" and event.changed_by is None
    assert timezone.localtime(event.changed_at).date().isoformat() == "2026-03-02"
    assert order.payment_status == Order.PaymentStatus.NOT_DUE


def test_a_new_order_arrives_in_its_documented_status(tmp_path, db):
    _import(tmp_path, [{**ORDER, "status": "provisioning", "payment_status": "awaiting"}])
    order = Order.objects.get(number="SO-500")
    assert order.status == "provisioning" and order.is_awaiting_payment
    assert list(order.events.values_list("status", "reason")) == [
        ("submitted", ""),
        ("provisioning", "Imported"),
    ]


def test_a_known_order_with_a_new_status_moves_through_the_service(
    tmp_path, db, django_capture_on_commit_callbacks
):
    _import(tmp_path, [ORDER])
    Contact.objects.filter(user__email="it@importers.example").update(notify_order_updates=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _import(tmp_path, [{**ORDER, "status": "booked"}])
    order = Order.objects.get(number="SO-500")
    assert order.status == "booked"
    event = order.events.latest("changed_at", "id")
    assert (event.status, event.changed_by, event.reason) == ("booked", None, "Imported")
    assert [m.to for m in mail.outbox] == [["it@importers.example"]]
    # The document itself is not re-read: lines stay as first imported.
    assert order.lines.count() == 3


def test_a_refused_status_change_names_the_line_and_imports_nothing(tmp_path, db):
    _import(tmp_path, [ORDER])
    other = {**ORDER, "number": "SO-501"}
    with pytest.raises(CommandError) as error:
        _import(tmp_path, [other, {**ORDER, "status": "completed"}])
    message = str(error.value)
    assert "Line 2: status:" in message and "can't move from Submitted to Completed" in message
    assert not Order.objects.filter(number="SO-501").exists()
    assert Order.objects.get(number="SO-500").status == "submitted"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([{"product": "X", "quantity": "lots", "unit_price": 1}], "item 1: quantity:"),
        (
            [{"product": "X", "quantity": 1, "unit_price": 1}, {"quantity": 1, "unit_price": 1}],
            "item 2: product:",
        ),
        ([{"product": "X", "quantity": 1, "unit_price": -5}], "item 1: unit_price:"),
        ([{"product": "X", "quantity": 1, "unit_price": 1, "tax_rate": 150}], "tax_rate"),
        ([{"product": "X", "quantity": 0, "unit_price": 1}], "item 1: quantity:"),
        ("two boxes", "as a list of objects"),
        ([1, 2], "as a list of objects"),
    ],
)
def test_malformed_lines_name_the_line_and_import_nothing(tmp_path, db, lines, expected):
    good = {**ORDER, "number": "SO-600"}
    with pytest.raises(CommandError) as error:
        _import(tmp_path, [good, {**ORDER, "lines": lines}])
    assert "Line 2: lines:" in str(error.value) and expected in str(error.value)
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert not Organization.objects.exists() and mail.outbox == []


def test_unknown_status_and_payment_status_are_refused(tmp_path, db):
    with pytest.raises(CommandError) as error:
        _import(tmp_path, [{**ORDER, "status": "shipped", "payment_status": "paid"}])
    assert "Line 1: status:" in str(error.value)
    assert "Line 1: payment_status:" in str(error.value)
    assert not Order.objects.exists()


def test_csv_documents_may_carry_a_status_but_not_lines(tmp_path, db):
    header = (
        "number,kind,account_number,customer_name,currency,language,order_date,"
        "finance,technical,executive,status,payment_status"
    )
    _import(
        tmp_path,
        f"{header}\nSO-700,order,C-7,Csv Co,EUR,de,2026-04-01,pay@csv.example,,,booked,awaiting\n",
        name="orders.csv",
    )
    order = Order.objects.get(number="SO-700")
    assert (order.status, order.payment_status, order.total) == (
        "booked",
        "awaiting",
        Decimal("0.00"),
    )
    with pytest.raises(CommandError, match="Line 2: lines:"):
        _import(
            tmp_path,
            f"{header},lines\nSO-701,order,C-7,Csv Co,EUR,de,2026-04-01,pay@csv.example,,,,,x\n",
            name="orders.csv",
        )


def test_the_first_step_is_dated_the_order_date(tmp_path, db):
    _import(tmp_path, [{**ORDER, "order_date": "2026-01-31"}])
    event = OrderStatusEvent.objects.get()
    assert event.changed_at == timezone.make_aware(
        datetime.combine(datetime(2026, 1, 31).date(), time.min)
    )
