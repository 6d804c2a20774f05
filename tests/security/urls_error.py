"""A test-only URL configuration: the portal's URLs plus one view that raises (for the 500
page) and one that refuses (403)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


def boom(request):
    raise RuntimeError("secret-internal-detail from the test view")


def refuse(request):
    raise PermissionDenied


urlpatterns = [
    path("_test/boom/", boom),
    path("_test/refuse/", refuse),
    *portal_urlpatterns,
]
