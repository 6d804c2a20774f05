"""The staff pages of the customer contact log: staff only, within the query budget, with
search, filters, rank ordering, the case page's actions and the statistics."""

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, reverse
from django.utils import timezone

from contacts import casework, staff_urls
from contacts.models import (
    CharacteristicType,
    ContactReminder,
    CustomerContact,
    CustomerContactLogEntry,
    Letter,
    Organization,
)
from customers.access import STAFF
from tests.conftest import sign_in
from tests.contacts.casework_factories import (
    characteristic_type,
    contact_type,
    make_customer_contact,
    make_person,
    make_staff,
)
from tests.contacts.factories import OrganizationFactory
from tests.invoices.factories import make_invoice
from tests.query_budget import assert_flat_query_count

PREFIX = "staff/contact-log/"
PATTERNS = [
    pytest.param(PREFIX + str(entry.pattern), entry, id=entry.name)
    for entry in staff_urls.urlpatterns
    if isinstance(entry, URLPattern)
]
R = Organization.Rank


@pytest.fixture
def staff():
    return make_staff(name="Sam Staff")


@pytest.fixture
def staff_client(client, staff):
    return sign_in(client, staff)


def _samples(tenants, staff) -> dict[str, str]:
    contact = make_customer_contact(person=tenants.alice.user, staff=staff)
    letter = Letter.objects.create(
        contact=contact, template="payment_reminder", language="en", pdf=b"%PDF-1.7"
    )
    reminder = ContactReminder.objects.create(
        contact=contact, due_at=timezone.now() + timedelta(days=1), assigned_to=staff
    )
    return {
        "customer_contact_id": str(contact.public_id),
        "letter_id": str(letter.public_id),
        "reminder_id": str(reminder.public_id),
    }


def _url(route: str, samples: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(?P<name>\w+)>", lambda m: samples[m.group("name")], route)


# --- Staff only ----------------------------------------------------------------------------------


def test_the_contact_log_is_mounted_under_staff():
    assert reverse("contact_log:list") == "/staff/contact-log/"
    assert reverse("contact_log:statistics") == "/staff/contact-log/statistics/"


@pytest.mark.parametrize(("route", "entry"), PATTERNS)
def test_every_view_declares_the_staff_module(route, entry):
    callback = entry.callback
    view_class = getattr(callback, "view_class", None)
    assert getattr(view_class or callback, "module", None) == STAFF, route


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "entry"), PATTERNS)
def test_non_staff_get_404_anonymous_sign_in_and_staff_need_totp(route, entry, tenants, client):
    staff = make_staff()
    url = _url(route, _samples(tenants, staff))
    before = (CustomerContactLogEntry.objects.count(), Letter.objects.count())

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], url
    assert client.post(url, {"text": "x"}).status_code == 302, url

    # Customers with every role, in the organization the contact belongs to or not.
    for person in (tenants.alice, tenants.charlie):
        sign_in(client, person.user)
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"text": "x", "template": "payment_reminder"}).status_code == 404

    sign_in(client, make_staff(totp=False))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    assert client.post(url, {"text": "x"})["Location"] == reverse("mfa_activate_totp")

    assert (CustomerContactLogEntry.objects.count(), Letter.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["list", "create", "statistics", "detail", "letter_download"])
def test_staff_with_totp_reach_the_pages(name, tenants, staff, staff_client):
    samples = _samples(tenants, staff)
    kwargs = {
        "detail": {"customer_contact_id": samples["customer_contact_id"]},
        "letter_download": {"letter_id": samples["letter_id"]},
    }.get(name, {})
    assert staff_client.get(reverse(f"contact_log:{name}", kwargs=kwargs)).status_code == 200


@pytest.mark.django_db
def test_the_pages_load_the_staff_stylesheet(staff_client):
    for name in ("list", "create", "statistics"):
        html = staff_client.get(reverse(f"contact_log:{name}")).content.decode()
        assert "/static/css/staff.css" in html, name


