"""Customer contacts: attached to the person and their organizations, an append-only log,
typed characteristics, and the status of a case file."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import casework
from contacts.casework import CaseworkError
from contacts.models import (
    AppendOnlyError,
    CharacteristicType,
    CustomerContact,
    CustomerContactLogEntry,
    Organization,
)
from tests.contacts.casework_factories import (
    characteristic_type,
    contact_type,
    make_customer_contact,
    make_person,
    make_staff,
)
from tests.contacts.factories import OrganizationFactory
from tests.invoices.factories import make_invoice
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db
Kind = CustomerContactLogEntry.Kind


@pytest.fixture
def staff():
    return make_staff(name="Sam Staff")


# --- Attached to the person ----------------------------------------------------------------


def test_a_contact_belongs_to_the_person_and_all_their_active_organizations(staff):
    acme, globex, former = OrganizationFactory(), OrganizationFactory(), OrganizationFactory()
    person = make_person(acme, globex, former)
    person.contacts.filter(organization=former).update(removed_at=timezone.now())

    contact = casework.customer_contact_create(
        person=person,
        contact_type=contact_type(),
        channel=CustomerContact.Channel.PHONE,
        staff_user=staff,
        notes="  Asked about the invoice.  ",
    )

    assert contact.person == person
    assert set(contact.organizations.all()) == {acme, globex}
    assert contact.contact_class.code == "billing"
    assert contact.status == CustomerContact.Status.OPEN
    assert contact.created_by == staff
    assert contact.notes == "Asked about the invoice."
    # The person's contacts, wherever they came from.
    assert list(person.customer_contacts.all()) == [contact]


def test_the_organizations_are_kept_as_they_were_when_the_person_leaves(staff):
    acme = OrganizationFactory()
    person = make_person(acme)
    contact = make_customer_contact(person=person, staff=staff)

    person.contacts.update(removed_at=timezone.now())

    assert list(contact.organizations.all()) == [acme]


def test_staff_can_narrow_the_organizations_but_not_to_foreign_ones(staff):
    acme, globex = OrganizationFactory(), OrganizationFactory()
    person = make_person(acme, globex)

    contact = make_customer_contact(person=person, staff=staff, organizations=[globex])
    assert list(contact.organizations.all()) == [globex]

    with pytest.raises(CaseworkError, match="doesn't belong"):
        make_customer_contact(person=person, staff=staff, organizations=[OrganizationFactory()])


def test_links_must_belong_to_the_contacts_organizations(staff):
    acme, other = OrganizationFactory(), OrganizationFactory()
    person = make_person(acme)

    linked = make_customer_contact(
        person=person, staff=staff, invoice=make_invoice(acme), order=make_order(acme)
    )
    assert linked.invoice.organization == acme and linked.order.organization == acme

    with pytest.raises(CaseworkError, match="Invoice .* another organization"):
        make_customer_contact(person=person, staff=staff, invoice=make_invoice(other))
    with pytest.raises(CaseworkError, match="Order .* another organization"):
        make_customer_contact(person=person, staff=staff, order=make_order(other))


def test_only_staff_can_be_assigned_and_contacts_are_not_in_the_future(staff):
    person = make_person(OrganizationFactory())
    with pytest.raises(CaseworkError, match="staff"):
        make_customer_contact(person=person, staff=staff, assigned_to=make_person())
    with pytest.raises(CaseworkError, match="future"):
        make_customer_contact(
            person=person, staff=staff, contacted_at=timezone.now() + timedelta(days=1)
        )
    assert CustomerContact.objects.count() == 0


def test_retired_contact_types_cannot_be_used(staff):
    retired = contact_type(code="complaint")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    with pytest.raises(CaseworkError, match="no longer in use"):
        make_customer_contact(staff=staff, type_code="complaint")


# --- The log is append-only ----------------------------------------------------------------


def test_log_entries_are_appended_by_author_in_order(staff):
    contact = make_customer_contact(staff=staff)
    first = casework.contact_log_append(contact=contact, author=staff, text="Called back.")
    second = casework.contact_log_append(contact=contact, author=staff, text="Sent the PDF.")

    assert list(contact.log_entries.all()) == [first, second]
    assert first.author == staff and first.kind == Kind.NOTE and first.text == "Called back."


def test_an_empty_log_entry_is_refused(staff):
    contact = make_customer_contact(staff=staff)
    with pytest.raises(CaseworkError, match="Write something"):
        casework.contact_log_append(contact=contact, author=staff, text="   ")


def test_a_log_entry_cannot_be_changed_by_save(staff):
    contact = make_customer_contact(staff=staff)
    entry = casework.contact_log_append(contact=contact, author=staff, text="Original")

    entry.text = "Rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        CustomerContactLogEntry.objects.filter(pk=entry.pk).update(text="Rewritten")

    entry.refresh_from_db()
    assert entry.text == "Original"


def test_a_log_entry_cannot_be_deleted(staff):
    contact = make_customer_contact(staff=staff)
    entry = casework.contact_log_append(contact=contact, author=staff, text="Keep me")

    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        CustomerContactLogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        CustomerContactLogEntry.objects.all().delete()

    assert CustomerContactLogEntry.objects.filter(pk=entry.pk, text="Keep me").exists()


def test_the_admin_shows_log_entries_read_only(admin_user, client, staff):
    from django.contrib import admin

    from tests.conftest import sign_in

    entry = casework.contact_log_append(
        contact=make_customer_contact(staff=staff), author=staff, text="Seen in the admin"
    )
    model_admin = admin.site._registry[CustomerContactLogEntry]
    request = type("Request", (), {"user": admin_user})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)

    sign_in(client, admin_user)
    listing = client.get("/admin/contacts/customercontactlogentry/")
    assert listing.status_code == 200 and "Seen in the admin" in listing.content.decode()
    change_url = f"/admin/contacts/customercontactlogentry/{entry.pk}/change/"
    client.post(change_url, {"text": "Changed in the admin"})
    client.post(f"/admin/contacts/customercontactlogentry/{entry.pk}/delete/", {"post": "yes"})
    entry.refresh_from_db()
    assert entry.text == "Seen in the admin"


# --- Characteristics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_type", "choices", "raw", "stored"),
    [
        ("number", [], "250", "250"),
        ("number", [], " 99,50 ", "99.50"),
        ("date", [], "2026-11-30", "2026-11-30"),
        ("choice", ["morning", "afternoon"], "afternoon", "afternoon"),
        ("text", [], "  TCK-12  ", "TCK-12"),
    ],
)
def test_characteristic_values_are_stored_as_their_type_requires(
    staff, value_type, choices, raw, stored
):
    contact = make_customer_contact(staff=staff)
    kind = characteristic_type(code="attribute", value_type=value_type, choices=choices)

    characteristic = casework.contact_characteristic_set(
        contact=contact, characteristic_type=kind, value=raw, staff_user=staff
    )

    assert characteristic.value == stored
    assert contact.characteristics.get().value == stored


@pytest.mark.parametrize(
    ("value_type", "choices", "raw", "message"),
    [
        ("number", [], "two hundred", "“Attribute” needs a number"),
        ("number", [], "NaN", "“Attribute” needs a number"),
        ("date", [], "30/11/2026", "“Attribute” needs a date as YYYY-MM-DD"),
        ("date", [], "2026-02-30", "“Attribute” needs a date as YYYY-MM-DD"),
        ("choice", ["morning", "afternoon"], "night", "must be one of: morning, afternoon"),
        ("text", [], "   ", "Enter a value"),
        ("text", [], "x" * 256, "at most 255 characters"),
    ],
)
def test_invalid_characteristic_values_are_refused_with_a_clear_message(
    staff, value_type, choices, raw, message
):
    contact = make_customer_contact(staff=staff)
    kind = characteristic_type(code="attribute", value_type=value_type, choices=choices)

    with pytest.raises(CaseworkError, match=message):
        casework.contact_characteristic_set(
            contact=contact, characteristic_type=kind, value=raw, staff_user=staff
        )
    assert not contact.characteristics.exists()


def test_setting_a_characteristic_again_replaces_it_and_the_log_keeps_both(staff):
    contact = make_customer_contact(staff=staff)
    amount = characteristic_type(code="promised_amount", label="Promised amount")

    casework.contact_characteristic_set(
        contact=contact, characteristic_type=amount, value="100", staff_user=staff
    )
    casework.contact_characteristic_set(
        contact=contact, characteristic_type=amount, value="150.5", staff_user=staff
    )
    # The same value again changes nothing and logs nothing.
    casework.contact_characteristic_set(
        contact=contact, characteristic_type=amount, value="150.5", staff_user=staff
    )

    assert contact.characteristics.get().value == "150.5"
    entries = list(contact.log_entries.filter(kind=Kind.CHARACTERISTIC_SET))
    assert [entry.summary for entry in entries] == [
        "“Promised amount” set to “100”.",
        "“Promised amount” changed from “100” to “150.5”.",
    ]


def test_one_value_per_characteristic_type_is_a_database_fact(staff):
    from django.db import IntegrityError, transaction

    from contacts.models import CustomerContactCharacteristic

    contact = make_customer_contact(staff=staff)
    kind = characteristic_type(value_type=CharacteristicType.ValueType.TEXT)
    CustomerContactCharacteristic.objects.create(
        contact=contact, characteristic_type=kind, value="a"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerContactCharacteristic.objects.create(
            contact=contact, characteristic_type=kind, value="b"
        )


# --- Status: a contact as a case file ------------------------------------------------------------


def test_closing_a_case_records_a_log_entry_and_the_time(staff):
    contact = make_customer_contact(staff=staff)

    closed = casework.contact_status_change(
        contact=contact, status=CustomerContact.Status.CLOSED, staff_user=staff, note="Solved."
    )

    assert closed.status == CustomerContact.Status.CLOSED and closed.closed_at is not None
    entry = contact.log_entries.get()
    assert entry.kind == Kind.STATUS_CHANGED and entry.author == staff and entry.text == "Solved."
    assert entry.summary == "From “Open” to “Closed”."


def test_a_closed_case_takes_no_notes_characteristics_or_reminders_until_reopened(staff):
    contact = make_customer_contact(staff=staff)
    casework.contact_status_change(
        contact=contact, status=CustomerContact.Status.CLOSED, staff_user=staff
    )
    kind = characteristic_type()

    with pytest.raises(CaseworkError, match="closed"):
        casework.contact_log_append(contact=contact, author=staff, text="One more thing")
    with pytest.raises(CaseworkError, match="closed"):
        casework.contact_characteristic_set(
            contact=contact, characteristic_type=kind, value="1", staff_user=staff
        )
    with pytest.raises(CaseworkError, match="closed"):
        casework.reminder_create(
            contact=contact, due_at=timezone.now(), assigned_to=staff, staff_user=staff
        )

    reopened = casework.contact_status_change(
        contact=contact, status=CustomerContact.Status.PENDING, staff_user=staff
    )
    assert reopened.closed_at is None
    casework.contact_log_append(contact=contact, author=staff, text="One more thing")
    assert [entry.kind for entry in contact.log_entries.all()] == [
        Kind.STATUS_CHANGED,
        Kind.STATUS_CHANGED,
        Kind.NOTE,
    ]


def test_changing_to_the_same_status_is_refused(staff):
    contact = make_customer_contact(staff=staff)
    with pytest.raises(CaseworkError, match="already"):
        casework.contact_status_change(
            contact=contact, status=CustomerContact.Status.OPEN, staff_user=staff
        )
    with pytest.raises(CaseworkError, match="Unknown"):
        casework.contact_status_change(contact=contact, status="archived", staff_user=staff)
    assert not contact.log_entries.exists()


def test_assigning_a_case_is_logged(staff):
    colleague = make_staff(name="Cleo Colleague")
    contact = make_customer_contact(staff=staff)

    casework.contact_assign(contact=contact, assigned_to=colleague, staff_user=staff)
    casework.contact_assign(contact=contact, assigned_to=None, staff_user=staff)

    contact.refresh_from_db()
    assert contact.assigned_to is None
    assert [entry.summary for entry in contact.log_entries.all()] == [
        f"Assigned to {colleague.email}.",
        "No longer assigned to anyone.",
    ]
    with pytest.raises(CaseworkError, match="staff"):
        casework.contact_assign(contact=contact, assigned_to=make_person(), staff_user=staff)


# --- Priority and the customer 360 helper ---------------------------------------------------------


def test_priority_is_the_highest_rank_among_the_persons_organizations(staff):
    R = Organization.Rank
    bronze, platinum = OrganizationFactory(rank=R.BRONZE), OrganizationFactory(rank=R.PLATINUM)
    both = make_customer_contact(person=make_person(bronze, platinum), staff=staff)
    only_bronze = make_customer_contact(person=make_person(bronze), staff=staff)
    nowhere = make_customer_contact(person=make_person(), staff=staff)

    priorities = dict(CustomerContact.objects.with_priority().values_list("pk", "priority"))

    assert priorities[both.pk] == 1
    assert priorities[only_bronze.pk] == 4
    assert priorities[nowhere.pk] > 4


def test_case_order_is_open_first_then_rank_then_newest(staff):
    R = Organization.Rank
    now = timezone.now()
    gold, platinum, bronze = (
        OrganizationFactory(rank=rank) for rank in (R.GOLD, R.PLATINUM, R.BRONZE)
    )

    def contact(org, hours_ago):
        return make_customer_contact(
            person=make_person(org), staff=staff, contacted_at=now - timedelta(hours=hours_ago)
        )

    old_platinum, new_gold, new_bronze = contact(platinum, 5), contact(gold, 1), contact(bronze, 0)
    closed_platinum = contact(platinum, 0)
    casework.contact_status_change(
        contact=closed_platinum, status=CustomerContact.Status.CLOSED, staff_user=staff
    )
    pending_platinum = contact(platinum, 0)
    casework.contact_status_change(
        contact=pending_platinum, status=CustomerContact.Status.PENDING, staff_user=staff
    )
    newer_gold = contact(gold, 0)

    ordered = list(CustomerContact.objects.in_case_order())

    assert ordered == [
        old_platinum,
        newer_gold,
        new_gold,
        new_bronze,
        pending_platinum,
        closed_platinum,
    ]


def test_recent_contacts_for_an_organization_take_one_query(staff, django_assert_num_queries):
    acme = OrganizationFactory()
    person = make_person(acme)
    now = timezone.now()
    made = [
        make_customer_contact(
            person=person,
            staff=staff,
            assigned_to=staff,
            invoice=make_invoice(acme),
            contacted_at=now - timedelta(hours=index),
        )
        for index in range(12)
    ]
    make_customer_contact(staff=staff)  # Another organization's.

    with django_assert_num_queries(1):
        recent = casework.recent_contacts_for_organization(acme, limit=10)
        rendered = [
            (c.person.email, c.contact_type.label, c.contact_class.label, c.assigned_to.email)
            for c in recent
        ]
        rendered += [c.invoice.number for c in recent]

    assert recent == made[:10]


def test_the_360_snippet_renders_without_queries(staff):
    from django.template.loader import render_to_string

    acme = OrganizationFactory()
    contact = make_customer_contact(person=make_person(acme), staff=staff, assigned_to=staff)
    recent = casework.recent_contacts_for_organization(acme)

    with CaptureQueriesContext(connection) as queries:
        html = render_to_string(
            "contacts/staff/recent_contacts.html",
            {"organization": acme, "recent_contacts": recent},
        )

    assert len(queries) == 0
    assert contact.person.email in html and str(contact.public_id) in html
