"""Payment methods: list, add (SetupIntent + Stripe.js Card Element), make default, update the
expiry date, remove. Changes need the pay action and a recent sign-in (re-authentication)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import profiles, stripe_client
from billing.forms import ExpiryForm, RemoveMethodForm
from billing.models import PaymentMethod
from billing.stripe_client import CardError, StripeUnavailable, stripe_csp
from contacts.roles import Action, Module
from portal.access import check_action, get_for, module_view, require_recent_authentication

# SetupIntents this session created: the confirm step accepts only those.
SESSION_SETUP_INTENTS = "billing_setup_intents"
MAX_SESSION_SETUP_INTENTS = 5


def _usable(request):
    return PaymentMethod.objects.visible_to(request.contact).usable()


def _method_for_change(request, method_id) -> tuple:
    """Lookup first (outsiders: 404), then the role (403), then a recent sign-in."""
    method = get_for(request, PaymentMethod.objects.usable(), public_id=method_id)
    contact = check_action(request, Action.PAY)
    require_recent_authentication(request)
    return method, contact


@module_view(Module.BILLING)
def method_list(request):
    methods = list(_usable(request))
    for method in methods:
        method.expired = method.is_expired()
    context = {
        "methods": methods,
        "can_pay": request.contact.can_do(Action.PAY) and request.organization.allows_changes,
    }
    return render(request, "billing/methods.html", context)


@module_view(Module.BILLING)
@stripe_csp
def method_add(request):
    contact = check_action(request, Action.PAY)
    require_recent_authentication(request)
    try:
        intent = profiles.payment_method_setup_start(contact=contact)
    except StripeUnavailable as error:
        context = {"unavailable": error.message}
        return render(request, "billing/method_add.html", context, status=503)
    known = request.session.get(SESSION_SETUP_INTENTS, [])
    request.session[SESSION_SETUP_INTENTS] = [*known, intent.id][-MAX_SESSION_SETUP_INTENTS:]
    context = {
        "client_secret": intent.client_secret,
        "setup_intent_id": intent.id,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
    }
    return render(request, "billing/method_add.html", context)


@module_view(Module.BILLING)
@require_POST
def method_add_confirm(request):
    # No re-authentication here: the SetupIntent must come from this session's add page,
    # which required it; a timeout between the two would lose a card saved at Stripe.
    contact = check_action(request, Action.PAY)
    setup_intent_id = request.POST.get("setup_intent", "")
    if setup_intent_id not in request.session.get(SESSION_SETUP_INTENTS, []):
        messages.error(request, _("This card form has expired. Please enter the card again."))
        return redirect("billing:method_add")
    error_code = request.POST.get("error_code", "")
    if error_code:  # Stripe.js refused the card (decline, 3-D Secure cancelled).
        messages.error(request, stripe_client.decline_reason(error_code))
        return redirect("billing:method_add")
    try:
        method = profiles.payment_method_add(
            contact=contact, actor=request.user, setup_intent_id=setup_intent_id
        )
    except CardError as error:
        messages.error(request, error.reason)
        return redirect("billing:method_add")
    except StripeUnavailable as error:
        messages.error(request, error.message)
        return redirect("billing:method_add")
    except profiles.BillingError as error:
        messages.error(request, str(error))
        return redirect("billing:method_add")
    request.session[SESSION_SETUP_INTENTS] = [
        i for i in request.session.get(SESSION_SETUP_INTENTS, []) if i != setup_intent_id
    ]
    messages.success(
        request, _("Card %(card)s was saved.") % {"card": profiles.method_label(method)}
    )
    return redirect("billing:methods")


@module_view(Module.BILLING)
def method_make_default(request, method_id):
    method, contact = _method_for_change(request, method_id)
    if request.method == "POST":
        try:
            changed = profiles.payment_method_make_default(
                contact=contact, actor=request.user, method=method
            )
        except profiles.BillingError as error:
            messages.error(request, str(error))
        else:
            if changed:
                messages.success(
                    request,
                    _("%(card)s is now your default card.")
                    % {"card": profiles.method_label(method)},
                )
        return redirect("billing:methods")
    return render(request, "billing/method_default.html", {"method": method})


@module_view(Module.BILLING)
def method_update_expiry(request, method_id):
    method, contact = _method_for_change(request, method_id)
    initial = {"exp_month": method.exp_month, "exp_year": method.exp_year}
    form = ExpiryForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profiles.payment_method_update_expiry(
                contact=contact, actor=request.user, method=method, **form.cleaned_data
            )
        except (profiles.BillingError, CardError) as error:
            form.add_error(None, getattr(error, "reason", None) or str(error))
        except StripeUnavailable as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("The expiry date of %(card)s was updated.")
                % {"card": profiles.method_label(method)},
            )
            return redirect("billing:methods")
    return render(request, "billing/method_expiry.html", {"method": method, "form": form})


@module_view(Module.BILLING)
def method_remove(request, method_id):
    method, contact = _method_for_change(request, method_id)
    others = [m for m in _usable(request) if m.pk != method.pk]
    data = request.POST if request.method == "POST" else None
    form = RemoveMethodForm(data, method=method, others=others)
    if request.method == "POST" and form.is_valid():
        try:
            profiles.payment_method_remove(
                contact=contact,
                actor=request.user,
                method=method,
                new_default=form.cleaned_data.get("new_default"),
            )
        except profiles.BillingError as error:
            form.add_error(None, str(error))
        except StripeUnavailable as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Card %(card)s was removed.") % {"card": profiles.method_label(method)}
            )
            return redirect("billing:methods")
    auto_pay = getattr(getattr(request.organization, "billing_profile", None), "auto_pay", False)
    context = {"method": method, "form": form, "others": others, "auto_pay": auto_pay}
    return render(request, "billing/method_remove.html", context)
