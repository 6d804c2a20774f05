"""Hypothesis drives every URL pattern's query string, form fields and path ids with hostile
values (huge, negative, NaN/Infinity amounts, wrong currencies, unicode, control characters,
SQL/HTML payloads, tampered ids). Targets and field names are discovered, not listed: the URL
resolver gives the patterns, each view's filterset and the forms its pages render give the
field names (`harness.crawl` parses every `<input>`, `<select>` and `<textarea>`, hidden ones
included). OWASP ASVS 5.0 V1.2/V2.2 (input validation) — and the server never answers 500.

Invariants, per request:
- every request: status < 500 (the test client re-raises any unhandled exception);
- "zero changed rows" (row count and an md5 of every row, every table: harness.snapshot) for
  requests that must be refused whatever else they carry: every GET; every request to a
  tampered path (random UUIDs, org B's objects, long strings, unicode, `../`, `%00`); every form
  post whose amount is invalid (NaN, Infinity, negative, zero, huge, too precise), whose
  currency is wrong, or whose object id is tampered, the other fields being the page's own
  valid values; every unsigned Stripe webhook.
- Hostile values in free fields (a profile name in Cyrillic, an address with an emoji) can be
  a valid change, so fully random form posts are held to "< 500" only.
"""

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import strategies as hs
from tests.fuzz.conftest import FUZZ
from tests.fuzz.harness import (
    attempt,
    client_for,
    discover,
    post_forms,
    query_forms,
    url_for,
)

TARGETS = discover()
PATH_TARGETS = [t for t in TARGETS if t.kwargs]
EXTRA_QUERY = ("page", "sort", "order", "export", "format", "status", "next", "q", "per_page")
NEVER_TAMPERED = {"csrfmiddlewaretoken", "next", "form_token", "token"}  # Client-chosen.
WEBHOOK = "billing/stripe/webhook/"
# Pages that settle their own state on the first view, once, by design: the add-card page
# creates the organization's Stripe customer (kept on its billing profile) for the
# SetupIntent; the payment confirmation page brings the payment up to date with Stripe (the
# URL walk's sample payment is "succeeded" but not yet applied to its invoice). The GET test
# views them once first; after that no GET may write anything.
SETTLES_ON_FIRST_VIEW = {"billing/methods/add/", "billing/pay/<uuid:payment_id>/"}
REFUSED = {400, 401, 403, 404, 405, 410, 429}


def _ids(target):
    return str(target)


def _values(names, pick=hs.value_for):
    """A dict of hostile values over a drawn subset of `names`; a value may be repeated."""

    def build(keys):
        return st.fixed_dictionaries(
            {k: st.one_of(pick(k), st.lists(pick(k), min_size=2, max_size=3)) for k in keys}
        )

    return st.lists(st.sampled_from(sorted(names)), min_size=1, unique=True).flatmap(build)


def _assert_safe(response, changed, url, *, must_refuse):
    assert response.status_code < 500, f"{response.status_code} at {url}"
    if must_refuse:
        assert not changed, f"{url} changed rows in {changed}"


@pytest.mark.django_db
@pytest.mark.parametrize("target", TARGETS, ids=_ids)
def test_hostile_query_parameters_never_500_and_write_nothing(target, fuzz):
    """Every filter the view's filterset declares, every field of its GET forms, the usual
    suspects (page, sort, export, status, next…) and random names, with hostile values."""
    client = client_for(fuzz, target.who)
    url = url_for(target.route, fuzz.samples)
    names = {*target.filters, *EXTRA_QUERY}
    for form in query_forms(fuzz, target):
        names |= set(form.fields)
    random_names = st.text(min_size=1, max_size=12).map(lambda n: {n: "1"})
    if target.route in SETTLES_ON_FIRST_VIEW:
        assert client.get(url).status_code == 200

    @settings(FUZZ)
    @given(params=_values(names), extra=st.one_of(st.just({}), random_names))
    def run(params, extra):
        response, changed = attempt(client, "get", url, params | extra)
        _assert_safe(response, changed, url, must_refuse=True)

    run()


POST_TARGETS = [t for t in TARGETS if t.route != WEBHOOK]


@pytest.mark.django_db
@pytest.mark.parametrize("target", POST_TARGETS, ids=_ids)
def test_hostile_form_posts_never_500(target, fuzz):
    """Every field of every form that posts to the view (hidden ones too), each either the
    page's own value or a hostile one, plus unknown fields. Valid changes may happen."""
    forms = post_forms(fuzz, target)
    page = fuzz.forms.get(target.route)
    if not forms and page is not None and page.status != 405:
        pytest.skip("GET-only: no form posts here and the view answers GET")
    client = client_for(fuzz, target.who)
    url = url_for(target.route, fuzz.samples)
    fields = {name: values for form in forms for name, values in form.fields.items()}
    fields.pop("csrfmiddlewaretoken", None)
    names = set(fields) or {"reason", "confirm", "next"}

    @settings(FUZZ)
    @given(hostile=_values(names), keep=st.booleans())
    def run(hostile, keep):
        data = {k: v for k, v in fields.items() if v} if keep else {}
        response, _ = attempt(client, "post", url, data | hostile)
        _assert_safe(response, [], url, must_refuse=False)

    run()


@pytest.mark.django_db
def test_unsigned_webhooks_never_500_and_write_nothing(fuzz):
    """Stripe webhook: any body without a valid signature is refused and changes nothing."""
    client = client_for(fuzz, "anonymous")
    url = "/" + WEBHOOK

    @settings(FUZZ, max_examples=FUZZ.max_examples * 3)
    @given(
        body=st.one_of(
            hs.hostile_text,
            st.just('{"id": "evt_1", "type": "payment_intent.succeeded", "data": {}}'),
        ),
        signature=st.one_of(st.none(), hs.hostile_text, st.just("t=1,v1=" + "0" * 64)),
        as_form=st.booleans(),
    )
    def run(body, signature, as_form):
        headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
        if as_form:
            response, changed = attempt(client, "post", url, {"payload": body}, **headers)
        else:
            response, changed = attempt(
                client, "post", url, body, content_type="application/json", **headers
            )
        _assert_safe(response, changed, url, must_refuse=True)
        assert response.status_code in REFUSED, response.status_code

    run()


