"""Who may use the staff console and the Django admin.

- Anonymous visitors are sent to sign in.
- Signed-in people who are not staff get a 404 on every staff URL: the console does not
  exist for them (zulip and healthchecks do the same for other tenants' objects).
- Staff without a TOTP authenticator are sent to set one up, for the staff pages and for
  the Django admin (`StaffMfaAdminMiddleware`); allauth then asks for the code at sign-in.
"""

from functools import wraps

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

# The "module" staff views declare, for the URL walk (they are not a customer module).
STAFF = "staff"


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def _mfa_setup_redirect(request):
    messages.warning(
        request,
        _("Staff pages need two-factor authentication. Set up an authenticator app first."),
    )
    return redirect("mfa_activate_totp")


def staff_gate(request):
    """None if the request may use staff pages, else the response to send instead."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (user.is_staff and user.is_active):
        raise Http404
    if not has_totp(user):
        return _mfa_setup_redirect(request)
    return None


def staff_required(view):
    """Function views of the staff console."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        refused = staff_gate(request)
        if refused is not None:
            return refused
        return view(request, *args, **kwargs)

    wrapped.module = STAFF
    return wrapped


class StaffRequiredMixin:
    """Class-based views of the staff console."""

    module = STAFF

    def dispatch(self, request, *args, **kwargs):
        refused = staff_gate(request)
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)


class StaffMfaAdminMiddleware:
    """Staff without TOTP can't use the Django admin: they are sent to set it up.

    The admin's own checks (is_staff, permissions, allauth's secure_admin_login) still
    apply; this only adds MFA. Non-admin paths cost nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._prefix = None

    def __call__(self, request):
        if self._prefix is None:
            self._prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        if (
            request.path.startswith(self._prefix)
            and user is not None
            and user.is_authenticated
            and user.is_staff
            and not has_totp(user)
        ):
            return _mfa_setup_redirect(request)
        return self.get_response(request)
