from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms import LanguageForm, ProfileForm
from accounts.services import user_set_language
from portal.access import PERSONAL
from portal.middleware import set_language_cookie


def safe_next(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A local path only: redirect() would try to reverse a bare word such as "NaN" (500).
    allowed = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else default


@require_POST
def language_switch(request):
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That language is not available."))
        return redirect(safe_next(request))
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=language)
    translation.activate(language)
    response = redirect(safe_next(request))
    set_language_cookie(response, language)
    return response


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        translation.activate(request.user.language)
        messages.success(request, _("Your profile was saved."))
        response = redirect("accounts:profile")
        set_language_cookie(response, request.user.language)
        return response
    return render(request, "accounts/profile.html", {"form": form})


language_switch.module = "public"
profile.module = PERSONAL
