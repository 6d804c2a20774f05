from django.conf import settings
from django.urls import reverse

from contacts.roles import NAVIGATION, Module


def _navigation(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    contact = getattr(request, "contact", None)
    modules = [
        (module, url_name)
        for module, url_name in NAVIGATION
        if contact is not None and contact.can_see(module)
    ] or [(Module.DASHBOARD, "home")]
    items = []
    for module, url_name in modules:
        url = reverse(url_name)
        active = request.path == url or (url != "/" and request.path.startswith(url))
        items.append({"label": module.label, "url": url, "active": active})
    return items


def portal(request):
    return {
        "DEBUG": settings.DEBUG,
        "LANGUAGES": settings.LANGUAGES,
        "navigation": _navigation(request),
        "current_contact": getattr(request, "contact", None),
        "current_organization": getattr(request, "organization", None),
        "memberships": getattr(request, "contacts", []),
    }
