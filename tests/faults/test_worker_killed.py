"""A Celery worker killed (SIGKILL) in the middle of a task: a real worker against the real
Redis broker and the test database, running the real `portal.tasks.email_deliver_task`, held
mid-send by a loopback SMTP server that accepts the connection and does not answer.

"Nothing lost" here means: the e-mail whose delivery was cut short is delivered after all —
exactly one message reaches the SMTP server, the outbox row ends SENT with attempts == 1 (the
killed try's transaction never committed) — and running the task again later (the broker's
redelivery, the beat sweep) is harmless: no second message."""

import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import psutil
import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from portal.celery import app as celery_app
from portal.emails import email_queue_rendered, emails_deliver_pending
from portal.models import OutboundEmail
from portal.tasks import email_deliver_task
from tests.faults.helpers import LoopbackSMTP

pytestmark = pytest.mark.worker

WAIT = 60  # Seconds: an upper bound for a worker to start and act, not a timing assertion.


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Timed out waiting for {what}.")


@pytest.fixture
def harness(transactional_db):
    """Starts workers on a private queue against the test database; yields a starter."""
    if not settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run with REDIS_URL so the worker fault test uses Redis.")
        pytest.skip("REDIS_URL is not set: tasks run in-process without a broker.")
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{quote(db['HOST'] or 'localhost', safe='')}"
    if db.get("PORT"):
        database_url += f":{db['PORT']}"
    queue = f"faults-{os.getpid()}-{time.monotonic_ns()}"
    processes: list[subprocess.Popen] = []

    def start(smtp: LoopbackSMTP, *, pool: str) -> subprocess.Popen:
        environment = {
            **os.environ,
            "DATABASE_URL": f"{database_url}/{db['NAME']}",
            "EMAIL_URL": smtp.url,
            "EMAIL_TIMEOUT": "120",  # Held until the test releases the SMTP server.
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "-Q",
                queue,
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            cwd=settings.BASE_DIR,
            env=environment,
        )
        processes.append(process)
        return process

    celery_app.conf.task_always_eager = False
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield start
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = default_queue
        for process in processes:  # Idle by now: nothing unacknowledged is lost.
            if process.poll() is None:
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
                process.kill()
                process.wait(timeout=30)


def _queue_email() -> OutboundEmail:
    # Autocommit: the on-commit hook publishes at once, through Redis, to the worker.
    return email_queue_rendered(
        template="t", to=["held@example.com"], subject="Held mid-send", body_text="B"
    )


def _sent(email: OutboundEmail) -> bool:
    email.refresh_from_db()
    return email.status == OutboundEmail.Status.SENT


def test_pool_process_killed_mid_send_reruns_the_task_and_delivers_once(harness):
    """acks_late + reject_on_worker_lost: the worker's pool process dies with SIGKILL while
    the SMTP conversation hangs; the message goes back to the queue, a fresh pool process
    runs the task again, and once SMTP answers the e-mail is delivered exactly once."""
    with LoopbackSMTP(mode="stall") as smtp:
        worker = harness(smtp, pool="prefork")
        email = _queue_email()
        assert smtp.stalled.wait(WAIT), "the worker never reached the SMTP server"
        children = psutil.Process(worker.pid).children()
        assert len(children) == 1
        os.kill(children[0].pid, signal.SIGKILL)
        # The requeued task runs in the replacement pool process and reaches SMTP again.
        _wait_for(lambda: smtp.connections >= 2, "the task to run again")
        smtp.release("ok")
        _wait_for(lambda: _sent(email), "the e-mail to be sent")
        assert email.attempts == 1  # The killed try rolled back with its connection.
        # Later runs (a redelivery, the beat sweep) find nothing to do.
        assert email_deliver_task(email.pk) is False
        assert emails_deliver_pending() == 0
        assert len(smtp.messages) == 1
        assert b"Held mid-send" in smtp.messages[0]
        assert worker.poll() is None  # The worker itself lived on.


def test_whole_worker_killed_mid_send_a_new_worker_delivers_once(harness):
    """The whole worker (solo pool) dies with SIGKILL mid-send: nobody acknowledged the
    message, so Redis keeps it unacknowledged until the visibility timeout. A new worker is
    started; the timeout is made to pass (kombu's own restore, with a zero timeout), the new
    worker runs the task, and the e-mail is delivered once; the beat sweep sends nothing more."""
    with LoopbackSMTP(mode="stall") as smtp:
        first = harness(smtp, pool="solo")
        email = _queue_email()
        assert smtp.stalled.wait(WAIT), "the worker never reached the SMTP server"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        email.refresh_from_db()
        assert (email.status, email.attempts) == (OutboundEmail.Status.PENDING, 0)

        smtp.release("ok")
        harness(smtp, pool="solo")
        with Connection(settings.REDIS_URL, transport_options={"visibility_timeout": 0}) as conn:
            conn.default_channel.qos.restore_visible(num=100, interval=1)
        _wait_for(lambda: _sent(email), "the new worker to send the e-mail")
        assert email.attempts == 1
        assert emails_deliver_pending() == 0  # The beat sweep: nothing left.
        assert len(smtp.messages) == 1
