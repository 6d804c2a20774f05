"""Customer Center settings: every value comes from the environment.

With no variables set the portal runs on an embedded default (DEBUG on, PostgreSQL from
the pgserver wheel under .data/, tasks in-process, e-mails written to .data/mail/, the
localstripe emulator). With DEBUG off every secret must be given; nothing falls back.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()
# A .env file is optional; real environment variables win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env", overwrite=False)


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: a typo fails start-up instead of meaning False."""
    raw = env.ENVIRON.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def required(name: str, reader=env.str, **kwargs):
    """Read a variable that has no default once DEBUG is off."""
    if DEBUG:
        return reader(name, **kwargs)
    if name not in env.ENVIRON or env.ENVIRON[name] == "":
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    kwargs.pop("default", None)
    return reader(name, **kwargs)


DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = required("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off.")
ALLOWED_HOSTS = required("ALLOWED_HOSTS", reader=env.list, default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.url("SITE_URL", default="http://127.0.0.1:8000").geturl().rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_tables2",
    "django_filters",
    "csp",
    "portal",
    "accounts",
    "contacts",
    "orders",
    "invoices",
    "contracts",
    "plans",
    "rewards",
    "billing",
    "customers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "portal.access.CurrentContactMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionLimitsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "customers.access.StaffMfaAdminMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "portal.security.DeniedAccessLogMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Database: one engine everywhere (PostgreSQL) ---------------------------------------
if "DATABASE_URL" in env.ENVIRON:
    DATABASES = {"default": env.db("DATABASE_URL")}
elif DEBUG:
    from portal.embedded import embedded_postgres_host

    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": "postgres",
            "HOST": embedded_postgres_host(DATA_DIR / "pg"),
        }
    }
else:
    raise ImproperlyConfigured("DATABASE_URL must be set when DEBUG is off.")
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Customer Center runs on PostgreSQL only.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker and shared cache -----------------------------------------------------
REDIS_URL = required("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cc",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Shared by every local process (runserver, workers): rate limits stay global.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
        }
    }

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "emails-deliver-pending": {
        "task": "portal.tasks.emails_deliver_pending_task",
        "schedule": crontab(minute="*"),
    },
    "invoices-recalculate-overdue": {
        "task": "invoices.tasks.invoices_recalculate_overdue_task",
        "schedule": crontab(minute=5),
    },
    "contracts-send-end-reminders": {
        "task": "contracts.tasks.contracts_send_end_reminders_task",
        "schedule": crontab(hour=6, minute=0),
    },
    "subscriptions-invoice-due": {
        "task": "plans.tasks.subscriptions_invoice_due_task",
        "schedule": crontab(hour=2, minute=30),
    },
    "rewards-expire": {
        "task": "rewards.tasks.rewards_expire_task",
        "schedule": crontab(minute=20),
    },
    "rewards-earn-pending": {
        "task": "rewards.tasks.rewards_earn_pending_task",
        "schedule": crontab(minute=40),
    },
    "customers-scheduled-actions-run": {
        "task": "customers.tasks.scheduled_actions_run_task",
        "schedule": crontab(minute=10),
    },
    "payments-autopay": {
        "task": "billing.tasks.payments_autopay_task",
        "schedule": crontab(hour=6, minute=0),
    },
    "payments-reconcile": {
        "task": "billing.tasks.payments_reconcile_task",
        "schedule": crontab(hour=3, minute=30),
    },
    "payments-send-pending-receipts": {
        "task": "billing.tasks.payments_send_pending_receipts_task",
        "schedule": crontab(minute="*/15"),
    },
    "payment-methods-remind-expiring": {
        "task": "billing.tasks.payment_methods_remind_expiring_task",
        "schedule": crontab(hour=8, minute=0),
    },
    "contacts-reminders-raise": {
        "task": "contacts.tasks.contact_reminders_raise_task",
        "schedule": crontab(minute="*/10"),
    },
    "contacts-disputes-to-cases": {
        # Opens the cases of disputes whose on-commit hook could not reach the broker.
        "task": "contacts.tasks.disputes_to_cases_task",
        "schedule": crontab(minute=50),
    },
    "invoices-notify-overdue": {
        # Also sweeps transitions whose e-mail could not be queued (e.g. broker outage).
        "task": "invoices.tasks.invoices_notify_overdue_task",
        "schedule": crontab(minute="*/15"),
    },
}

