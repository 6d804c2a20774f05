"""Payment methods: list, add through a SetupIntent (emulator), default, expiry, remove,
security e-mails, roles, CSP, no card inputs of ours, query budget, expiring-card reminders."""

import re
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from billing import profiles, stripe_client
from billing.models import BillingProfile, PaymentMethod
from contacts.models import ActivityEvent, Organization
from contacts.roles import Role
from portal.models import OutboundEmail
from tests.billing.conftest import DECLINED_AT_ATTACH, THREE_D_SECURE
from tests.billing.profile_factories import BillingProfileFactory, PaymentMethodFactory
from tests.conftest import sign_in
from tests.contacts.factories import ContactFactory
from tests.query_budget import assert_flat_query_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def executive(tenants):
    return ContactFactory(organization=tenants.org_a, roles=[Role.EXECUTIVE])


def _csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def _notices() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(template="payment_method_changed").order_by("pk"))


def _saved(stripe, tenants, number="4242424242424242", **expiry) -> PaymentMethod:
    """A card saved for org A through the real add flow (page → Stripe.js → confirm)."""
    return _add_card(stripe, tenants, number, **expiry)


def _add_card(stripe, tenants, number, client=None, **expiry):
    from django.test import Client

    client = client or sign_in(Client(), tenants.fin.user)
    page = client.get(reverse("billing:method_add"))
    assert page.status_code == 200
    secret = page.context["client_secret"]
    answer = stripe.confirm_setup_intent(secret, number, **expiry)
    response = client.post(
        reverse("billing:method_add_confirm"),
        {"setup_intent": page.context["setup_intent_id"], "error_code": ""},
    )
    assert response.status_code == 302, answer
    return PaymentMethod.objects.filter(organization=tenants.org_a).order_by("-pk").first()


# --- List -----------------------------------------------------------------------------------


def test_list_shows_brand_last4_expiry_default_and_expired(client, tenants):
    PaymentMethodFactory(organization=tenants.org_a, last4="1111", is_default=True)
    PaymentMethodFactory(organization=tenants.org_a, last4="2222", exp_month=1, exp_year=2020)
    PaymentMethodFactory(organization=tenants.org_b, last4="9999")
    sign_in(client, tenants.fin.user)

    page = client.get(reverse("billing:methods")).content.decode()

    assert "1111" in page and "12/2035" in page and "Default" in page
    assert "2222" in page and "01/2020" in page and "Expired" in page
    assert "9999" not in page
    assert "Update expiry date" in page and "add the card again as a new card" in page


def test_executive_reads_the_list_without_actions(client, tenants, executive):
    method = PaymentMethodFactory(organization=tenants.org_a)
    sign_in(client, executive.user)

    page = client.get(reverse("billing:methods")).content.decode()

    assert "4242" in page and "Remove" not in page and "Add a card" not in page
    for name in ("billing:method_default", "billing:method_expiry", "billing:method_remove"):
        url = reverse(name, args=[method.public_id])
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
    assert client.get(reverse("billing:method_add")).status_code == 403
    assert client.post(reverse("billing:method_add_confirm")).status_code == 403


def test_technical_contact_gets_403_everywhere(client, tenants):
    method = PaymentMethodFactory(organization=tenants.org_a)
    sign_in(client, tenants.bob.user)
    assert client.get(reverse("billing:methods")).status_code == 403
    assert client.get(reverse("billing:method_add")).status_code == 403
    assert client.get(reverse("billing:method_expiry", args=[method.public_id])).status_code == 403


def test_outsider_gets_404_on_method_urls(client, tenants):
    method = PaymentMethodFactory(organization=tenants.org_a, is_default=True)
    sign_in(client, tenants.charlie.user)
    for name in ("billing:method_default", "billing:method_expiry", "billing:method_remove"):
        url = reverse(name, args=[method.public_id])
        assert client.get(url).status_code == 404
        assert client.post(url, {"exp_month": 1, "exp_year": 2040}).status_code == 404
    method.refresh_from_db()
    assert method.removed_at is None and (method.exp_month, method.exp_year) == (12, 2035)


