"""Targets, the world they run against, HTML form introspection and the row snapshot.

Targets come from the URL resolver (as tests/test_url_access.py walks it): every customer
pattern, the staff console, the webhook and dev pages, and of allauth only the sign-in,
login-code and password-reset forms. The Django admin is not ours and is skipped.
"""

from __future__ import annotations

import re
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from customers.access import STAFF
from tests.conftest import sign_in

PUBLIC = "public"
ALLAUTH_FORMS = {
    "account_login",
    "account_request_login_code",
    "account_confirm_login_code",
    "account_reset_password",
    "account_reset_password_from_key",
    "account_reauthenticate",
}
SKIPPED_PREFIXES = ("django.contrib.admin", "django.contrib.contenttypes", "django.views.static")
KWARG = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Target:
    route: str
    name: str  # namespace:url_name
    who: str  # "anonymous", "customer" or "staff"
    kwargs: tuple[str, ...]
    filters: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.route or "/"


def _walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace + (entry.name or "")


def _module(callback):
    target = getattr(callback, "view_class", callback)
    return getattr(target, "module", None)


def _filters(callback) -> tuple[str, ...]:
    view_class = getattr(callback, "view_class", None)
    filterset = getattr(view_class, "filterset_class", None)
    return tuple(getattr(filterset, "base_filters", {}) or ())


def discover() -> list[Target]:
    targets = []
    for route, entry, name in _walk(get_resolver()):
        callback = entry.callback
        module = getattr(callback, "view_class", callback).__module__
        if route.startswith("admin/") or module.startswith(SKIPPED_PREFIXES):
            continue
        if module.startswith("allauth."):
            if entry.name not in ALLAUTH_FORMS:
                continue
            who = "anonymous" if entry.name != "account_reauthenticate" else "customer"
        elif _module(callback) == STAFF:
            who = "staff"
        elif _module(callback) == PUBLIC:
            who = "anonymous"
        else:
            who = "customer"
        kwargs = tuple(m.group("name") or m.group("rname") for m in KWARG.finditer(route))
        targets.append(Target(route, name, who, kwargs, _filters(callback)))
    return targets


def url_for(route: str, values: dict[str, str], *, quote: bool = True) -> str:
    def fill(match):
        value = values[match.group("name") or match.group("rname")]
        return urllib.parse.quote(value, safe="") if quote else value

    if route.startswith("accounts/^"):  # allauth's regex patterns
        route = "accounts/" + route.removeprefix("accounts/^").removesuffix("$")
    return "/" + KWARG.sub(fill, route)


# --- The world ----------------------------------------------------------------------------------


@dataclass
class World:
    tenants: object
    staff: object
    samples: dict[str, str]  # org A's objects (the signed-in customer's own)
    foreign: dict[str, str]  # org B's objects of the same kinds (tampered ids)
    forms: dict[str, Page] = field(default_factory=dict)  # route -> its page, from `crawl`

    def user(self, who: str):
        return {"customer": self.tenants.alice.user, "staff": self.staff}.get(who)


def build_world(tenants) -> World:
    from dataclasses import replace

    from contacts.models import Invitation
    from tests.contacts.test_casework_pages import _samples as casework_samples
    from tests.customers.factories import make_staff
    from tests.customers.test_access import _samples as staff_samples
    from tests.rewards.factories import grant
    from tests.test_url_access import _samples as customer_samples

    staff = make_staff(name="Fuzz Staff")
    samples = customer_samples(tenants)
    samples |= staff_samples(tenants) | casework_samples(tenants, staff)
    samples |= {"uidb36": "1", "key": "set-password-key", "mail_id": "missing"}
    Invitation.objects.filter(token_hash="0" * 64).update(token_hash="1" * 64)  # Unique.
    outsider = replace(tenants, org_a=tenants.org_b, alice=tenants.charlie, bob=tenants.charlie)
    foreign = customer_samples(outsider)
    foreign["contact_id"] = str(tenants.charlie.public_id)
    grant(tenants.org_a, "50.00")  # The redeem form shows only with a balance.
    return World(tenants, staff, samples, foreign)


def client_for(world: World, who: str) -> Client:
    client = Client()
    user = world.user(who)
    if user is not None:
        sign_in(client, user)
    return client


