from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from contacts.models import ActivityEvent, Organization
from invoices import services
from invoices.admin import InvoiceAdmin
from invoices.models import Dispute, Invoice, InvoiceLine, InvoiceStatus
from invoices.services import InvoiceError, LineData
from tests.conftest import sign_in
from tests.invoices.factories import make_invoice
from tests.query_budget import assert_flat_query_count


def _lines(*amounts: str) -> list[LineData]:
    """Lines with 20 % tax: "100.00" is a 120.00 charge."""
    return [
        LineData(
            description=f"Cloud storage {i}",
            quantity=Decimal("1"),
            unit_price=Decimal(amount),
            tax_rate=Decimal("20"),
        )
        for i, amount in enumerate(amounts, start=1)
    ]


@pytest.fixture
def invoice(tenants):
    # Line 1: 100.00 + 20.00 tax; line 2: 50.00 + 10.00 tax. Total 180.00.
    return make_invoice(tenants.org_a, number="INV-A-1", lines=_lines("100.00", "50.00"))


@pytest.fixture
def url(invoice):
    return reverse("invoices:dispute", args=[invoice.number, 1])


def _post(client, url, **data):
    return client.post(
        url,
        {"reason": "wrong_amount", "message": "We cancelled in May.", "amount": "120.00", **data},
    )


def _open(tenants, invoice, position=1, amount="120.00") -> Dispute:
    return services.dispute_open(
        contact=tenants.fin,
        line=invoice.lines.get(position=position),
        reason=Dispute.Reason.CANCELLED,
        message="Cancelled.",
        amount=Decimal(amount),
    )


# --- Opening a dispute ---------------------------------------------------------------------------


def test_form_shows_the_charge_with_its_total_as_default(tenants, client, url):
    sign_in(client, tenants.fin.user)
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["form"]["amount"].value() == Decimal("120.00")
    assert "Cloud storage 1" in response.text
    assert "$120.00" in response.text


def test_opening_a_dispute_records_it_and_the_activity(tenants, client, url, invoice):
    sign_in(client, tenants.fin.user)
    response = _post(client, url, amount="30.50")

    assert response.status_code == 302
    assert response["Location"] == reverse("invoices:detail", args=[invoice.number])
    dispute = Dispute.objects.get()
    assert (dispute.organization, dispute.invoice, dispute.line.position) == (
        tenants.org_a,
        invoice,
        1,
    )
    assert dispute.amount == Decimal("30.50")
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.opened_by == tenants.fin.user
    event = ActivityEvent.objects.get(verb=ActivityEvent.Verb.DISPUTE_OPENED)
    assert (event.organization, event.actor, event.target) == (
        tenants.org_a,
        tenants.fin.user,
        invoice.number,
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your dispute was opened. We will review it and keep you informed here."
    ]