# --- Query budgets -------------------------------------------------------------------------------


def _grower(staff):
    """Adds contacts over a few organizations of every rank, with log entries and links."""
    organizations = [OrganizationFactory(rank=rank) for rank in R.values]
    people = [make_person(organization) for organization in organizations]
    ranks = iter(range(10**9))

    def grow(count: int) -> None:
        kind = contact_type()
        now = timezone.now()
        for _ in range(count):
            index = next(ranks)
            person = people[index % len(people)]
            contact = CustomerContact.objects.create(
                person=person,
                contact_class=kind.contact_class,
                contact_type=kind,
                channel=CustomerContact.Channel.PHONE,
                contacted_at=now - timedelta(days=index % 300, minutes=index),
                assigned_to=staff,
                created_by=staff,
            )
            contact.organizations.set([organizations[index % len(organizations)]])

    return grow


@pytest.mark.django_db
def test_the_list_costs_the_same_at_10_and_1000_contacts(staff, staff_client):
    assert_flat_query_count(
        grow=_grower(staff), request=lambda: staff_client.get(reverse("contact_log:list"))
    )


@pytest.mark.django_db
def test_the_filtered_list_costs_the_same_at_10_and_1000_contacts(staff, staff_client):
    url = reverse("contact_log:list") + "?status=open&rank=gold&q=example&channel=phone"
    assert_flat_query_count(grow=_grower(staff), request=lambda: staff_client.get(url))


@pytest.mark.django_db
def test_the_statistics_cost_the_same_at_10_and_1000_contacts(staff, staff_client):
    assert_flat_query_count(
        grow=_grower(staff), request=lambda: staff_client.get(reverse("contact_log:statistics"))
    )


@pytest.mark.django_db
def test_the_case_page_costs_the_same_with_10_and_1000_log_entries(staff, staff_client):
    contact = make_customer_contact(staff=staff, assigned_to=staff)
    kind = characteristic_type()
    casework.contact_characteristic_set(
        contact=contact, characteristic_type=kind, value="5", staff_user=staff
    )
    casework.letter_generate(contact=contact, template="payment_reminder", staff_user=staff)
    url = reverse("contact_log:detail", kwargs={"customer_contact_id": contact.public_id})

    def grow(count: int) -> None:
        for index in range(count):
            author = staff if index % 2 else None
            CustomerContactLogEntry.objects.create(contact=contact, author=author, text=f"#{index}")
            if index % 100 == 0:
                ContactReminder.objects.create(
                    contact=contact, due_at=timezone.now(), assigned_to=staff
                )

    assert_flat_query_count(grow=grow, request=lambda: staff_client.get(url))


# --- Listing: order, search, filters -------------------------------------------------------------


def _rows(response) -> list[CustomerContact]:
    return list(response.context["table"].page.object_list.data)


@pytest.mark.django_db
def test_the_list_shows_open_cases_first_then_platinum_then_newest(staff, staff_client):
    now = timezone.now()

    def contact(rank, hours_ago):
        return make_customer_contact(
            person=make_person(OrganizationFactory(rank=rank)),
            staff=staff,
            contacted_at=now - timedelta(hours=hours_ago),
        )

    bronze_new, gold_old, platinum_old = (
        contact(R.BRONZE, 0),
        contact(R.GOLD, 9),
        contact(R.PLATINUM, 9),
    )
    platinum_closed = contact(R.PLATINUM, 0)
    casework.contact_status_change(
        contact=platinum_closed, status=CustomerContact.Status.CLOSED, staff_user=staff
    )

    response = staff_client.get(reverse("contact_log:list"))

    assert _rows(response) == [platinum_old, gold_old, bronze_new, platinum_closed]
    html = response.content.decode()
    assert html.index("Platinum") < html.index("Bronze")


