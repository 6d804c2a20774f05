"""Tenant scoping and the role check, written once.

- `CurrentContactMiddleware` puts the signed-in person's current organization and contact
  on the request.
- Every organization-owned model's queryset derives from `OrganizationScopedQuerySet`, and
  views reach rows only through `visible_to(contact)`: another organization's row is a 404,
  exactly like a missing one.
- Every view declares its module (`ModuleViewMixin.module` or `@module_view(...)`); a contact
  whose roles don't include it gets a 403.
"""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING

from allauth.account.decorators import reauthentication_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from contacts.models import Contact
    from contacts.roles import Action

SESSION_ORGANIZATION = "current_organization"
# Views that belong to the signed-in person rather than to an organization's module.
PERSONAL = "personal"


class OrganizationScopedQuerySet(models.QuerySet):
    """Base queryset of every organization-owned model."""

    organization_field = "organization"

    def visible_to(self, contact: Contact | None):
        if contact is None:
            return self.none()
        return self.filter(**{f"{self.organization_field}_id": contact.organization_id})


def _contacts_of(user) -> list[Contact]:
    from contacts.models import Contact

    return list(
        Contact.objects.active()
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name", "organization_id")
    )


class CurrentContactMiddleware:
    """request.contacts (all memberships), request.contact and request.organization."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from customers.impersonation import apply_viewing_as  # Staff "view as customer".

        if request.user.is_authenticated and apply_viewing_as(request):
            return self.get_response(request)
        contacts = _contacts_of(request.user) if request.user.is_authenticated else []
        chosen = request.session.get(SESSION_ORGANIZATION) if contacts else None
        current = next(
            (c for c in contacts if str(c.organization.public_id) == chosen),
            contacts[0] if contacts else None,
        )
        request.contacts = contacts
        request.contact = current
        request.organization = current.organization if current else None
        return self.get_response(request)


def current_contact(request) -> Contact | None:
    return getattr(request, "contact", None)


def check_module(request, module: str) -> Contact | None:
    """Raise PermissionDenied unless the current contact may see the module."""
    if module == PERSONAL:
        return current_contact(request)
    contact = current_contact(request)
    if contact is None:
        raise PermissionDenied(_("Your sign-in is not linked to any customer organization."))
    if not contact.can_see(module):
        raise PermissionDenied(_("Your role in this organization does not include this page."))
    return contact


def check_action(request, action: Action, *, changes: bool = True) -> Contact:
    """Raise PermissionDenied unless the contact may do it, and the account allows changes."""
    contact = current_contact(request)
    if contact is None or not contact.can_do(action):
        raise PermissionDenied(_("Your role in this organization does not allow this action."))
    if changes and not contact.organization.allows_changes:
        raise PermissionDenied(
            _("This account is closed: you can read and download, but not make changes.")
        )
    return contact


def module_view(module: str):
    """Decorate a function view with the module it belongs to; signs in, then checks roles."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            check_module(request, module)
            return view(request, *args, **kwargs)

        wrapped.module = module
        return wrapped

    return decorator


class ModuleViewMixin:
    """For class-based views: `module = Module.X`; get_queryset() is scoped to the contact."""

    module: str | None = None
    model: type[models.Model] | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.contact = check_module(request, self.module)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.model.objects.visible_to(self.contact)


def get_for(request, model_or_queryset, **lookup):
    """One row of the current organization, or 404 (also for other organizations' rows)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, models.QuerySet)
        else model_or_queryset.objects.all()
    )
    return get_object_or_404(queryset.visible_to(current_contact(request)), **lookup)


# allauth's public decorator around a no-op: raises ReauthenticationRequired when the
# password (or code) was not entered recently; allauth's middleware redirects and returns.
_recent_authentication_gate = reauthentication_required(lambda request: None)


def require_recent_authentication(request) -> None:
    """Sensitive changes: call after the object lookup, so outsiders still get a 404."""
    _recent_authentication_gate(request)