def test_executive_may_dispute_too(tenants, client, url):
    sign_in(client, tenants.alice.user)
    assert _post(client, url).status_code == 302
    assert Dispute.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", "must be more than zero"),
        ("0.00", "must be more than zero"),
        ("-5", "must be more than zero"),
        ("120.01", "can't be more than the line's total, $120.00"),
        ("NaN", "Enter an amount as a number"),
        ("Infinity", "Enter an amount as a number"),
        ("-Infinity", "Enter an amount as a number"),
        ("1e30", "far too large"),
        ("99999999999999999999999999999999", "far too large"),
        ("12.345", "at most 2 decimal places"),
        ("twelve", "Enter an amount as a number"),
        ("", "Enter the amount you dispute"),
    ],
)
def test_invalid_amount_is_a_form_error(tenants, client, url, amount, error):
    sign_in(client, tenants.fin.user)
    response = _post(client, url, amount=amount)
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors["amount"])
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("message", ""), ("message", "x" * 2001), ("reason", "bogus")]
)
def test_reason_and_message_are_checked(tenants, client, url, field, value):
    sign_in(client, tenants.fin.user)
    response = _post(client, url, **{field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Dispute.objects.exists()


def test_second_open_dispute_on_a_line_is_refused(tenants, client, url, invoice):
    _open(tenants, invoice)
    sign_in(client, tenants.alice.user)

    assert "This line already has an open dispute." in client.get(url).text
    response = _post(client, url)
    assert response.status_code == 200
    assert "This line already has an open dispute." in response.text
    assert Dispute.objects.count() == 1


def test_service_refuses_a_second_open_dispute(tenants, invoice):
    """The database constraint backs the view's check when two requests race."""
    _open(tenants, invoice)
    with pytest.raises(InvoiceError, match="already has an open dispute"):
        _open(tenants, invoice)
    assert Dispute.objects.count() == 1


def test_a_line_may_be_disputed_again_once_resolved(tenants, client, url, invoice):
    dispute = _open(tenants, invoice)
    services.dispute_resolve(dispute=dispute, status=Dispute.Status.REJECTED, note="Correct.")
    sign_in(client, tenants.fin.user)
    assert _post(client, url).status_code == 302
    assert Dispute.objects.count() == 2


def test_a_discount_line_has_nothing_to_dispute(tenants, client):
    lines = [*_lines("100.00"), LineData("Loyalty discount", Decimal("1"), Decimal("-10.00"))]
    invoice = make_invoice(tenants.org_a, lines=lines)
    url = reverse("invoices:dispute", args=[invoice.number, 2])
    sign_in(client, tenants.fin.user)
    assert "there is nothing to dispute" in client.get(url).text
    assert _post(client, url, amount="5.00").status_code == 200
    assert not Dispute.objects.exists()


def test_technical_colleague_gets_403(tenants, client, url):
    sign_in(client, tenants.bob.user)
    assert client.get(url).status_code == 403
    assert _post(client, url).status_code == 403
    assert not Dispute.objects.exists()


def test_outsider_gets_404(tenants, client, url):
    sign_in(client, tenants.charlie.user)
    assert client.get(url).status_code == 404
    assert _post(client, url).status_code == 404
    assert not Dispute.objects.exists()


def test_missing_line_gets_404(tenants, client, invoice):
    sign_in(client, tenants.fin.user)
    assert client.get(reverse("invoices:dispute", args=[invoice.number, 3])).status_code == 404


def test_closed_organization_cannot_dispute(tenants, client, url):
    Organization.objects.filter(pk=tenants.org_a.pk).update(status=Organization.Status.CLOSED)
    sign_in(client, tenants.fin.user)
    response = client.get(url)
    assert response.status_code == 403
    assert "This account is closed" in response.text
    assert _post(client, url).status_code == 403
    assert not Dispute.objects.exists()


def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- The disputes list ---------------------------------------------------------------------------


def test_list_shows_only_the_organizations_disputes(tenants, client, invoice):
    _open(tenants, invoice)
    other = make_invoice(tenants.org_b, number="INV-B-1", lines=_lines("100.00"))
    other_line = other.lines.get()
    other_line.description = "Secret look-alike charge"
    other_line.save(update_fields=["description"])
    services.dispute_open(
        contact=tenants.charlie,
        line=other_line,
        reason=Dispute.Reason.OTHER,
        message="B's own dispute",
        amount=Decimal("1.00"),
    )

    sign_in(client, tenants.fin.user)
    response = client.get(reverse("invoices:disputes"))
    assert response.status_code == 200
    assert "INV-A-1" in response.text
    assert reverse("invoices:detail", args=["INV-A-1"]) in response.text
    assert "$120.00" in response.text
    assert "Cloud storage 1" in response.text
    assert "INV-B-1" not in response.text
    assert "Secret look-alike charge" not in response.text


def test_list_shows_resolution_and_credit(tenants, client, invoice):
    dispute = _open(tenants, invoice)
    services.dispute_resolve(
        dispute=dispute,
        status=Dispute.Status.RESOLVED_CREDIT,
        note="Sorry, we credited the month.",
        credit_amount=Decimal("40.00"),
    )
    sign_in(client, tenants.fin.user)
    text = client.get(reverse("invoices:disputes")).text
    assert "Credit of $40.00" in text
    assert "Sorry, we credited the month." in text
    assert "Resolved with a credit" in text


def test_empty_list_says_how_to_dispute(tenants, client):
    sign_in(client, tenants.fin.user)
    response = client.get(reverse("invoices:disputes"))
    assert "No disputed charges." in response.text


def test_technical_colleague_cannot_see_the_list(tenants, client):
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("invoices:disputes")).status_code == 403


def test_list_query_count_is_flat(tenants, client):
    def grow(n):
        invoice = make_invoice(tenants.org_a, lines=_lines("10.00"))
        lines = InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=f"Extra {position}",
                quantity=Decimal("1"),
                unit_price=Decimal("10"),
                amount=Decimal("10.00"),
            )
            for position in range(2, n + 2)
        )
        Dispute.objects.bulk_create(
            Dispute(
                organization=tenants.org_a,
                invoice=invoice,
                line=line,
                reason=Dispute.Reason.DUPLICATE,
                message="Twice",
                amount=Decimal("10.00"),
                opened_by=tenants.fin.user,
            )
            for line in lines
        )

    sign_in(client, tenants.fin.user)
    url = reverse("invoices:disputes")
    assert_flat_query_count(grow=grow, request=lambda: client.get(url))
    assert_flat_query_count(grow=grow, request=lambda: client.get(url, {"sort": "-amount"}))


