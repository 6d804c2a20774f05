"""A real Celery worker against the real Redis broker round-trips a task."""

import os
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from portal.celery import app as celery_app
from portal.emails import email_queue_rendered
from portal.models import OutboundEmail

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(transactional_db, tmp_path):
    if not settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run with REDIS_URL so the worker test uses the real broker.")
        pytest.skip("REDIS_URL is not set: tasks run in-process without a broker.")
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{quote(db['HOST'] or 'localhost', safe='')}"
    if db.get("PORT"):
        database_url += f":{db['PORT']}"
    queue = f"test-{os.getpid()}"
    environment = {
        **os.environ,
        "DATABASE_URL": f"{database_url}/{db['NAME']}",
        "EMAIL_URL": "filemail:///" + str(tmp_path),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
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
    celery_app.conf.task_always_eager = False
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield tmp_path
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.conf.task_default_queue = default_queue
        process.terminate()
        process.wait(timeout=30)


def test_worker_delivers_a_queued_email(worker):
    mail_dir = worker
    # Autocommit: the on-commit hook enqueues at once, through Redis, to the worker.
    email = email_queue_rendered(template="t", to=["a@example.com"], subject="S", body_text="B")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        email.refresh_from_db()
        if email.status == OutboundEmail.Status.SENT:
            break
        time.sleep(0.2)
    assert email.status == OutboundEmail.Status.SENT
    assert list(mail_dir.iterdir())
