"""The production settings, unchanged, with the load test's URLconf (bench/load_urls.py)."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
