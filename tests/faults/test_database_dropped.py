"""PostgreSQL connection dropped: the server side of the live connection is terminated
(`pg_terminate_backend` from a second connection) between two requests and in the middle of
one. The portal is served by a real single-threaded WSGI server in a thread, so its database
connection persists across requests (CONN_MAX_AGE) exactly as under gunicorn.

"Nothing lost" here means: a request whose connection dies part-way gets the generic 500 page
(no traceback) and leaves no partial write (no invitation without its e-mail, no activity
entry); the person's retry succeeds and writes everything once; a connection that died
between requests is replaced (CONN_HEALTH_CHECKS) and the next request simply works."""

import re
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import psycopg
import pytest
import requests
from django.conf import settings
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.db.models.signals import post_save
from django.urls import reverse

from contacts.models import ActivityEvent, Invitation
from contacts.roles import Role
from portal.models import OutboundEmail
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _admin_connection() -> psycopg.Connection:
    """A second connection to the same server, the one that terminates the portal's."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "localhost",
        port=db.get("PORT") or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    )


def _terminate(pid: int) -> None:
    with _admin_connection() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


@pytest.fixture
def portal_server():
    """The portal over HTTP on a loopback port, one request at a time in one thread."""
    server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_Quiet)

    def serve():
        try:
            server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # This thread's connection, so the test database can go.

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def alice_http(tenants, client):
    """A requests session carrying Alice's (freshly authenticated) session cookie."""
    sign_in(client, tenants.alice.user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def _portal_backends(test_pid: int) -> set[int]:
    with _admin_connection() as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND pid <> %s",
            [test_pid],
        ).fetchall()
    return {pid for (pid,) in rows}


def test_connection_dropped_between_requests_is_replaced_and_the_next_request_works(
    portal_server, alice_http
):
    users_url = portal_server + reverse("contacts:users")
    assert alice_http.get(users_url, allow_redirects=False).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        test_pid = cursor.fetchone()[0]
    served_by = _portal_backends(test_pid)
    assert len(served_by) == 1  # The server thread's persistent connection.
    _terminate(served_by.pop())

    response = alice_http.get(users_url, allow_redirects=False)
    assert response.status_code == 200
    assert tenants_name_in(response.text)


def tenants_name_in(page: str) -> bool:
    return "Look-alike Ltd" in page


def test_connection_dropped_mid_request_gives_the_generic_500_no_partial_write_and_retry_works(
    portal_server, alice_http
):
    invite_url = portal_server + reverse("contacts:user_invite")
    form = alice_http.get(invite_url, allow_redirects=False)
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    data = {"csrfmiddlewaretoken": token, "email": "dropped@example.com", "roles": [Role.FINANCE]}

    armed = threading.Event()
    armed.set()

    def drop_connection(sender, instance, created, **kwargs):
        # After the invitation row is written, before its activity entry and e-mail: the
        # server side of this request's own connection goes away.
        if created and armed.is_set():
            armed.clear()
            with connection.cursor() as cursor:  # This thread's (the request's) connection.
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            _terminate(pid)

    post_save.connect(drop_connection, sender=ActivityEvent, weak=False)
    try:
        failed = alice_http.post(invite_url, data=data, allow_redirects=False)
    finally:
        post_save.disconnect(drop_connection, sender=ActivityEvent)
    assert not armed.is_set(), "the connection was never dropped"
    assert failed.status_code == 500
    assert "Something went wrong" in failed.text
    assert "Traceback" not in failed.text and "psycopg" not in failed.text.lower()
    # No partial write: no invitation, no activity entry, no e-mail.
    assert not Invitation.objects.filter(email="dropped@example.com").exists()
    assert not ActivityEvent.objects.filter(target="dropped@example.com").exists()
    assert not OutboundEmail.objects.exists()

    retried = alice_http.post(invite_url, data=data, allow_redirects=False)
    assert retried.status_code == 302
    assert Invitation.objects.filter(email="dropped@example.com").count() == 1
    assert ActivityEvent.objects.filter(target="dropped@example.com").count() == 1
    assert [m.to for m in mail.outbox] == [["dropped@example.com"]]
