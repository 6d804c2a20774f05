"""The billing overview and profile form: validation, the tax-ID lock, roles, activity."""

import pytest
from django.urls import reverse

from billing import profiles
from billing.models import BillingProfile
from contacts.models import ActivityEvent, Organization
from contacts.roles import Role
from portal.models import OutboundEmail
from tests.billing.profile_factories import BillingProfileFactory, PaymentMethodFactory
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.invoices.factories import make_invoice
from tests.query_budget import assert_flat_query_count

pytestmark = pytest.mark.django_db

VALID = {
    "contact_name": "Dana Payer",
    "contact_email": "dana@example.com",
    "contact_phone": "+1 (555) 010-0200",
    "address_line1": "1 Main St",
    "address_line2": "",
    "postal_code": "94105",
    "city": "San Francisco",
    "country": "US",
    "tax_id": "us12-3456789",
    "invoice_recipients": "ap@example.com, Boss@Example.com",
}


@pytest.fixture
def executive(tenants):
    return ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])


def test_overview_shows_the_profile_to_finance_and_executives(client, tenants, executive):
    BillingProfileFactory(
        organization=tenants.org_a, contact_email="billing@a.example", tax_id="DE999"
    )
    PaymentMethodFactory(organization=tenants.org_a, is_default=True, last4="1111")
    for contact in (tenants.fin, executive):
        sign_in(client, contact.user)
        response = client.get(reverse("billing:overview"))
        assert response.status_code == 200
        page = response.content.decode()
        assert "billing@a.example" in page and "DE999" in page and "1111" in page
    assert "Edit billing profile" not in page  # The executive only reads.


def test_overview_without_a_profile_writes_nothing(client, tenants):
    sign_in(client, tenants.fin.user)
    assert client.get(reverse("billing:overview")).status_code == 200
    assert not BillingProfile.objects.exists()


def test_technical_contact_gets_403(client, tenants):
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("billing:overview")).status_code == 403
    assert client.get(reverse("billing:profile")).status_code == 403
    assert client.post(reverse("billing:profile"), VALID).status_code == 403


def test_finance_saves_a_valid_profile_and_it_is_logged(client, tenants):
    sign_in(client, tenants.fin.user)

    response = client.post(reverse("billing:profile"), VALID)

    assert response.status_code == 302 and response["Location"] == reverse("billing:overview")
    profile = BillingProfile.objects.get(organization=tenants.org_a)
    assert profile.contact_email == "dana@example.com"
    assert profile.country == "US" and profile.tax_id == "US12-3456789"
    assert profile.invoice_recipients == ["ap@example.com", "boss@example.com"]
    event = ActivityEvent.objects.get(organization=tenants.org_a, verb="billing_profile_changed")
    assert event.actor == tenants.fin.user
    assert {"contact_email", "country", "tax_id", "invoice_recipients"} <= set(event.data["fields"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contact_email", "not-an-email"),
        ("contact_phone", "call me maybe"),
        ("country", "XX"),
        ("postal_code", "<script>"),
        ("invoice_recipients", "ok@example.com, broken@"),
        ("invoice_recipients", ", ".join(f"p{n}@example.com" for n in range(11))),
    ],
)
def test_invalid_values_are_refused(client, tenants, field, value):
    sign_in(client, tenants.fin.user)

    response = client.post(reverse("billing:profile"), {**VALID, field: value})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not BillingProfile.objects.filter(organization=tenants.org_a).exists()


def test_auto_pay_needs_a_default_card(client, tenants):
    sign_in(client, tenants.fin.user)
    response = client.post(reverse("billing:profile"), {**VALID, "auto_pay": "on"})
    assert "auto_pay" in response.context["form"].errors

    PaymentMethodFactory(organization=tenants.org_a, is_default=True)
    client.post(reverse("billing:profile"), {**VALID, "auto_pay": "on"})
    assert BillingProfile.objects.get(organization=tenants.org_a).auto_pay


def test_tax_id_change_after_an_invoice_becomes_a_request_to_staff(client, tenants, settings):
    settings.STAFF_NOTIFICATIONS_EMAIL = "billing-staff@seller.example"
    BillingProfileFactory(organization=tenants.org_a, tax_id="DE111")
    make_invoice(tenants.org_a)
    sign_in(client, tenants.fin.user)

    page = client.get(reverse("billing:profile")).content.decode()
    assert "Request a tax ID change" in page
    response = client.post(reverse("billing:profile"), {**VALID, "tax_id": "de222"})

    assert response.status_code == 302
    profile = BillingProfile.objects.get(organization=tenants.org_a)
    assert (profile.tax_id, profile.requested_tax_id) == ("DE111", "DE222")
    email = OutboundEmail.objects.get(template="tax_id_change_requested")
    assert email.to == ["billing-staff@seller.example"]
    assert "DE222" in email.body_text and "DE111" in email.body_text
    assert ActivityEvent.objects.filter(verb="tax_id_change_requested", target="DE222").exists()
    # Sending the same request again queues nothing new.
    client.post(reverse("billing:profile"), {**VALID, "tax_id": "DE222"})
    assert OutboundEmail.objects.filter(template="tax_id_change_requested").count() == 1


def test_staff_approve_the_requested_tax_id(tenants, admin_user):
    profile = BillingProfileFactory(organization=tenants.org_a, tax_id="DE111")
    profile.requested_tax_id = "DE222"
    profile.save()

    assert profiles.billing_profile_tax_id_decide(
        profile=profile, staff_user=admin_user, approve=True
    )

    assert (profile.tax_id, profile.requested_tax_id) == ("DE222", "")
    assert not profiles.billing_profile_tax_id_decide(
        profile=profile, staff_user=admin_user, approve=True
    )


def test_tax_id_changes_freely_before_any_invoice(client, tenants):
    BillingProfileFactory(organization=tenants.org_a, tax_id="DE111")
    sign_in(client, tenants.fin.user)

    client.post(reverse("billing:profile"), {**VALID, "tax_id": "DE222"})

    profile = BillingProfile.objects.get(organization=tenants.org_a)
    assert (profile.tax_id, profile.requested_tax_id) == ("DE222", "")
    assert not OutboundEmail.objects.filter(template="tax_id_change_requested").exists()


def test_executive_reads_the_form_but_cannot_post(client, tenants, executive):
    sign_in(client, executive.user)

    page = client.get(reverse("billing:profile"))
    assert page.status_code == 200
    assert all(field.disabled for field in page.context["form"].fields.values())
    assert client.post(reverse("billing:profile"), VALID).status_code == 403
    assert not BillingProfile.objects.exists()


def test_closed_organization_cannot_change_the_profile(client, tenants):
    Organization.objects.filter(pk=tenants.org_a.pk).update(status=Organization.Status.CLOSED)
    sign_in(client, tenants.fin.user)

    assert client.post(reverse("billing:profile"), VALID).status_code == 403


def test_overview_query_count_is_flat(client, tenants):
    BillingProfileFactory(organization=tenants.org_a)
    PaymentMethodFactory(organization=tenants.org_a, is_default=True)
    sign_in(client, tenants.fin.user)

    assert_flat_query_count(
        grow=lambda n: PaymentMethodFactory.create_batch(n, organization=tenants.org_a),
        request=lambda: client.get(reverse("billing:overview")),
    )
