import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from contacts.models import Contact, Organization
from customers.models import ScheduledAction, StaffAction
from invoices.models import Dispute, Invoice, InvoiceLine
from plans.models import Subscription
from tests.contacts.factories import OrganizationFactory
from tests.customers.factories import ScheduledActionFactory
from tests.invoices.factories import make_invoice
from tests.plans.factories import PlanFactory, SubscriptionFactory
from tests.query_budget import assert_flat_query_count

_serial = itertools.count(1)


def _grow_customer(org, staff, n: int) -> None:
    """n more of everything the 360 page shows, and n other customers."""
    batch = [next(_serial) for _ in range(n)]
    plan = PlanFactory()
    Organization.objects.bulk_create(
        Organization(account_number=f"GROW-{i}", name=f"Grown {i}") for i in batch
    )
    users = User.objects.bulk_create(User(email=f"grown{i}@example.com") for i in batch)
    Contact.objects.bulk_create(
        Contact(organization=org, user=user, roles=["finance"], is_admin=i % 2 == 0)
        for i, user in zip(batch, users, strict=True)
    )
    Subscription.objects.bulk_create(
        Subscription(
            organization=org,
            plan=plan,
            quantity=Decimal("1"),
            unit_price=Decimal("10.00"),
            currency="USD" if i % 2 else "EUR",
            frequency=Subscription.Frequency.MONTHLY,
            start_date=date(2026, 1, 1),
            status=Subscription.Status.SUSPENDED if i % 3 == 0 else Subscription.Status.ACTIVE,
        )
        for i in batch
    )
    invoices = Invoice.objects.bulk_create(
        Invoice(
            organization=org,
            number=f"INV-GROW-{i}",
            issue_date=date(2026, 1, 1),
            due_date=date(2026, 2, 1),
            currency="USD" if i % 2 else "EUR",
            total=Decimal("100.00"),
            balance=Decimal("100.00"),
        )
        for i in batch
    )
    lines = InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=1,
            description="Grown",
            quantity=Decimal("1"),
            unit_price=Decimal("100.00"),
            amount=Decimal("100.00"),
        )
        for invoice in invoices
    )
    Dispute.objects.bulk_create(
        Dispute(
            organization=org,
            invoice=line.invoice,
            line=line,
            reason=Dispute.Reason.OTHER,
            message="Wrong",
            amount=Decimal("10.00"),
            opened_by=users[0],
        )
        for line in lines
    )
    StaffAction.objects.bulk_create(
        StaffAction(organization=org, staff_user=staff, action=StaffAction.Kind.RANK_CHANGED)
        for _ in batch
    )
    ScheduledAction.objects.bulk_create(
        ScheduledAction(
            organization=org,
            target_status="inactive",
            run_on=timezone.localdate() + timedelta(days=i),
            reason="Grown",
            created_by=staff,
        )
        for i in batch
    )


@pytest.mark.django_db
def test_customer_360_query_count_is_flat(tenants, staff, staff_client):
    url = reverse("customers:detail", args=[tenants.org_a.account_number])

    def request():
        response = staff_client.get(url)
        assert response.status_code == 200

    assert_flat_query_count(grow=lambda n: _grow_customer(tenants.org_a, staff, n), request=request)


@pytest.mark.django_db
def test_customer_list_and_scheduled_list_query_counts_are_flat(tenants, staff, staff_client):
    for name in ("customers:list", "customers:scheduled_list"):

        def request(name=name):
            assert staff_client.get(reverse(name)).status_code == 200

        assert_flat_query_count(
            grow=lambda n: _grow_customer(tenants.org_a, staff, n), request=request
        )


@pytest.mark.django_db
def test_customer_360_shows_everything(tenants, staff, staff_client):
    org = tenants.org_a
    invoice = make_invoice(org, amounts=["120.00"])
    make_invoice(org, currency="EUR", amounts=["80.00"])
    Dispute.objects.create(
        organization=org,
        invoice=invoice,
        line=invoice.lines.get(),
        reason=Dispute.Reason.WRONG_AMOUNT,
        message="Too much",
        amount=Decimal("20.00"),
        opened_by=tenants.alice.user,
    )
    sub = SubscriptionFactory(organization=org, plan=PlanFactory(name="Cloud Platform"))
    ScheduledActionFactory(organization=org, reason="End of notice period")
    StaffAction.objects.create(
        organization=org, staff_user=staff, action=StaffAction.Kind.RENAMED, reason="Merger"
    )
    page = staff_client.get(reverse("customers:detail", args=[org.account_number]))
    html = page.content.decode()
    for expected in (
        org.name,
        tenants.alice.user.email,
        tenants.bob.user.email,
        "$120.00",
        "€80.00",
        invoice.number,
        "Cloud Platform",
        str(sub.public_id),
        "End of notice period",
        "Merger",
        "Recent customer contacts",
        "View as customer",
    ):
        assert expected in html, expected
    # Nothing of another customer.
    assert tenants.charlie.user.email not in html


@pytest.mark.django_db
def test_rank_filter_and_support_priority_order(staff_client):
    for name, rank in [("Bee", "bronze"), ("Pea", "platinum"), ("Sea", "silver"), ("Gee", "gold")]:
        OrganizationFactory(name=name, rank=rank)
    page = staff_client.get(reverse("customers:list"))
    names = [row.record.name for row in page.context["table"].paginated_rows]
    assert names == ["Pea", "Gee", "Sea", "Bee"]  # Platinum first.

    page = staff_client.get(reverse("customers:list"), {"rank": "silver"})
    assert [row.record.name for row in page.context["table"].paginated_rows] == ["Sea"]
    page = staff_client.get(reverse("customers:list"), {"sort": "-rank"})
    names = [row.record.name for row in page.context["table"].paginated_rows]
    assert names == ["Bee", "Sea", "Gee", "Pea"]


