import pytest
from django.conf import settings
from django.core.cache import cache

from portal.celery import app as celery_app
from tests.accounts.factories import UserFactory

PASSWORD = "a-long-enough-test-password"


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Tests run tasks eagerly; the worker test starts a real worker instead."""
    celery_app.conf.task_always_eager = True
    yield


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate limits live in the cache: every test starts with none, on Redis or PostgreSQL."""
    _clear_portal_cache()
    yield
    _clear_portal_cache()


def _clear_portal_cache() -> None:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("RedisCache"):
        client = cache._cache.get_client()
        keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)
    else:
        try:
            cache.clear()
        except Exception:  # No database access in this test: nothing cached there either.
            pass


@pytest.fixture
def user(db):
    return UserFactory(password=PASSWORD)


@pytest.fixture
def signed_in_client(client, user):
    client.force_login(user)
    return client
