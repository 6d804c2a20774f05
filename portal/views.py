import email
import email.policy
from datetime import date
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.access import PERSONAL, module_view
from portal.celery import app as celery_app
from portal.dashboard import dashboard_cards


@module_view(PERSONAL)  # Everyone signed in has a home; its cards follow the roles.
def home(request):
    return render(request, "portal/home.html", {"cards": dashboard_cards(request.contact)})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "in-process"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        return "unreachable"


@require_GET
@never_cache
def healthz(request):
    """Reachability of the database and the broker; no secrets, no auth."""
    database = "ok" if _database_ok() else "unreachable"
    broker = _broker_status()
    healthy = database == "ok" and broker != "unreachable"
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )


def _mail_files() -> list[Path]:
    directory = Path(settings.MAIL_DIR)
    return sorted(directory.glob("*.eml"), reverse=True) if directory.is_dir() else []


def _read_mail(path: Path) -> dict:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    return {
        "id": path.stem,
        "subject": message["subject"],
        "to": message["to"],
        "date": message["date"],
        "body": body.get_content() if body else "",
        "attachments": [part.get_filename() for part in message.iter_attachments()],
    }


@require_GET
def dev_mail_list(request):
    """DEBUG only: the e-mails the portal 'sent', so sign-in codes can be read locally."""
    if not settings.DEBUG:
        raise Http404
    mails = [_read_mail(path) for path in _mail_files()[:100]]
    return render(request, "portal/dev_mail_list.html", {"mails": mails})


@require_GET
def dev_mail_detail(request, mail_id: str):
    if not settings.DEBUG:
        raise Http404
    path = Path(settings.MAIL_DIR) / f"{mail_id}.eml"
    if "/" in mail_id or not path.is_file():
        raise Http404
    return render(request, "portal/dev_mail_detail.html", {"mail": _read_mail(path)})


# When the accessibility statement was last reviewed (update it with the statement).
ACCESSIBILITY_REVIEWED = date(2026, 11, 22)


@require_GET
def accessibility(request):
    """The accessibility statement: public, linked from every page's footer."""
    context = {
        "contact_email": parseaddr(settings.ACCESSIBILITY_CONTACT_EMAIL)[1],
        "reviewed": ACCESSIBILITY_REVIEWED,
    }
    return render(request, "portal/accessibility.html", context)


for _public_view in (healthz, dev_mail_list, dev_mail_detail, accessibility):
    _public_view.module = "public"


def email_management_disabled(request):
    """The sign-in address is fixed; staff change it on request (ASVS V7.5.1)."""
    raise Http404


email_management_disabled.module = "public"