def test_list_query_count_is_flat(client, tenants):
    sign_in(client, tenants.fin.user)
    assert_flat_query_count(
        grow=lambda n: PaymentMethodFactory.create_batch(n, organization=tenants.org_a),
        request=lambda: client.get(reverse("billing:methods")),
    )


# --- Add (SetupIntent through the emulator) ------------------------------------------------------


def test_add_page_loads_stripe_js_and_the_csp_allows_only_its_origin(client, tenants, stripe):
    sign_in(client, tenants.fin.user)

    response = client.get(reverse("billing:method_add"))

    page = response.content.decode()
    origin = stripe.base_url
    assert f'<script src="{stripe.js_url}"></script>' in page
    assert "js/stripe-card.js" in page
    assert response.context["client_secret"] in page
    directives = _csp(response)
    assert directives["script-src"] == f"'self' {origin}"
    assert directives["connect-src"] == f"'self' {origin}"
    assert directives["frame-src"] == origin
    # Pages without Stripe.js keep the strict policy.
    other = _csp(client.get(reverse("billing:methods")))
    assert other["script-src"] == "'self'" and other["frame-src"] == "'none'"


def test_real_stripe_csp_names_stripe_origins_only(settings):
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    update, replace = stripe_client.stripe_csp_directives()
    assert update == {
        "script-src": ["https://js.stripe.com"],
        "connect-src": ["https://api.stripe.com"],
    }
    assert replace == {"frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"]}


def test_first_card_added_becomes_default_and_finance_is_notified(tenants, stripe):
    method = _saved(stripe, tenants, exp_month=9, exp_year=2031)

    assert method.is_default and method.last4 == "4242"
    assert (method.exp_month, method.exp_year) == (9, 2031)
    profile = BillingProfile.objects.get(organization=tenants.org_a)
    card = stripe_client.payment_method_retrieve(payment_method_id=method.stripe_payment_method_id)
    assert card.customer == profile.stripe_customer_id  # Attached by us.
    recipients = sorted(e.to[0] for e in _notices())
    assert recipients == sorted([tenants.alice.user.email, tenants.fin.user.email])
    assert "added the card" in _notices()[0].body_text
    assert ActivityEvent.objects.filter(
        verb="payment_method_changed", data__change="added"
    ).exists()


def test_second_card_is_not_default(tenants, stripe):
    first = _saved(stripe, tenants)
    second = _saved(stripe, tenants, exp_month=1, exp_year=2032)
    first.refresh_from_db()
    assert first.is_default and not second.is_default


def test_confirm_twice_saves_one_card(client, tenants, stripe):
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("billing:method_add"))
    stripe.confirm_setup_intent(page.context["client_secret"])
    data = {"setup_intent": page.context["setup_intent_id"]}

    client.post(reverse("billing:method_add_confirm"), data)
    # The second submit no longer knows the intent: refused, nothing new.
    client.post(reverse("billing:method_add_confirm"), data)
    profiles.payment_method_add(
        contact=tenants.fin, actor=tenants.fin.user, setup_intent_id=data["setup_intent"]
    )

    assert PaymentMethod.objects.filter(organization=tenants.org_a).count() == 1
    assert len(_notices()) == 2  # One "added" notice to each finance contact.


def test_confirm_refuses_a_setup_intent_from_another_session(client, tenants, stripe):
    other = BillingProfileFactory(organization=tenants.org_b)
    intent = stripe_client.setup_intent_create(
        customer_id=stripe_client.customer_ensure(profile=other)
    )
    stripe.confirm_setup_intent(intent.client_secret)
    sign_in(client, tenants.fin.user)

    response = client.post(reverse("billing:method_add_confirm"), {"setup_intent": intent.id})

    assert response.status_code == 302
    assert not PaymentMethod.objects.exists()
    with pytest.raises(profiles.BillingError):
        profiles.payment_method_add(
            contact=tenants.fin, actor=tenants.fin.user, setup_intent_id=intent.id
        )