@pytest.mark.django_db
def test_customer_list_searches_name_and_account_number_and_filters_status(staff_client):
    OrganizationFactory(name="Initech", account_number="INI-1")
    OrganizationFactory(name="Hooli", account_number="HOO-1", status="closed")

    def names(**params):
        page = staff_client.get(reverse("customers:list"), params)
        return [row.record.name for row in page.context["table"].paginated_rows]

    assert names(q="initech") == ["Initech"]
    assert names(q="hoo-") == ["Hooli"]
    assert names(status="closed") == ["Hooli"]


@pytest.mark.django_db
def test_closing_from_the_page_asks_for_confirmation_first(tenants, staff_client):
    org = tenants.org_a
    url = reverse("customers:status", args=[org.account_number])
    response = staff_client.post(url, {"status": "closed", "reason": "Contract ended"})
    assert response.status_code == 200
    assert b"Yes, close the account" in response.content
    org.refresh_from_db()
    assert org.status == "active"

    response = staff_client.post(
        url, {"status": "closed", "reason": "Contract ended", "confirm": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[org.account_number])
    org.refresh_from_db()
    assert org.status == "closed"


@pytest.mark.django_db
def test_inactivating_from_the_page_needs_a_reason(tenants, staff_client):
    url = reverse("customers:status", args=[tenants.org_a.account_number])
    response = staff_client.post(url, {"status": "inactive", "reason": ""})
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    response = staff_client.post(url, {"status": "inactive", "reason": "Unpaid"})
    assert response.status_code == 302
    tenants.org_a.refresh_from_db()
    assert tenants.org_a.status == "inactive"


@pytest.mark.django_db
def test_scheduling_from_the_page_and_editing_and_cancelling_it(tenants, staff_client):
    org = tenants.org_a
    run_on = timezone.localdate() + timedelta(days=14)
    response = staff_client.post(
        reverse("customers:status", args=[org.account_number]),
        {"status": "inactive", "run_on": run_on.isoformat(), "reason": "Notice"},
    )
    assert response.status_code == 302
    action = ScheduledAction.objects.get()
    assert (action.target_status, action.run_on, action.reason) == ("inactive", run_on, "Notice")
    org.refresh_from_db()
    assert org.status == "active"

    edit = reverse("customers:scheduled_edit", args=[action.public_id])
    assert staff_client.get(edit).status_code == 200
    later = run_on + timedelta(days=7)
    response = staff_client.post(edit, {"run_on": later.isoformat(), "reason": "Longer"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.run_on, action.reason) == (later, "Longer")

    response = staff_client.post(
        reverse("customers:scheduled_cancel", args=[action.public_id]),
        {"next": reverse("customers:scheduled_list")},
    )
    assert response["Location"] == reverse("customers:scheduled_list")
    action.refresh_from_db()
    assert action.status == ScheduledAction.Status.CANCELLED


@pytest.mark.django_db
def test_past_dates_are_refused_by_the_form(tenants, staff_client):
    response = staff_client.post(
        reverse("customers:status", args=[tenants.org_a.account_number]),
        {"status": "inactive", "run_on": timezone.localdate().isoformat(), "reason": "x"},
    )
    assert response.status_code == 200 and response.context["form"].errors["run_on"]
    assert not ScheduledAction.objects.exists()


@pytest.mark.django_db
def test_service_actions_from_the_page(tenants, staff_client):
    org = tenants.org_a
    sub = SubscriptionFactory(organization=org)

    def act(operation, **data):
        url = reverse(
            "customers:service_action", args=[org.account_number, sub.public_id, operation]
        )
        return staff_client.post(url, data)

    response = act("suspend", reason="")
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == "active"  # No reason, nothing done.

    assert act("suspend", reason="Abuse").status_code == 302
    sub.refresh_from_db()
    assert sub.status == "suspended"

    response = act("terminate", reason="Cancelled")
    assert response.status_code == 200 and b"Yes, terminate it" in response.content
    sub.refresh_from_db()
    assert sub.status == "suspended"
    assert act("terminate", reason="Cancelled", confirm="on").status_code == 302
    sub.refresh_from_db()
    assert sub.status == "terminated"


@pytest.mark.django_db
def test_another_customers_subscription_is_404(tenants, staff_client):
    sub = SubscriptionFactory(organization=tenants.org_b)
    url = reverse(
        "customers:service_action",
        args=[tenants.org_a.account_number, sub.public_id, "suspend"],
    )
    assert staff_client.post(url, {"reason": "x"}).status_code == 404


@pytest.mark.django_db
def test_rename_and_rank_from_the_page(tenants, staff_client):
    org = tenants.org_a
    staff_client.post(reverse("customers:rename", args=[org.account_number]), {"name": "New Co"})
    staff_client.post(reverse("customers:rank", args=[org.account_number]), {"rank": "gold"})
    org.refresh_from_db()
    assert (org.name, org.rank) == ("New Co", "gold")
    page = staff_client.get(reverse("customers:detail", args=[org.account_number]))
    assert "Renamed the account" in page.content.decode()
