"""WSGI entry point for `make load` only: the production app plus one bare view.

The load test compares the portal's pages with a bare Django view served by the same
processes, through the same middleware. The bare view lives here, not in portal/urls.py, so
the shipped application has no load-test route at all.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
