"""Security events for the log (ASVS V16.3): sign-ins, failed sign-ins, sign-outs, rejected
sign-in codes and denied access (403/404). Never a password, code or token: a failed
sign-in names the e-mail only by a short hash, and URL arguments that carry secrets are
redacted.
"""

import hashlib
import logging

from allauth.account.signals import login_code_rejected
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("portal.security")

# URL keywords that carry a secret (invitation tokens, password-reset keys).
SECRET_KWARGS = {"token", "key", "uidb36"}


def email_digest(email: str) -> str:
    """Correlates failed attempts on one address without writing the address down."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "-") if request is not None else "-"


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs) -> None:
    email = str(credentials.get("email") or credentials.get("username") or "")
    logger.warning("sign-in failed email_sha256=%s ip=%s", email_digest(email), _client_ip(request))


@receiver(user_logged_in)
def log_logged_in(sender, request, user, **kwargs) -> None:
    logger.info("sign-in succeeded user=%s ip=%s", user.pk, _client_ip(request))


@receiver(user_logged_out)
def log_logged_out(sender, request, user, **kwargs) -> None:
    logger.info("sign-out user=%s", getattr(user, "pk", None))


@receiver(login_code_rejected)
def log_login_code_rejected(sender, request, user=None, **kwargs) -> None:
    logger.warning(
        "sign-in code rejected user=%s ip=%s", getattr(user, "pk", None), _client_ip(request)
    )


class DeniedAccessLogMiddleware:
    """Log every 403 and 404 with who asked for what (route and non-secret arguments)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404):
            user = getattr(request, "user", None)
            match = getattr(request, "resolver_match", None)
            arguments = (
                {k: ("[redacted]" if k in SECRET_KWARGS else v) for k, v in match.kwargs.items()}
                if match
                else {}
            )
            logger.warning(
                "access denied status=%s user=%s method=%s view=%s args=%s ip=%s",
                response.status_code,
                user.pk if user is not None and user.is_authenticated else "anonymous",
                request.method,
                match.view_name if match else "-",
                arguments,
                _client_ip(request),
            )
        return response
