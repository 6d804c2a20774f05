from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin, SingleTableView

from accounts.views import safe_next
from contacts import services
from contacts.forms import ActivityFilter, ContactRolesForm, InvitationForm, OrganizationSwitchForm
from contacts.models import ActivityEvent, Contact, Invitation
from contacts.roles import Action, Module
from contacts.tables import ActivityTable, ContactTable
from portal.access import (
    PERSONAL,
    SESSION_ORGANIZATION,
    ModuleViewMixin,
    check_action,
    get_for,
    module_view,
    require_recent_authentication,
)
from portal.tables import csv_response


class UserListView(ModuleViewMixin, SingleTableView):
    module = Module.USERS
    model = Contact
    table_class = ContactTable
    template_name = "contacts/user_list.html"

    def get_queryset(self):
        return super().get_queryset().active().select_related("user").order_by("user__email")

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "invitations": list(
                Invitation.objects.visible_to(self.contact).pending().order_by("email")
            ),
        }


@module_view(Module.USERS)
def user_invite(request):
    contact = check_action(request, Action.MANAGE_USERS)
    require_recent_authentication(request)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(inviter=contact, **form.cleaned_data)
        except services.ContactError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("contacts:users")
    return render(request, "contacts/user_invite.html", {"form": form})


@module_view(Module.USERS)
def user_edit(request, contact_id):
    actor = check_action(request, Action.MANAGE_USERS)
    contact = get_for(
        request, Contact.objects.active().select_related("user"), public_id=contact_id
    )
    require_recent_authentication(request)
    initial = {"roles": contact.roles, "is_admin": contact.is_admin}
    form = ContactRolesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_change_roles(actor=actor, contact=contact, **form.cleaned_data)
        except services.ContactError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Roles of %(email)s saved.") % {"email": contact.user.email}
            )
            return redirect("contacts:users")
    return render(request, "contacts/user_edit.html", {"form": form, "member": contact})


@module_view(Module.USERS)
def user_remove(request, contact_id):
    actor = check_action(request, Action.MANAGE_USERS)
    contact = get_for(
        request, Contact.objects.active().select_related("user"), public_id=contact_id
    )
    require_recent_authentication(request)
    if request.method == "POST":
        try:
            services.contact_remove(actor=actor, contact=contact)
        except services.ContactError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(email)s was removed.") % {"email": contact.user.email})
        return redirect("contacts:users")
    return render(request, "contacts/user_remove.html", {"member": contact})


@module_view(Module.USERS)
@require_POST
def invitation_resend(request, invitation_id):
    actor = check_action(request, Action.MANAGE_USERS)
    invitation = get_for(request, Invitation, public_id=invitation_id)
    try:
        services.invitation_resend(inviter=actor, invitation=invitation)
    except services.ContactError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Invitation sent again to %(email)s.") % {"email": invitation.email}
        )
    return redirect("contacts:users")


@module_view(Module.USERS)
@require_POST
def invitation_revoke(request, invitation_id):
    actor = check_action(request, Action.MANAGE_USERS)
    invitation = get_for(request, Invitation, public_id=invitation_id)
    try:
        services.invitation_revoke(inviter=actor, invitation=invitation)
    except services.ContactError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Invitation to %(email)s revoked.") % {"email": invitation.email}
        )
    return redirect("contacts:users")


def invitation_accept(request, token):
    """Public: the link from the invitation e-mail."""
    invitation = services.invitation_for_token(token)
    usable = invitation is not None and invitation.is_usable
    if usable and not request.user.is_authenticated:
        # Sign in (existing person) or sign up (new person) for this address only.
        request.session["invitation_signup_email"] = invitation.email
        return redirect_to_login(request.get_full_path())
    if request.method == "POST" and usable:
        try:
            contact = services.invitation_accept(token=token, user=request.user)
        except services.ContactError as error:
            messages.error(request, str(error))
        else:
            request.session.pop("invitation_signup_email", None)
            request.session[SESSION_ORGANIZATION] = str(contact.organization.public_id)
            messages.success(
                request, _("Welcome to %(organization)s.") % {"organization": contact.organization}
            )
            return redirect("home")
    return render(
        request, "contacts/invitation_accept.html", {"invitation": invitation, "usable": usable}
    )


invitation_accept.module = PERSONAL


class ActivityListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.ACTIVITY
    model = ActivityEvent
    table_class = ActivityTable
    filterset_class = ActivityFilter
    template_name = "contacts/activity_list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("actor")

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            filterset = self.filterset_class(request.GET, queryset=self.get_queryset())
            rows = (
                (
                    e.created_at.isoformat(),
                    e.actor.email if e.actor else "",
                    e.get_verb_display(),
                    e.target,
                )
                for e in filterset.qs.iterator(chunk_size=2000)
            )
            return csv_response(
                filename="activity.csv",
                header=[_("When"), _("Who"), _("What"), _("Subject")],
                rows=rows,
            )
        return super().get(request, *args, **kwargs)


@module_view(PERSONAL)
@require_POST
def organization_switch(request):
    form = OrganizationSwitchForm(request.POST)
    chosen = form.cleaned_data["organization"] if form.is_valid() else None
    contact = next((c for c in request.contacts if c.organization.public_id == chosen), None)
    if contact is None:
        messages.error(request, _("You are not a user of that organization."))
    else:
        request.session[SESSION_ORGANIZATION] = str(contact.organization.public_id)
        messages.success(
            request,
            _("You are now working in %(organization)s.") % {"organization": contact.organization},
        )
    return redirect(safe_next(request, default=reverse("home")))