@pytest.mark.django_db
def test_the_list_can_be_sorted_by_rank_column(staff, staff_client):
    bronze = make_customer_contact(staff=staff, rank=R.BRONZE)
    platinum = make_customer_contact(staff=staff, rank=R.PLATINUM)
    response = staff_client.get(reverse("contact_log:list") + "?sort=-priority")
    assert _rows(response) == [bronze, platinum]


@pytest.mark.django_db
def test_search_finds_people_by_email_or_name_and_organizations_by_name_or_number(
    staff, staff_client
):
    acme = OrganizationFactory(name="Acme Corporation", account_number="ACME-001")
    fiona = make_customer_contact(
        person=make_person(acme, email="fiona@acme.example", name="Fiona Finance"), staff=staff
    )
    other = make_customer_contact(
        person=make_person(OrganizationFactory(name="Globex"), name="Tobias"), staff=staff
    )
    url = reverse("contact_log:list")

    for query in ("fiona@acme", "Finance", "acme corp", "ACME-001"):
        assert _rows(staff_client.get(url, {"q": query})) == [fiona], query
    assert _rows(staff_client.get(url, {"q": "Tobias"})) == [other]
    assert _rows(staff_client.get(url, {"person": "FIONA@acme.example"})) == [fiona]
    assert _rows(staff_client.get(url, {"organization": "acme-001"})) == [fiona]


@pytest.mark.django_db
def test_filters_narrow_the_list(staff, staff_client):
    colleague = make_staff(name="Cleo")
    gold = OrganizationFactory(rank=R.GOLD)
    now = timezone.now()
    phone_gold = make_customer_contact(
        person=make_person(gold), staff=staff, assigned_to=colleague, contacted_at=now
    )
    email_complaint = make_customer_contact(
        staff=staff,
        channel=CustomerContact.Channel.EMAIL,
        type_code="complaint",
        contacted_at=now - timedelta(days=40),
    )
    pending = make_customer_contact(staff=staff, contacted_at=now - timedelta(days=3))
    casework.contact_status_change(
        contact=pending, status=CustomerContact.Status.PENDING, staff_user=staff
    )
    url = reverse("contact_log:list")
    complaint = contact_type(code="complaint")

    assert _rows(staff_client.get(url, {"status": "pending"})) == [pending]
    assert _rows(staff_client.get(url, {"channel": "email"})) == [email_complaint]
    assert _rows(staff_client.get(url, {"contact_type": complaint.pk})) == [email_complaint]
    assert len(_rows(staff_client.get(url, {"contact_class": complaint.contact_class.pk}))) == 3
    assert _rows(staff_client.get(url, {"assigned_to": colleague.pk})) == [phone_gold]
    assert _rows(staff_client.get(url, {"rank": "gold"})) == [phone_gold]
    since = (now - timedelta(days=10)).date().isoformat()
    assert set(_rows(staff_client.get(url, {"contacted_from": since}))) == {phone_gold, pending}
    until = (now - timedelta(days=30)).date().isoformat()
    assert _rows(staff_client.get(url, {"contacted_to": until})) == [email_complaint]


# --- New contact ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_looking_up_a_person_preselects_their_organizations(staff, staff_client):
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    make_person(acme, globex, email="fiona@acme.example")

    response = staff_client.get(reverse("contact_log:create"), {"person": "fiona@acme.example"})

    form = response.context["form"]
    assert set(form.fields["organizations"].queryset) == {acme, globex}
    assert set(form.initial["organizations"]) == {acme, globex}
    html = response.content.decode()
    assert html.count('name="organizations"') == 2 and html.count("checked") >= 2


@pytest.mark.django_db
def test_staff_log_a_contact_for_an_existing_person(staff, staff_client):
    acme, globex = OrganizationFactory(), OrganizationFactory()
    person = make_person(acme, globex, email="fiona@acme.example")
    invoice = make_invoice(acme, number="INV-77")
    kind = contact_type(code="payment_promise")

    response = staff_client.post(
        reverse("contact_log:create"),
        {
            "email": "Fiona@Acme.example",
            "organizations": [acme.pk],
            "contact_type": kind.pk,
            "channel": "phone",
            "contacted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "assigned_to": staff.pk,
            "notes": "Will pay on Friday.",
            "invoice_number": "INV-77",
        },
    )

    contact = CustomerContact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "contact_log:detail", kwargs={"customer_contact_id": contact.public_id}
    )
    assert contact.person == person and list(contact.organizations.all()) == [acme]
    assert contact.contact_type == kind and contact.invoice == invoice
    assert contact.created_by == staff and contact.assigned_to == staff