def test_declined_card_shows_the_reason_and_saves_nothing(client, tenants, stripe):
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("billing:method_add"))
    answer = stripe.confirm_setup_intent(page.context["client_secret"], DECLINED_AT_ATTACH)
    assert answer["error"]["code"] == "card_declined"

    # What stripe-card.js posts after Stripe.js reported the error.
    response = client.post(
        reverse("billing:method_add_confirm"),
        {"setup_intent": page.context["setup_intent_id"], "error_code": "card_declined"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("billing:method_add")
    assert "The card was declined by the bank." in response.content.decode()
    assert not PaymentMethod.objects.exists()
    assert not _notices()


def test_three_d_secure_not_completed_saves_nothing(client, tenants, stripe):
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("billing:method_add"))
    stripe.confirm_setup_intent(page.context["client_secret"], THREE_D_SECURE)

    client.post(
        reverse("billing:method_add_confirm"), {"setup_intent": page.context["setup_intent_id"]}
    )

    assert not PaymentMethod.objects.exists()


def test_stripe_down_on_the_add_page_says_so(client, tenants, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    sign_in(client, tenants.fin.user)

    response = client.get(reverse("billing:method_add"))

    assert response.status_code == 503
    assert "not responding" in response.content.decode()


def test_changes_need_a_recent_sign_in(client, tenants):
    method = PaymentMethodFactory(organization=tenants.org_a)
    sign_in(client, tenants.fin.user, fresh=False)

    for url in (
        reverse("billing:method_add"),
        reverse("billing:method_default", args=[method.public_id]),
        reverse("billing:method_remove", args=[method.public_id]),
        reverse("billing:method_expiry", args=[method.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "reauthenticate" in response["Location"], url
    assert (
        client.post(reverse("billing:method_default", args=[method.public_id])).status_code == 302
    )
    method.refresh_from_db()
    assert not method.is_default


# --- Default, expiry, remove -------------------------------------------------------------------


def test_make_default_switches_and_notifies(client, tenants, stripe):
    first = _saved(stripe, tenants)
    second = _saved(stripe, tenants)
    OutboundEmail.objects.all().delete()
    sign_in(client, tenants.fin.user)

    assert client.get(reverse("billing:method_default", args=[second.public_id])).status_code == 200
    response = client.post(reverse("billing:method_default", args=[second.public_id]))

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default
    assert len(_notices()) == 2 and "default card" in _notices()[0].subject


def test_expired_card_cannot_become_default(client, tenants):
    PaymentMethodFactory(organization=tenants.org_a, is_default=True)
    expired = PaymentMethodFactory(organization=tenants.org_a, exp_month=1, exp_year=2020)
    sign_in(client, tenants.fin.user)

    client.post(reverse("billing:method_default", args=[expired.public_id]))

    expired.refresh_from_db()
    assert not expired.is_default


def test_update_expiry_at_stripe_and_in_the_mirror(client, tenants, stripe):
    method = _saved(stripe, tenants)
    method.reminded_soon_at = method.created_at
    method.save()
    OutboundEmail.objects.all().delete()
    sign_in(client, tenants.fin.user)
    url = reverse("billing:method_expiry", args=[method.public_id])

    response = client.post(url, {"exp_month": "4", "exp_year": "2034"})

    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.exp_month, method.exp_year) == (4, 2034)
    assert method.reminded_soon_at is None  # The new date gets its own reminders.
    card = stripe_client.payment_method_retrieve(payment_method_id=method.stripe_payment_method_id)
    assert (card.exp_month, card.exp_year) == (4, 2034)
    assert len(_notices()) == 2 and "04/2034" in _notices()[0].body_text
    event = ActivityEvent.objects.get(verb="payment_method_changed", data__change="expiry")
    assert event.data["new"] == "04/2034"


@pytest.mark.parametrize(
    ("month", "year"),
    [("13", "2034"), ("0", "2034"), ("1", str(date.today().year + 21)), ("1", "2019")],
)
def test_invalid_expiry_dates_are_refused(client, tenants, month, year):
    method = PaymentMethodFactory(organization=tenants.org_a)
    sign_in(client, tenants.fin.user)

    response = client.post(
        reverse("billing:method_expiry", args=[method.public_id]),
        {"exp_month": month, "exp_year": year},
    )

    assert response.status_code == 200 and response.context["form"].errors
    method.refresh_from_db()
    assert (method.exp_month, method.exp_year) == (12, 2035)


def test_expiry_in_the_past_is_refused(tenants, time_machine):
    time_machine.move_to("2030-06-15")
    method = PaymentMethodFactory(organization=tenants.org_a)
    with pytest.raises(profiles.BillingError):
        profiles.payment_method_update_expiry(
            contact=tenants.fin, actor=tenants.fin.user, method=method, exp_month=5, exp_year=2030
        )


def test_remove_a_card_detaches_it_and_notifies(client, tenants, stripe):
    _saved(stripe, tenants)
    second = _saved(stripe, tenants)
    OutboundEmail.objects.all().delete()
    sign_in(client, tenants.fin.user)

    response = client.post(reverse("billing:method_remove", args=[second.public_id]))

    assert response.status_code == 302, response.context["form"].errors
    second.refresh_from_db()
    assert second.removed_at is not None
    card = stripe_client.payment_method_retrieve(payment_method_id=second.stripe_payment_method_id)
    assert card.customer == ""
    assert len(_notices()) == 2 and "removed the card" in _notices()[0].body_text
    assert "2222" not in client.get(reverse("billing:methods")).content.decode()


def test_removing_the_default_needs_a_new_default_when_others_exist(client, tenants, stripe):
    default = PaymentMethodFactory(organization=tenants.org_a, is_default=True, last4="1111")
    other = PaymentMethodFactory(organization=tenants.org_a, last4="2222")
    sign_in(client, tenants.fin.user)
    url = reverse("billing:method_remove", args=[default.public_id])

    response = client.post(url)
    assert response.status_code == 200 and "new_default" in response.context["form"].errors
    default.refresh_from_db()
    assert default.removed_at is None

    response = client.post(url, {"new_default": str(other.public_id)})
    assert response.status_code == 302
    default.refresh_from_db()
    other.refresh_from_db()
    assert default.removed_at is not None and not default.is_default
    assert other.is_default


def test_removing_the_only_card_leaves_no_default(client, tenants, stripe):
    only = PaymentMethodFactory(organization=tenants.org_a, is_default=True)
    sign_in(client, tenants.fin.user)

    client.post(reverse("billing:method_remove", args=[only.public_id]))

    only.refresh_from_db()
    assert only.removed_at is not None
    assert not PaymentMethod.objects.usable().filter(is_default=True).exists()


def test_closed_organization_cannot_change_cards(client, tenants):
    method = PaymentMethodFactory(organization=tenants.org_a)
    Organization.objects.filter(pk=tenants.org_a.pk).update(status=Organization.Status.CLOSED)
    sign_in(client, tenants.fin.user)
    assert client.post(reverse("billing:method_remove", args=[method.public_id])).status_code == 403


# --- No card inputs of ours ---------------------------------------------------------------------

CARD_WORDS = {"card", "cardnumber", "number", "cvc", "cvv", "csc", "pan", "cc", "ccnumber"}
INPUT_NAMES = re.compile(r"<input\b[^>]*?\b(?:name|autocomplete)=\"([^\"]*)\"", re.I)
TEMPLATE_CODE = re.compile(r"{{.*?}}|{%.*?%}", re.S)


def _card_inputs(html: str) -> list[str]:
    """Names/autocomplete values of <input>s that look like card fields."""
    html = TEMPLATE_CODE.sub("", html)
    return [
        value
        for value in INPUT_NAMES.findall(html)
        if CARD_WORDS & set(re.split(r"[-_\s.\[\]]+", value.lower()))
    ]


def test_the_card_detector_catches_card_fields():
    assert _card_inputs('<input type="text" name="card_number">') == ["card_number"]
    assert _card_inputs('<input autocomplete="cc-number" name="x">') == ["cc-number"]
    assert _card_inputs('<input name="cvc">') == ["cvc"]
    assert _card_inputs('<input name="amount-{{ invoice.number }}">') == []


def test_no_template_has_a_card_input():
    offenders = {
        str(path): _card_inputs(path.read_text())
        for path in (django_settings.BASE_DIR / "templates").rglob("*.html")
        if _card_inputs(path.read_text())
    }
    assert offenders == {}


def test_rendered_card_page_has_no_card_input_of_ours(client, tenants, stripe):
    sign_in(client, tenants.fin.user)
    page = client.get(reverse("billing:method_add")).content.decode()
    assert _card_inputs(page) == []
    assert 'id="card-element"' in page  # Stripe's Card Element mounts here.


# --- Expiring-card reminders --------------------------------------------------------------------


def test_reminders_30_days_before_and_at_expiry_once_each(tenants):
    method = PaymentMethodFactory(organization=tenants.org_a, exp_month=6, exp_year=2030)
    tenants.fin.user.language = "de"
    tenants.fin.user.save()

    # Valid through June 30: the first reminder 30 days before, on May 31.
    assert profiles.payment_methods_remind_expiring(today=date(2030, 5, 30)) == 0
    assert profiles.payment_methods_remind_expiring(today=date(2030, 5, 31)) == 2  # fin + alice
    assert profiles.payment_methods_remind_expiring(today=date(2030, 6, 1)) == 0
    assert profiles.payment_methods_remind_expiring(today=date(2030, 6, 30)) == 0
    assert profiles.payment_methods_remind_expiring(today=date(2030, 7, 1)) == 2
    assert profiles.payment_methods_remind_expiring(today=date(2030, 7, 1)) == 0

    emails = OutboundEmail.objects.filter(template="payment_method_expiring").order_by("pk")
    english = [e.subject for e in emails if e.to != [tenants.fin.user.email]]
    german = [e.subject for e in emails if e.to == [tenants.fin.user.email]]
    assert [("has expired" in subject) for subject in english] == [False, True]
    assert [("abgelaufen" in subject) for subject in german] == [False, True]
    method.refresh_from_db()
    assert method.reminded_soon_at and method.reminded_expired_at


def test_already_expired_card_gets_only_the_expired_reminder(tenants):
    PaymentMethodFactory(organization=tenants.org_a, exp_month=1, exp_year=2030)

    profiles.payment_methods_remind_expiring(today=date(2030, 3, 10))
    profiles.payment_methods_remind_expiring(today=date(2030, 3, 11))

    subjects = list(
        OutboundEmail.objects.filter(template="payment_method_expiring").values_list(
            "subject", flat=True
        )
    )
    assert len(subjects) == 2 and all("expired" in s for s in subjects)


def test_removed_cards_and_closed_organizations_get_no_reminders(tenants):
    PaymentMethodFactory(
        organization=tenants.org_a, exp_month=6, exp_year=2030, removed_at=timezone.now()
    )
    PaymentMethodFactory(organization=tenants.org_b, exp_month=6, exp_year=2030)
    Organization.objects.filter(pk=tenants.org_b.pk).update(status=Organization.Status.CLOSED)

    assert profiles.payment_methods_remind_expiring(today=date(2030, 6, 15)) == 0


def test_expiring_count_for_the_dashboard(tenants):
    from billing.dashboard import dashboard_card

    PaymentMethodFactory(organization=tenants.org_a, exp_month=1, exp_year=2020)
    PaymentMethodFactory(organization=tenants.org_a, is_default=True)
    card = dashboard_card(tenants.fin)
    assert card["cards_expiring"] == 1 and card["default_method"].is_default
    assert card["template"] == "billing/card.html"
