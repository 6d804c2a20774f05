"""The embedded PostgreSQL used when no DATABASE_URL is set (development and `make test`)."""

import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def embedded_postgres_host(data_dir: Path) -> str:
    """Start (or join) the pgserver instance under data_dir; return its socket directory."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on servers.
        try:
            import pgserver
        except ImportError as exc:  # Python 3.13+: no pgserver wheel.
            raise ImproperlyConfigured(
                "No DATABASE_URL is set and the embedded PostgreSQL (pgserver) is not installed. "
                "pgserver has wheels for Python 3.11 and 3.12; on other versions set DATABASE_URL."
            ) from exc
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return str(server.get_postmaster_info().socket_dir)
