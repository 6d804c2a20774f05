# Customer Center — production image. One image runs every role:
#   web (default CMD, gunicorn), worker and beat (celery, see docker-compose.yml), migrate.
# Configuration comes only from the environment at run time (see .env.example); nothing
# secret is baked in. Build: docker build -t customer-center .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=portal.settings \
    WEB_CONCURRENCY=3

# WeasyPrint's runtime libraries (loaded with dlopen) and a font for PDFs. No compiler is
# needed: every pinned package ships a manylinux wheel for CPython 3.11 on x86-64.
# No gettext either: the compiled .mo catalogues are committed under locale/.
# Unpinned on purpose: bookworm's security updates replace old versions in the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# The app runs unprivileged; the code and collected static files stay owned by root (read-only
# to the app). Writable: MEDIA_ROOT's default (/app/.data/media), /tmp, and the home directory
# (fontconfig's cache, gunicorn's control socket ~/.gunicorn/gunicorn.ctl).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first so code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .

# collectstatic imports the settings with DEBUG=false (hashed, compressed files for
# WhiteNoise). The values below exist for this RUN line only: they are throwaway
# placeholders, never used to serve, and are not kept in the image's environment.
RUN DEBUG=false \
    SECRET_KEY=build-only-collectstatic-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 \
    EMAIL_URL=consolemail:// \
    ALLOWED_HOSTS=localhost \
    DEFAULT_FROM_EMAIL=build@localhost \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/.data/media \
    && chown -R app:app /app/.data

# Numeric, so orchestrators can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

# /healthz answers 200 when the database and the broker are reachable (exempt from the HTTPS
# redirect). Django rejects a Host outside ALLOWED_HOSTS, so send the first allowed host.
# Only meaningful for the web role; docker-compose.yml overrides it for worker and beat.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r = u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# Workers come from WEB_CONCURRENCY (gunicorn's default for --workers; 3 here, override at
# run time), each with 4 threads. 60 s request timeout leaves room for PDF rendering;
# access and error logs go to the container's stdout/stderr.
CMD ["gunicorn", "portal.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", \
     "--threads", "4", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--keep-alive", "5", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
