"""Letters a customer contact triggers: a PDF in the person's language, stored, downloadable
and e-mailed to the person once."""

import subprocess
from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import translation
from django.utils.translation import gettext

from contacts import casework
from contacts.casework import CaseworkError
from contacts.models import CustomerContactLogEntry, Letter
from portal.models import OutboundEmail
from tests.conftest import sign_in
from tests.contacts.casework_factories import (
    make_customer_contact,
    make_dispute,
    make_person,
    make_staff,
)
from tests.contacts.factories import OrganizationFactory
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db
TODAY = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=bytes(content), capture_output=True, check=True
    )
    return result.stdout.decode()


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


@pytest.fixture
def staff():
    return make_staff(name="Sam Staff")


@time_machine.travel(TODAY, tick=False)
def test_a_payment_reminder_names_the_person_organization_and_invoice(staff):
    acme = OrganizationFactory(name="Acme Corporation", account_number="ACME-9", currency="USD")
    person = make_person(acme, name="Fiona Finance", language="en")
    invoice = make_invoice(acme, number="INV-4242", amounts=["120.00"])
    contact = make_customer_contact(person=person, staff=staff, invoice=invoice)

    letter = casework.letter_generate(
        contact=contact, template=Letter.Template.PAYMENT_REMINDER, staff_user=staff
    )

    letter.refresh_from_db()
    assert letter.language == "en" and letter.created_by == staff
    assert bytes(letter.pdf).startswith(b"%PDF")
    text = pdf_text(letter.pdf)
    for expected in (
        "Payment reminder",
        "Dear Fiona Finance,",
        "Acme Corporation",
        "ACME-9",
        "INV-4242",
        "$120.00",
        "Nov. 22, 2026",
    ):
        assert expected in text, expected
    entry = contact.log_entries.get()
    assert entry.kind == CustomerContactLogEntry.Kind.LETTER_GENERATED
    assert entry.summary == "“Payment reminder” generated."


@time_machine.travel(TODAY, tick=False)
def test_a_german_person_gets_the_letter_in_german(staff):
    globex = OrganizationFactory(name="Globex GmbH", currency="EUR", language="de")
    person = make_person(globex, name="Franziska Finanz", language="de")
    invoice = make_invoice(globex, number="INV-DE-1", amounts=["1234.50"])
    contact = make_customer_contact(person=person, staff=staff, invoice=invoice)

    letter = casework.letter_generate(
        contact=contact, template=Letter.Template.PAYMENT_REMINDER, staff_user=staff
    )

    assert letter.language == "de"
    text = pdf_text(letter.pdf)
    # The German date format proves the switch, whether or not the words are translated yet.
    assert "22. November 2026" in text
    assert "Nov. 22, 2026" not in text
    assert translated("de", "Payment reminder") in text
    assert "Franziska Finanz" in text and "INV-DE-1" in text


@time_machine.travel(TODAY, tick=False)
def test_the_letter_follows_the_person_not_the_staff_members_language(staff, client):
    globex = OrganizationFactory(language="de")
    person = make_person(globex, language="de")
    contact = make_customer_contact(person=person, staff=staff)

    with translation.override("en"):
        letter = casework.letter_generate(
            contact=contact, template=Letter.Template.PAYMENT_REMINDER, staff_user=staff
        )

    assert "22. November 2026" in pdf_text(letter.pdf)


@time_machine.travel(TODAY, tick=False)
def test_a_dispute_acknowledgement_describes_the_disputed_charge(staff):
    acme = OrganizationFactory(name="Acme Corporation", currency="USD")
    person = make_person(acme, name="Fiona Finance")
    dispute = make_dispute(acme, person=person, amount="40.00")
    case = casework.dispute_to_case(dispute=dispute)

    letter = casework.letter_generate(
        contact=case, template=Letter.Template.DISPUTE_ACKNOWLEDGEMENT, staff_user=staff
    )

    text = pdf_text(letter.pdf)
    for expected in ("Dispute received", dispute.invoice.number, "$40.00", "The amount is wrong"):
        assert expected in text, expected


def test_an_unknown_letter_template_is_refused(staff):
    contact = make_customer_contact(staff=staff)
    with pytest.raises(CaseworkError, match="Unknown letter"):
        casework.letter_generate(contact=contact, template="../../base", staff_user=staff)
    assert not Letter.objects.exists()


def test_a_letter_is_emailed_to_the_person_once(
    staff, mailoutbox, django_capture_on_commit_callbacks
):
    person = make_person(OrganizationFactory(), email="fiona@acme.example", name="Fiona")
    contact = make_customer_contact(person=person, staff=staff)
    letter = casework.letter_generate(
        contact=contact, template=Letter.Template.PAYMENT_REMINDER, staff_user=staff
    )

    with django_capture_on_commit_callbacks(execute=True):
        emailed = casework.letter_email(letter=letter, staff_user=staff)
    with pytest.raises(CaseworkError, match="already e-mailed"):
        casework.letter_email(letter=letter, staff_user=staff)

    assert emailed.emailed_at is not None and emailed.emailed_to == "fiona@acme.example"
    queued = OutboundEmail.objects.get(template="casework_letter")
    assert queued.to == ["fiona@acme.example"]
    assert queued.dedupe_key == f"casework-letter:{letter.public_id}"
    assert "Payment reminder" in queued.subject
    attachment = queued.attachments.get()
    assert attachment.mimetype == "application/pdf" and attachment.filename.endswith(".pdf")
    assert bytes(attachment.content) == bytes(letter.pdf)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["fiona@acme.example"]
    assert contact.log_entries.filter(kind=CustomerContactLogEntry.Kind.LETTER_EMAILED).count() == 1


def test_the_letter_email_is_written_in_the_persons_language(staff):
    person = make_person(OrganizationFactory(), language="de", name="Franziska")
    contact = make_customer_contact(person=person, staff=staff)
    letter = casework.letter_generate(
        contact=contact, template=Letter.Template.PAYMENT_REMINDER, staff_user=staff
    )

    casework.letter_email(letter=letter)

    queued = OutboundEmail.objects.get(template="casework_letter")
    assert translated("de", "Kind regards,") in queued.body_text


# --- Pages -------------------------------------------------------------------------------------


def test_staff_generate_download_and_email_a_letter_from_the_case_page(staff, client):
    person = make_person(OrganizationFactory(), email="fiona@acme.example")
    contact = make_customer_contact(person=person, staff=staff)
    sign_in(client, staff)

    response = client.post(
        f"/staff/contact-log/{contact.public_id}/letters/", {"template": "payment_reminder"}
    )
    assert response.status_code == 302
    letter = Letter.objects.get(contact=contact)

    download = client.get(f"/staff/contact-log/letters/{letter.public_id}/pdf/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "attachment;" in download["Content-Disposition"]
    assert download.content == bytes(letter.pdf)

    client.post(f"/staff/contact-log/letters/{letter.public_id}/email/")
    second = client.post(f"/staff/contact-log/letters/{letter.public_id}/email/", follow=True)
    assert "already e-mailed" in second.content.decode()
    assert OutboundEmail.objects.filter(template="casework_letter").count() == 1

    page = client.get(f"/staff/contact-log/{contact.public_id}/").content.decode()
    assert "Download PDF" in page and "fiona@acme.example" in page
