"""Billing overview and the billing-profile form. Finance changes it; executives read it."""

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing import profiles
from billing.countries import COUNTRIES
from billing.forms import BillingProfileForm
from billing.models import BillingProfile, PaymentMethod
from billing.payments import payments_due_summary
from contacts.roles import Action, Module
from portal.access import check_action, module_view

COUNTRY_NAMES = dict(COUNTRIES)


def _profile_for_reading(organization) -> BillingProfile:
    """The saved profile, or an empty unsaved one: reading a page never writes."""
    profile = BillingProfile.objects.filter(organization=organization).first()
    return profile or BillingProfile(organization=organization)


def _methods_summary(contact) -> dict:
    usable = PaymentMethod.objects.visible_to(contact).usable()
    figures = usable.aggregate(count=Count("pk"), defaults=Count("pk", filter=Q(is_default=True)))
    return {
        "count": figures["count"],
        "default": usable.filter(is_default=True).first() if figures["defaults"] else None,
        "expiring": profiles.expiring_soon_count(organization_id=contact.organization_id),
    }


@module_view(Module.BILLING)
def overview(request):
    contact = request.contact
    profile = _profile_for_reading(request.organization)
    context = {
        "profile": profile,
        "country_name": COUNTRY_NAMES.get(profile.country, profile.country),
        "methods": _methods_summary(contact),
        # Filled by the payments side (templates/billing/_payments_due_summary.html).
        "due_summary": payments_due_summary(contact),
        "can_pay": contact.can_do(Action.PAY) and request.organization.allows_changes,
    }
    return render(request, "billing/overview.html", context)


def _initial(profile: BillingProfile) -> dict:
    data = {name: getattr(profile, name) for name in profiles.PROFILE_FIELDS}
    data["invoice_recipients"] = ", ".join(profile.invoice_recipients or [])
    data["tax_id"] = profile.requested_tax_id or profile.tax_id
    return data


@module_view(Module.BILLING)
def profile_edit(request):
    contact = request.contact
    profile = _profile_for_reading(request.organization)
    locked = profiles.tax_id_is_locked(organization=request.organization)
    has_default = (
        PaymentMethod.objects.visible_to(contact).usable().filter(is_default=True).exists()
    )
    form_kwargs = {"tax_id_locked": locked, "has_default_method": has_default}
    if request.method == "POST":
        contact = check_action(request, Action.PAY)
        form = BillingProfileForm(request.POST, initial=_initial(profile), **form_kwargs)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "tax_id"}
            try:
                change = profiles.billing_profile_update(
                    contact=contact,
                    actor=request.user,
                    data=data,
                    tax_id=form.cleaned_data["tax_id"],
                )
            except profiles.BillingError as error:
                form.add_error(None, str(error))
            else:
                if change.tax_id_requested:
                    messages.info(
                        request,
                        _(
                            "Your tax ID change was sent to our staff for review. "
                            "Invoices keep the current tax ID until it is approved."
                        ),
                    )
                if change.changed:
                    messages.success(request, _("Your billing profile was saved."))
                elif not change.tax_id_requested:
                    messages.info(request, _("Nothing changed."))
                return redirect("billing:overview")
    else:
        form = BillingProfileForm(initial=_initial(profile), **form_kwargs)
    can_change = contact.can_do(Action.PAY) and request.organization.allows_changes
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    context = {"form": form, "profile": profile, "tax_id_locked": locked, "can_change": can_change}
    return render(request, "billing/profile.html", context)