# --- Staff resolution (service) ------------------------------------------------------------------


def test_credit_reduces_the_balance_through_the_totals_service(tenants, invoice):
    dispute = _open(tenants, invoice)
    services.dispute_resolve(
        dispute=dispute,
        status=Dispute.Status.RESOLVED_CREDIT,
        note="Agreed.",
        credit_amount=Decimal("120.00"),
    )
    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert invoice.credits_applied == Decimal("120.00")
    assert invoice.balance == Decimal("60.00")
    assert invoice.status == InvoiceStatus.OPEN
    assert dispute.status == Dispute.Status.RESOLVED_CREDIT
    assert dispute.credit_amount == Decimal("120.00")
    assert dispute.resolved_at is not None


def test_full_credit_closes_the_invoice(tenants):
    invoice = make_invoice(tenants.org_a, lines=_lines("100.00"))
    dispute = _open(tenants, invoice)
    services.dispute_resolve(
        dispute=dispute,
        status=Dispute.Status.RESOLVED_CREDIT,
        note="Agreed.",
        credit_amount=Decimal("120.00"),
    )
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0.00"), InvoiceStatus.CLOSED)
    assert invoice.history.last().to_status == InvoiceStatus.CLOSED


def test_credit_above_the_disputed_amount_is_refused(tenants, invoice):
    dispute = _open(tenants, invoice, amount="50.00")
    with pytest.raises(InvoiceError, match="at most the disputed amount"):
        services.dispute_resolve(
            dispute=dispute,
            status=Dispute.Status.RESOLVED_CREDIT,
            note="Too generous.",
            credit_amount=Decimal("50.01"),
        )
    invoice.refresh_from_db()
    dispute.refresh_from_db()
    assert (invoice.balance, invoice.credits_applied) == (Decimal("180.00"), Decimal("0.00"))
    assert dispute.status == Dispute.Status.OPEN


def test_resolving_twice_is_refused(tenants, invoice):
    dispute = _open(tenants, invoice)
    resolve = {
        "dispute": dispute,
        "status": Dispute.Status.RESOLVED_CREDIT,
        "note": "Agreed.",
        "credit_amount": Decimal("10.00"),
    }
    services.dispute_resolve(**resolve)
    with pytest.raises(InvoiceError, match="already resolved"):
        services.dispute_resolve(**resolve)
    invoice.refresh_from_db()
    assert invoice.credits_applied == Decimal("10.00")