# --- E-mail -------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = required("DEFAULT_FROM_EMAIL", default="Customer Center <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if "EMAIL_URL" in env.ENVIRON:
    vars().update(env.email_url("EMAIL_URL"))
elif DEBUG:
    EMAIL_BACKEND = "portal.mail_backend.MailDirBackend"
else:
    raise ImproperlyConfigured("EMAIL_URL must be set when DEBUG is off.")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
MAIL_DIR = DATA_DIR / "mail"
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
# Where staff requests from customers go (e.g. a tax ID change); defaults to SERVER_EMAIL.
STAFF_NOTIFICATIONS_EMAIL = env.str("STAFF_NOTIFICATIONS_EMAIL", default="") or SERVER_EMAIL
# The contact named on the accessibility statement (/accessibility/).
ACCESSIBILITY_CONTACT_EMAIL = (
    env.str("ACCESSIBILITY_CONTACT_EMAIL", default="") or STAFF_NOTIFICATIONS_EMAIL
)

# --- Stripe (only billing/stripe_client.py reads these) --------------------------------------
# Production: the real API with live keys; all three secrets are required when DEBUG is off.
# Development and tests without STRIPE_SECRET_KEY: the localstripe emulator, started by
# `make run` (portal/devstripe.py) or the test fixture, which export STRIPE_EMULATOR_URL
# (http://127.0.0.1:<port>); the dev keys below are what the emulator accepts.
STRIPE_SECRET_KEY = required("STRIPE_SECRET_KEY", default="sk_test_local_emulator")
STRIPE_PUBLISHABLE_KEY = required("STRIPE_PUBLISHABLE_KEY", default="pk_test_local_emulator")
STRIPE_WEBHOOK_SECRET = required("STRIPE_WEBHOOK_SECRET", default="whsec_local_emulator")
_STRIPE_EMULATED = DEBUG and not env.str("STRIPE_SECRET_KEY", default="")
# "" means the real Stripe API. Emulated without a running emulator: localstripe's default
# port, which fails fast (connection refused) instead of reaching the real Stripe.
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE",
    default=(env.str("STRIPE_EMULATOR_URL", default="") or "http://127.0.0.1:8420")
    if _STRIPE_EMULATED
    else "",
).rstrip("/")
STRIPE_JS_URL = env.str(
    "STRIPE_JS_URL",
    default=f"{STRIPE_API_BASE}/js.stripe.com/v3/"
    if STRIPE_API_BASE
    else "https://js.stripe.com/v3/",
)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=10.0)  # Seconds per request.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

# --- Authentication: django-allauth, e-mail is the identity ----------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 300
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_CHANGE_EMAIL = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    # Five wrong passwords for one e-mail in five minutes lock that e-mail; per IP too.
    "login_failed": "20/m/ip,5/5m/key",
    "login": "30/m/ip",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
}
# Rate limits key on the client IP: behind a proxy, name how many proxies to trust, so a
# spoofed X-Forwarded-For can't reset the limit (0: use REMOTE_ADDR only).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Customer Center"
MFA_PASSKEY_LOGIN_ENABLED = False
USERSESSIONS_TRACK_ACTIVITY = False

# --- Sessions: 30 minutes idle, 12 hours absolute ---------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = 30 * 60
SESSION_ABSOLUTE_TIMEOUT = 12 * 60 * 60
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Flash messages live in the session: no extra, un-prefixed "messages" cookie (ASVS V3.3.3).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True

# --- Security headers ---------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    # __Host- cookies: Secure, no Domain, Path=/ — bound to this exact origin.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    LANGUAGE_COOKIE_NAME = "__Host-language"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("pt-br", _("Portuguese (Brazil)")),
    ("fr", _("French")),
    ("de", _("German")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(DATA_DIR / "media"))

# --- Tables ---------------------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "components/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

# --- Logging: auth events and denied access, never secrets ---------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.security": {"level": "INFO"},
        "portal.security": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},  # The library logs every request at INFO.
    },
}
