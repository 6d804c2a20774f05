"""Interim URLconf for billing tests while portal/urls.py does not mount billing yet (and the
payments views are being written): the project's URLs plus billing's, or the profile and
payment-method subset. Once `path("billing/", include("billing.urls"))` is in portal/urls.py
this is exactly portal.urls."""

from django.urls import include, path, reverse
from django.urls.exceptions import NoReverseMatch

from portal.urls import urlpatterns as portal_urlpatterns


def _billing_mounted() -> bool:
    try:
        reverse("billing:overview", urlconf="portal.urls")
    except (NoReverseMatch, ImportError):
        return False
    return True


def _billing_patterns():
    try:
        return include("billing.urls")
    except ImportError:
        from billing.views import methods, profile

        patterns = [
            path("", profile.overview, name="overview"),
            path("profile/", profile.profile_edit, name="profile"),
            path("methods/", methods.method_list, name="methods"),
            path("methods/add/", methods.method_add, name="method_add"),
            path("methods/add/confirm/", methods.method_add_confirm, name="method_add_confirm"),
            path(
                "methods/<uuid:method_id>/default/",
                methods.method_make_default,
                name="method_default",
            ),
            path(
                "methods/<uuid:method_id>/expiry/",
                methods.method_update_expiry,
                name="method_expiry",
            ),
            path("methods/<uuid:method_id>/remove/", methods.method_remove, name="method_remove"),
        ]
        return include((patterns, "billing"))


urlpatterns = list(portal_urlpatterns)
if not _billing_mounted():
    urlpatterns.append(path("billing/", _billing_patterns()))
