"""Staff "view as customer": a read-only, clearly marked, logged look at the portal.

A staff member starts it from the customer 360 page (a POST, recorded as a StaffAction);
the session then carries {organization public_id, started_at}. While it lasts,
`portal.access.CurrentContactMiddleware` (through `apply_viewing_as`) puts a synthetic
`StaffViewContact` on the request: every role and the administrator flag, so every module
is visible, and `can_do()` False, so every `check_action` refuses. Belt and braces: any
request that could change something (not GET/HEAD/OPTIONS) is refused outright, except
stopping the view and signing out. The view ends after VIEW_AS_MAX_AGE or on "Stop viewing".
"""

from __future__ import annotations

import time

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext as _

from contacts.models import Organization
from contacts.roles import Role
from customers.models import StaffViewContact

SESSION_VIEW_AS = "staff_view_as"
VIEW_AS_MAX_AGE = 60 * 60
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Allowed to POST while viewing: stopping the view, and signing out.
_WRITE_EXEMPT_URL_NAMES = ("customers:view_as_stop", "account_logout")


def view_as_begin(request, organization: Organization) -> None:
    request.session[SESSION_VIEW_AS] = {
        "organization": str(organization.public_id),
        "started_at": time.time(),
    }


def view_as_end(request) -> str | None:
    """Drop the flag; returns the organization's public id it was viewing, if any."""
    data = request.session.pop(SESSION_VIEW_AS, None)
    return data.get("organization") if isinstance(data, dict) else None


def viewing_as(request) -> StaffViewContact | None:
    """The read-only contact of a staff member viewing as a customer, or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    data = request.session.get(SESSION_VIEW_AS)
    if not data:
        return None
    valid = (
        isinstance(data, dict)
        and user.is_staff
        and user.is_active
        and time.time() - float(data.get("started_at", 0)) < VIEW_AS_MAX_AGE
    )
    organization = (
        Organization.objects.filter(public_id=data.get("organization")).first() if valid else None
    )
    if organization is None:
        view_as_end(request)
        return None
    if request.method not in SAFE_METHODS and request.path not in {
        reverse(name) for name in _WRITE_EXEMPT_URL_NAMES
    }:
        raise PermissionDenied(
            _("You are viewing the portal as a customer: nothing can be changed here.")
        )
    return StaffViewContact(
        organization=organization, user=user, roles=list(Role.values), is_admin=True
    )


def apply_viewing_as(request) -> bool:
    """For CurrentContactMiddleware: True if the request now carries the staff view."""
    contact = viewing_as(request)
    if contact is None:
        return False
    request.contacts = [contact]
    request.contact = contact
    request.organization = contact.organization
    request.viewing_as_customer = True
    return True
