"""The portal's URLs plus `/_load/bare`: a view that does nothing but pass the middleware."""

from django.http import HttpResponse
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


def bare(request):
    """The baseline: the full middleware stack (session, user, CSP, …), no query, no template."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("_load/bare", bare), *portal_urlpatterns]