# --- Forms in the HTML --------------------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> baseline values
    hidden: set[str] = field(default_factory=set)
    options: dict[str, list[str]] = field(default_factory=dict)  # name -> values offered
    checkboxes: set[str] = field(default_factory=set)

    def filled(self) -> dict[str, list[str]]:
        """What a person would submit: the page's values, every box ticked, the first real
        option chosen and a plain sentence in each empty text field."""
        data = {}
        for name, given in self.fields.items():
            values = [v for v in given if v.strip()]
            offered = [v for v in self.options.get(name, []) if v]
            if name in self.checkboxes and offered:
                data[name] = offered
            elif not values and offered:
                data[name] = offered[:1]
            elif not values and name not in self.hidden:
                data[name] = ["Checked by the fuzz suite"]
            elif values:
                data[name] = values
        return data


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._radio_default: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("method", "get").lower(), a.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        name = a.get("name")
        if form is None and tag in ("input", "select", "textarea", "button") and "form" in a:
            return
        if form is None or not name:
            if tag == "option" and self._select and form is not None:
                self._option(a)
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            values = form.fields.setdefault(name, [])
            if kind == "hidden":
                form.hidden.add(name)
            if kind in ("checkbox", "radio"):
                form.options.setdefault(name, []).append(a.get("value", "on"))
                if kind == "checkbox":
                    form.checkboxes.add(name)
                if "checked" in a:
                    values.append(a.get("value", "on"))
                elif kind == "radio":
                    self._radio_default.setdefault(name, a.get("value", "on"))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                values.append(a.get("value", ""))
        elif tag == "select":
            form.fields.setdefault(name, [])
            self._select, self._select_first = name, None
        elif tag == "textarea":
            form.fields.setdefault(name, []).append("")
            self._textarea = name
        elif tag == "button" and a.get("value"):
            form.fields.setdefault(name, []).append(a["value"])

    def _option(self, a):
        value = a.get("value", "")
        self._form.options.setdefault(self._select, []).append(value)
        values = self._form.fields[self._select]
        if self._select_first is None:
            self._select_first = value
        if "selected" in a:
            values.append(value)

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            for name, value in self._radio_default.items():
                if not self._form.fields.get(name):
                    self._form.fields[name] = [value]
            self._radio_default = {}
            self._form = None
        elif tag == "select" and self._select and self._form is not None:
            values = self._form.fields[self._select]
            if not values and self._select_first is not None:
                values.append(self._select_first)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


@dataclass
class Page:
    status: int
    forms: list[Form]


def crawl(world: World) -> dict[str, Page]:
    """GET every target once, as the person it is for, and keep the forms each page renders.
    Nothing the crawl writes survives it."""
    clients = {who: client_for(world, who) for who in ("anonymous", "customer", "staff")}
    pages = {}
    for target in discover():
        with transaction.atomic():
            response = clients[target.who].get(url_for(target.route, world.samples))
            transaction.set_rollback(True)
        html = ""
        if response.get("Content-Type", "").startswith("text/html"):
            html = response.content.decode(errors="replace")
        pages[target.route] = Page(response.status_code, parse_forms(html))
    return pages


def route_of(path: str) -> str | None:
    try:
        return resolve(urllib.parse.urlsplit(path).path).route
    except Resolver404:
        return None


def query_forms(world: World, target: Target) -> list[Form]:
    """The GET forms (filters, search) on the target's own page."""
    page = world.forms.get(target.route)
    return [form for form in page.forms if form.method == "get"] if page else []


def post_forms(world: World, target: Target) -> list[Form]:
    """Every POST form, on any page, that submits to the target."""
    found = []
    for route, page in world.forms.items():
        for form in page.forms:
            if form.method != "post":
                continue
            if (route_of(form.action) if form.action else route) == target.route:
                found.append(form)
    return found


@contextmanager
def rolled_back():
    """A savepoint undone afterwards: each example starts from the same rows."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def attempt(client: Client, method: str, url: str, data=None, **extra):
    """One request in its own savepoint; returns the response and the tables it changed."""
    with rolled_back():
        before = snapshot()
        if method == "get":
            response = client.get(url, data or {}, **extra)
        else:
            response = client.post(url, data or {}, **extra)
        after = snapshot()
    return response, changed(before, after)


# --- Rows ---------------------------------------------------------------------------------------

# Rows a refused request may still write, by design: the session (the test client's own
# sign-in), allauth's per-session record of the signed-in browser (last seen time).
VOLATILE_TABLES = {"django_session", "usersessions_usersession"}


def _tables() -> list[str]:
    names = []
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if model._meta.managed and not model._meta.proxy and table not in VOLATILE_TABLES:
            names.append(table)
    return sorted(set(names))


_SNAPSHOT_SQL: str | None = None


def _table_digest_sql(table: str) -> str:
    quoted = connection.ops.quote_name(table)  # A model's table name, not user input.
    digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    return f"SELECT '{table}', count(*), {digest} FROM {quoted} t"  # noqa: S608


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and an md5 over every row's text, per table of every installed app, in one
    query: any insert, update or delete (an invoice balance, a reward ledger entry, a payment)
    changes it."""
    global _SNAPSHOT_SQL
    if _SNAPSHOT_SQL is None:
        _SNAPSHOT_SQL = " UNION ALL ".join(_table_digest_sql(table) for table in _tables())
    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT_SQL)
        return {name: (count, digest) for name, count, digest in cursor.fetchall()}


def changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])