@pytest.mark.django_db
def test_without_a_choice_every_organization_of_the_person_is_recorded(staff, staff_client):
    acme, globex = OrganizationFactory(), OrganizationFactory()
    make_person(acme, globex, email="fiona@acme.example")
    staff_client.post(
        reverse("contact_log:create"),
        {
            "email": "fiona@acme.example",
            "contact_type": contact_type().pk,
            "channel": "email",
            "contacted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert set(CustomerContact.objects.get().organizations.all()) == {acme, globex}


@pytest.mark.django_db
def test_an_unknown_person_or_foreign_invoice_is_refused(staff, staff_client):
    acme = OrganizationFactory()
    make_person(acme, email="fiona@acme.example")
    foreign = make_invoice(OrganizationFactory(), number="INV-FOREIGN")
    base = {
        "contact_type": contact_type().pk,
        "channel": "phone",
        "contacted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }

    unknown = staff_client.post(
        reverse("contact_log:create"), {**base, "email": "who@nowhere.example"}
    )
    assert "Nobody has a user account with this e-mail address." in unknown.content.decode()
    wrong = staff_client.post(
        reverse("contact_log:create"),
        {**base, "email": "fiona@acme.example", "invoice_number": foreign.number},
    )
    assert "belongs to another organization" in wrong.content.decode()
    assert not CustomerContact.objects.exists()


# --- The case page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_case_page_shows_main_data_organizations_links_and_log(staff, staff_client):
    acme = OrganizationFactory(name="Acme Corporation", account_number="ACME-001", rank=R.GOLD)
    person = make_person(acme, email="fiona@acme.example", name="Fiona Finance")
    contact = make_customer_contact(
        person=person, staff=staff, invoice=make_invoice(acme, number="INV-5"), notes="Called."
    )
    casework.contact_log_append(contact=contact, author=staff, text="First entry")
    casework.contact_log_append(contact=contact, author=staff, text="Second entry")

    html = staff_client.get(
        reverse("contact_log:detail", kwargs={"customer_contact_id": contact.public_id})
    ).content.decode()

    for expected in ("Fiona Finance", "fiona@acme.example", "Acme Corporation", "INV-5", "Gold"):
        assert expected in html, expected
    assert html.index("First entry") < html.index("Second entry")  # Newest last.
    assert reverse("customers:detail", args=["ACME-001"]) in html
    assert "?person=fiona%40acme.example" in html and "?organization=ACME-001" in html
    # Never editable: no form posts to a log entry.
    assert "/log/" in html and "log_entries" not in html


@pytest.mark.django_db
def test_staff_work_a_case_from_its_page(staff, staff_client):
    contact = make_customer_contact(staff=staff)
    callback = characteristic_type(
        code="callback_time",
        value_type=CharacteristicType.ValueType.CHOICE,
        choices=["morning", "afternoon"],
        label="Best time to call",
    )
    url = lambda name: reverse(  # noqa: E731
        f"contact_log:{name}", kwargs={"customer_contact_id": contact.public_id}
    )

    staff_client.post(url("log_append"), {"text": "Called back"})
    bad = staff_client.post(
        url("characteristic_set"),
        {"characteristic_type": callback.pk, "value": "night"},
        follow=True,
    )
    assert "must be one of: morning, afternoon" in bad.content.decode()
    staff_client.post(
        url("characteristic_set"), {"characteristic_type": callback.pk, "value": "morning"}
    )
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    staff_client.post(
        url("reminder_create"), {"due_at": due, "assigned_to": staff.pk, "note": "Call again"}
    )
    reminder = ContactReminder.objects.get()
    staff_client.post(
        reverse("contact_log:reminder_cancel", kwargs={"reminder_id": reminder.public_id})
    )
    closing = staff_client.post(url("status"), {"status": "closed", "note": "Done"}, follow=True)

    assert "The status was changed." in closing.content.decode()
    contact.refresh_from_db()
    reminder.refresh_from_db()
    assert contact.status == CustomerContact.Status.CLOSED
    assert contact.characteristics.get().value == "morning"
    assert reminder.cancelled_at is not None
    Kind = CustomerContactLogEntry.Kind
    assert [entry.kind for entry in contact.log_entries.all()] == [
        Kind.NOTE,
        Kind.CHARACTERISTIC_SET,
        Kind.REMINDER_CREATED,
        Kind.REMINDER_CANCELLED,
        Kind.STATUS_CHANGED,
    ]
    # Closed: the log takes no more notes, and the page says so.
    refused = staff_client.post(url("log_append"), {"text": "Too late"}, follow=True)
    assert "Reopen it to add to its log." in refused.content.decode()
    assert contact.log_entries.count() == 5


@pytest.mark.django_db
def test_get_on_an_action_url_is_refused(staff, staff_client):
    contact = make_customer_contact(staff=staff)
    response = staff_client.get(
        reverse("contact_log:log_append", kwargs={"customer_contact_id": contact.public_id})
    )
    assert response.status_code == 405


# --- Statistics ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_statistics_count_contacts_per_type_per_month_and_open_cases_per_rank(staff, staff_client):
    now = timezone.now()
    platinum, bronze = OrganizationFactory(rank=R.PLATINUM), OrganizationFactory(rank=R.BRONZE)
    for _ in range(3):
        make_customer_contact(person=make_person(platinum), staff=staff)
    make_customer_contact(person=make_person(bronze), staff=staff, type_code="complaint")
    closed = make_customer_contact(person=make_person(bronze), staff=staff)
    casework.contact_status_change(
        contact=closed, status=CustomerContact.Status.CLOSED, staff_user=staff
    )
    make_customer_contact(
        person=make_person(bronze), staff=staff, contacted_at=now - timedelta(days=500)
    )

    statistics = casework.contact_statistics()

    assert len(statistics.months) == 12 and statistics.months[-1] == timezone.localdate().replace(
        day=1
    )
    assert statistics.total == 5  # The 500-day-old contact is outside the window.
    rows = {row.label: row for row in statistics.types}
    assert rows["Billing · Billing question"].counts[-1] == 4
    assert rows["Billing · Complaint"].total == 1
    by_rank = {row["label"]: row for row in statistics.open_by_rank}
    assert by_rank["Platinum"]["count"] == 3 and by_rank["Platinum"]["width"] == 100
    assert by_rank["Bronze"]["count"] == 2 and by_rank["Bronze"]["width"] == 65
    assert by_rank["Gold"] == {"label": "Gold", "count": 0, "width": 0}

    html = staff_client.get(reverse("contact_log:statistics")).content.decode()
    assert 'class="bar bar-w-100"' in html and 'class="bar bar-w-65"' in html
    assert "Billing · Complaint" in html and "style=" not in html


def test_bar_widths_are_buckets_of_five():
    assert casework.bar_width(0, 10) == 0
    assert casework.bar_width(1, 1000) == 5  # Never invisible when there is something.
    assert casework.bar_width(10, 10) == 100
    assert casework.bar_width(3, 7) == 45
    assert all(casework.bar_width(n, 97) % 5 == 0 for n in range(98))


def test_the_stylesheet_has_every_bar_width():
    from django.conf import settings

    css = (settings.BASE_DIR / "static" / "css" / "staff.css").read_text()
    for width in range(0, 101, 5):
        assert f".bar-w-{width} {{ width: {width}%; }}" in css