# --- Django admin --------------------------------------------------------------------------------


def _resolve_url(dispute):
    return reverse("admin:invoices_dispute_resolve", args=[dispute.pk])


def test_staff_open_the_dispute_and_its_resolve_page(tenants, invoice, admin_client):
    dispute = _open(tenants, invoice)
    change = admin_client.get(reverse("admin:invoices_dispute_change", args=[dispute.pk]))
    assert change.status_code == 200
    assert _resolve_url(dispute) in change.text
    assert 'name="_save"' not in change.text  # Nothing is edited directly.
    assert admin_client.get(_resolve_url(dispute)).status_code == 200
    assert admin_client.get(reverse("admin:invoices_dispute_changelist")).status_code == 200


def test_staff_resolve_with_credit_in_the_admin(tenants, invoice, admin_client):
    dispute = _open(tenants, invoice)
    response = admin_client.post(
        _resolve_url(dispute),
        {"status": "resolved_credit", "credit_amount": "120.00", "note": "Agreed."},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED_CREDIT
    assert dispute.resolution_note == "Agreed."
    assert (invoice.balance, invoice.credits_applied) == (Decimal("60.00"), Decimal("120.00"))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"credit_amount": "120.01"}, "at most the disputed amount"),
        ({"credit_amount": ""}, "Enter the credit to grant."),
        ({"credit_amount": "NaN"}, "Enter an amount as a number"),
        ({"note": ""}, "Explain the decision to the customer."),
    ],
)
def test_admin_shows_a_refused_credit_as_a_form_error(tenants, invoice, admin_client, data, error):
    dispute = _open(tenants, invoice)
    response = admin_client.post(
        _resolve_url(dispute),
        {"status": "resolved_credit", "credit_amount": "10.00", "note": "Agreed.", **data},
    )
    assert response.status_code == 200
    assert error in response.text
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert invoice.credits_applied == Decimal("0.00")


def test_admin_refuses_to_resolve_twice(tenants, invoice, admin_client):
    dispute = _open(tenants, invoice)
    data = {"status": "resolved_credit", "credit_amount": "10.00", "note": "Agreed."}
    assert admin_client.post(_resolve_url(dispute), data).status_code == 302
    response = admin_client.post(_resolve_url(dispute), data)
    assert response.status_code == 200
    assert "This dispute is already resolved." in response.text
    invoice.refresh_from_db()
    assert invoice.credits_applied == Decimal("10.00")


def test_admin_reject_and_mark_under_review(tenants, invoice, admin_client):
    first = _open(tenants, invoice, position=1)
    second = _open(tenants, invoice, position=2, amount="60.00")
    changelist = reverse("admin:invoices_dispute_changelist")
    response = admin_client.post(
        changelist, {"action": "mark_under_review", "_selected_action": [first.pk, second.pk]}
    )
    assert response.status_code == 302
    assert set(Dispute.objects.values_list("status", flat=True)) == {"under_review"}

    response = admin_client.post(
        _resolve_url(second), {"status": "rejected", "note": "The charge is right."}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.status, second.credit_amount) == (Dispute.Status.REJECTED, Decimal("0.00"))
    invoice.refresh_from_db()
    assert invoice.credits_applied == Decimal("0.00")


def test_invoice_admin_cannot_delete(tenants, invoice, admin_client, rf, admin_user):
    changelist = admin_client.get(reverse("admin:invoices_invoice_changelist"))
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.text
    assert (
        admin_client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).status_code
        == 200
    )
    delete = admin_client.post(reverse("admin:invoices_invoice_delete", args=[invoice.pk]))
    assert delete.status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()

    request = rf.get("/")
    request.user = admin_user
    model_admin = InvoiceAdmin(Invoice, admin_site=None)
    assert not model_admin.has_delete_permission(request, invoice)
    assert not model_admin.has_add_permission(request)