def _tampered(name, target, fuzz):
    options = [hs.tampered_ids]
    if target.who == "customer" and name in fuzz.foreign:
        options.append(st.just(fuzz.foreign[name]))  # Org B's own object of that kind.
    return st.one_of(*options).filter(lambda value: value != fuzz.samples.get(name))


@pytest.mark.django_db
@pytest.mark.parametrize("target", PATH_TARGETS, ids=_ids)
def test_tampered_path_ids_are_refused_without_writes(target, fuzz):
    """Each path keyword replaced by a random UUID, org B's object of the same kind, a long
    string, unicode, `../` or `%00`: GET and a POST of the page's own valid form values never
    answer 500 and change no row; org B's objects answer 404 like missing ones. (Some pages
    answer a tampered token with a 200 "this link is not valid" page: that is allowed.)"""
    client = client_for(fuzz, target.who)
    fields = {
        name: values
        for form in post_forms(fuzz, target)
        for name, values in form.fields.items()
        if values
    }
    kwarg = st.sampled_from(target.kwargs)

    @settings(FUZZ)
    @given(
        tampered=kwarg.flatmap(
            lambda name: st.tuples(st.just(name), _tampered(name, target, fuzz))
        ),
        raw=st.booleans(),
    )
    def run(tampered, raw):
        name, value = tampered
        url = url_for(target.route, fuzz.samples | {name: value}, quote=not raw)
        for method, data in (("get", {}), ("post", fields)):
            response, changed = attempt(client, method, url, data)
            _assert_safe(response, changed, url, must_refuse=True)
            if value == fuzz.foreign.get(name):  # Org B's object: exactly like a missing one.
                assert response.status_code in (404, 405), f"{method} {url}: outsider reached"

    run()


# --- Invalid amounts, wrong currencies, tampered ids in otherwise valid forms -------------------

AMOUNT_WORDS = ("amount", "price", "quantity", "tax_rate", "points")


# Path keywords that name an object (their sample values are the objects' public ids or
# numbers); a form field whose value is one of these, or any UUID, carries an object id.
OBJECT_KEYWORDS = {
    "number",
    "order_number",
    "contract_number",
    "payment_id",
    "method_id",
    "contact_id",
    "invitation_id",
    "request_id",
    "account_number",
    "subscription_id",
    "action_id",
    "customer_contact_id",
    "letter_id",
    "reminder_id",
}


def _kind(name: str, values: list[str], fuzz) -> str | None:
    lowered = name.lower()
    if name in NEVER_TAMPERED:
        return None
    if any(word in lowered for word in AMOUNT_WORDS):
        return "amount"
    if "currency" in lowered:
        return "currency"
    ids = {v for k, v in (*fuzz.samples.items(), *fuzz.foreign.items()) if k in OBJECT_KEYWORDS}
    if any(_looks_like_id(v) or v in ids for v in values):
        return "id"
    return None


def _looks_like_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _refusal_cases(fuzz):
    cases = []
    for target in TARGETS:
        for form in post_forms(fuzz, target) if fuzz.forms else []:
            for name, values in form.filled().items():
                kind = _kind(name, values, fuzz)
                if kind:
                    cases.append((target, form, name, kind))
    return cases


@pytest.mark.django_db
def test_invalid_amounts_currencies_and_ids_are_refused_without_writes(fuzz):
    """In every form that carries an amount, a currency or an object id, that one field is
    made invalid (NaN, Infinity, negative, zero, huge, too precise; a wrong currency; a
    random UUID or org B's object) and the rest keep the page's own values: the post is
    refused, never 500, and changes no row (invoice balances, reward ledger, payments…)."""
    cases = _refusal_cases(fuzz)
    assert cases, "no form with an amount, currency or id field was found: discovery broke"
    foreign = sorted({v for v in fuzz.foreign.values() if v not in fuzz.samples.values()})
    strategies = {
        "amount": hs.invalid_amounts,
        "currency": hs.wrong_currencies,
        "id": st.one_of(hs.tampered_ids, st.sampled_from(foreign)),
    }
    clients = {who: client_for(fuzz, who) for who in {case[0].who for case in cases}}

    # Controls: the same forms as a person fills them in are accepted (rows change), so the
    # refusals below are the tampered field's doing. Every amount form must pass its control.
    accepted = set()
    for target, form, _name, _kind in cases:
        url = url_for(target.route, fuzz.samples)
        response, changed = attempt(clients[target.who], "post", url, form.filled())
        assert response.status_code < 500, url
        if changed:
            accepted.add(target.route)
    amount_forms = {case[0].route for case in cases if case[3] == "amount"}
    assert amount_forms <= accepted, f"controls refused: {sorted(amount_forms - accepted)}"

    @settings(FUZZ, max_examples=FUZZ.max_examples * 4 * len(cases))
    @given(case=st.sampled_from(cases), data=st.data())
    def run(case, data):
        target, form, name, kind = case
        filled = form.filled()
        value = data.draw(strategies[kind].filter(lambda v: v not in filled[name]))
        url = url_for(target.route, fuzz.samples)
        response, changed = attempt(clients[target.who], "post", url, filled | {name: value})
        _assert_safe(response, changed, f"{url} with {name}={value!r}", must_refuse=True)

    run()
