from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import ActivityEvent
from invoices.models import Invoice, InvoiceLine
from invoices.services import LineData
from tests.conftest import sign_in
from tests.invoices.factories import make_invoice
from tests.query_budget import assert_flat_query_count


@pytest.fixture
def finance_client(tenants, client):
    return sign_in(client, tenants.fin.user)


def test_list_shows_only_my_invoices_with_status_tabs(tenants, finance_client):
    mine = make_invoice(tenants.org_a, number="A-0001")
    make_invoice(tenants.org_b, number="B-0001")
    page = finance_client.get(reverse("invoices:list"))
    content = page.content.decode()
    assert mine.number in content and "B-0001" not in content
    assert [tab["count"] for tab in page.context["tabs"]] == [1, 0, 1, 0]


def test_search_filters_and_bad_filter_values_do_not_crash(tenants, finance_client):
    make_invoice(tenants.org_a, number="A-1111", amounts=["10.00"])
    make_invoice(tenants.org_a, number="A-2222", amounts=["500.00"])
    content = finance_client.get(reverse("invoices:list"), {"q": "1111"}).content.decode()
    assert "A-1111" in content and "A-2222" not in content
    content = finance_client.get(reverse("invoices:list"), {"min_total": "100"}).content.decode()
    assert "A-2222" in content and "A-1111" not in content
    for bad in (
        {"min_total": "NaN"},
        {"issued_from": "2026-99-99"},
        {"status": "<script>"},
        {"page": "999"},
        {"sort": "nonsense"},
    ):
        assert finance_client.get(reverse("invoices:list"), bad).status_code in (200, 404)


def test_overdue_rows_are_flagged_with_text_not_only_colour(tenants, finance_client):
    from datetime import date, timedelta

    make_invoice(
        tenants.org_a,
        issue_date=date.today() - timedelta(days=60),
        due_date=date.today() - timedelta(days=5),
    )
    content = finance_client.get(reverse("invoices:list")).content.decode()
    assert "row-flagged" in content and "⚠ Overdue" in content


def test_detail_shows_lines_and_balance(tenants, finance_client):
    invoice = make_invoice(
        tenants.org_a,
        lines=[
            LineData("Consulting <b>day</b>", Decimal("2"), Decimal("100.00"), Decimal("10.00")),
        ],
    )
    content = finance_client.get(reverse("invoices:detail", args=[invoice.number])).content.decode()
    assert "Consulting &lt;b&gt;day&lt;/b&gt;" in content
    assert "$220.00" in content


def test_technical_contact_gets_403_and_outsider_404(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("invoices:list")).status_code == 403
    sign_in(client, tenants.charlie.user)
    assert client.get(reverse("invoices:detail", args=[invoice.number])).status_code == 404


def test_list_query_count_is_flat(tenants, finance_client):
    def grow(n):
        for _ in range(n):
            make_invoice(tenants.org_a)

    url = reverse("invoices:list")
    assert_flat_query_count(grow=grow, request=lambda: finance_client.get(url))
    assert_flat_query_count(
        grow=grow,
        request=lambda: finance_client.get(url, {"export": "csv"}),
        small=1010,
        large=1020,
    )


def test_detail_query_count_is_flat_in_lines(tenants, finance_client):
    invoice = make_invoice(tenants.org_a)

    def grow(n):
        start = invoice.lines.count() + 1
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=start + i,
                description=f"L{i}",
                quantity=1,
                unit_price=1,
                amount=1,
            )
            for i in range(n)
        )

    url = reverse("invoices:detail", args=[invoice.number])
    assert_flat_query_count(grow=grow, request=lambda: finance_client.get(url))


def test_dashboard_card_shows_overdue_and_open(tenants, finance_client):
    from datetime import date, timedelta

    make_invoice(
        tenants.org_a,
        amounts=["40.00"],
        issue_date=date.today() - timedelta(days=60),
        due_date=date.today() - timedelta(days=1),
    )
    make_invoice(tenants.org_a, amounts=["60.00"])
    card = next(
        c for c in finance_client.get(reverse("home")).context["cards"] if c["module"] == "invoices"
    )
    assert card["overdue"]["count"] == 1 and card["overdue"]["totals"] == {"USD": Decimal("40.00")}
    assert card["open"]["totals"] == {"USD": Decimal("60.00")}


def test_email_the_list_sends_csv_and_pdf_and_logs_it(
    tenants, finance_client, django_capture_on_commit_callbacks
):
    make_invoice(tenants.org_a, number="A-5555")
    make_invoice(tenants.org_b, number="B-5555")
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(
            reverse("invoices:email_list"),
            {"send_to": "others", "recipients": "colleague@example.com, boss@example.com"},
        )
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.to == ["colleague@example.com", "boss@example.com"]
    assert {a[0] for a in message.attachments} == {"invoices.csv", "invoices.pdf"}
    csv_text = next(a[1] for a in message.attachments if a[0] == "invoices.csv")
    assert "A-5555" in csv_text and "B-5555" not in csv_text
    assert ActivityEvent.objects.filter(
        verb="invoices_emailed", organization=tenants.org_a
    ).exists()


def test_email_the_list_validates_and_rate_limits(tenants, finance_client):
    url = reverse("invoices:email_list")
    bad = finance_client.post(url, {"send_to": "others", "recipients": "not-an-address"})
    assert bad.status_code == 200 and b"not a valid e-mail address" in bad.content
    many = ", ".join(f"p{i}@example.com" for i in range(11))
    assert (
        b"at most 10" in finance_client.post(url, {"send_to": "others", "recipients": many}).content
    )
    injected = finance_client.post(
        url, {"send_to": "others", "recipients": "a@example.com\nBcc: x@example.com"}
    )
    assert injected.status_code == 200
    for _ in range(5):
        finance_client.post(url, {"send_to": "me"})
    finance_client.post(url, {"send_to": "me"}, follow=True)
    assert ActivityEvent.objects.filter(verb="invoices_emailed").count() == 5


def test_email_one_invoice_attaches_its_pdf(
    tenants, finance_client, django_capture_on_commit_callbacks
):
    invoice = make_invoice(tenants.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(reverse("invoices:email", args=[invoice.number]), {"send_to": "me"})
    assert mail.outbox[-1].to == [tenants.fin.user.email]
    assert mail.outbox[-1].attachments[0][0] == f"invoice-{invoice.number}.pdf"


def test_invoices_never_cross_organizations_in_email(tenants, client):
    invoice = make_invoice(tenants.org_a)
    sign_in(client, tenants.charlie.user)
    response = client.post(reverse("invoices:email", args=[invoice.number]), {"send_to": "me"})
    assert response.status_code == 404
    assert Invoice.objects.count() == 1 and mail.outbox == []
