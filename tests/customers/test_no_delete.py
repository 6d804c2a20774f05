"""Customer accounts are never deleted: not through the admin, the ORM or bulk actions."""

import pytest
from django.contrib import admin
from django.db.models import ProtectedError
from django.test import RequestFactory

from contacts.models import AccountDeletionRefused, Organization
from tests.conftest import sign_in
from tests.customers.factories import make_staff


@pytest.fixture
def superuser_client(client, db):
    sign_in(client, make_staff(superuser=True))
    return client


@pytest.mark.django_db
def test_admin_delete_view_is_forbidden(superuser_client, tenants):
    url = f"/admin/contacts/organization/{tenants.org_a.pk}/delete/"
    assert superuser_client.get(url).status_code == 403
    assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    assert Organization.objects.filter(pk=tenants.org_a.pk).exists()


@pytest.mark.django_db
def test_admin_offers_no_bulk_delete_and_ignores_a_forged_one(superuser_client, tenants):
    model_admin = admin.site._registry[Organization]
    request = RequestFactory().get("/admin/contacts/organization/")
    request.user = make_staff(superuser=True)
    assert "delete_selected" not in model_admin.get_actions(request)

    response = superuser_client.post(
        "/admin/contacts/organization/",
        {"action": "delete_selected", "_selected_action": [tenants.org_a.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Organization.objects.count() == 2
    page = superuser_client.get(f"/admin/contacts/organization/{tenants.org_a.pk}/change/")
    assert page.status_code == 200 and b"/delete/" not in page.content


@pytest.mark.django_db
def test_orm_delete_is_refused(tenants):
    with pytest.raises(AccountDeletionRefused):
        tenants.org_a.delete()
    assert issubclass(AccountDeletionRefused, ProtectedError)
    assert Organization.objects.filter(pk=tenants.org_a.pk).exists()


@pytest.mark.django_db
def test_queryset_delete_is_refused(tenants):
    with pytest.raises(AccountDeletionRefused):
        Organization.objects.filter(pk=tenants.org_a.pk).delete()
    with pytest.raises(AccountDeletionRefused):
        Organization.objects.all().delete()
    assert Organization.objects.count() == 2
