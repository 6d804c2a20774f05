import pytest

from portal.access import CurrentContactMiddleware
from tests.customers.factories import make_staff


@pytest.fixture
def staff(db):
    return make_staff(name="Sam Staff")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def viewing_as_wired(monkeypatch):
    """portal.access.CurrentContactMiddleware with the lead's edit applied (see the report):

    def __call__(self, request):
        from customers.impersonation import apply_viewing_as

        if request.user.is_authenticated and apply_viewing_as(request):
            return self.get_response(request)
        ...
    """
    from customers.impersonation import apply_viewing_as

    original = CurrentContactMiddleware.__call__
    if "apply_viewing_as" in original.__code__.co_names:
        return  # Already wired in portal/access.py.

    def __call__(self, request):
        if request.user.is_authenticated and apply_viewing_as(request):
            return self.get_response(request)
        return original(self, request)

    monkeypatch.setattr(CurrentContactMiddleware, "__call__", __call__)
