"""Shared plumbing for the benchmark scripts: a dedicated database, timing, reporting.

Benchmarks never touch the developer's data: DATABASE_URL must name the database
`cc_bench` on a loopback or unix-socket server; it is (re)created here and dropped at the end
unless --keep. Nothing here asserts timings; scripts print figures and write JSON.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DATABASE = "cc_bench"
LOOPBACK_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS = BASE_DIR / ".artifacts"
EXAMPLE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"


class BenchSetupError(SystemExit):
    """A refusal to start, with a message for the person running the script."""


# --- The dedicated database ----------------------------------------------------------------


def bench_database_settings() -> dict:
    """Django's database settings for the bench database, or BenchSetupError.

    Reads DATABASE_URL before django.setup(): without it portal.settings would start the
    embedded development PostgreSQL, which holds the developer's data.
    """
    if not os.environ.get("DATABASE_URL"):
        raise BenchSetupError(
            f"DATABASE_URL is required and must name the bench database, e.g.\n"
            f"  DATABASE_URL={EXAMPLE_URL} python -m bench.invoices"
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["NAME"] != BENCH_DATABASE:
        raise BenchSetupError(
            f"DATABASE_URL names {db['NAME']!r}; the benchmark creates, fills and drops its own "
            f"database and only runs against {BENCH_DATABASE!r} (e.g. {EXAMPLE_URL})."
        )
    host = str(db.get("HOST") or "")
    if host not in LOOPBACK_HOSTS and not host.startswith("/"):
        raise BenchSetupError(
            f"DATABASE_URL host {host!r} is not loopback or a unix socket; "
            "benchmarks only run against a local server."
        )
    return db


def _server_conninfo(db: dict) -> dict:
    """Connection arguments for the server's maintenance database (`postgres`)."""
    conninfo = {
        "dbname": "postgres",
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "connect_timeout": 5,
    }
    return {key: value for key, value in conninfo.items() if value}


def database_exists(db: dict) -> bool:
    import psycopg

    with psycopg.connect(**_server_conninfo(db), autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        return row.fetchone() is not None


def create_database(db: dict) -> None:
    """Drop any previous bench database and create an empty one."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(db["NAME"])
    with psycopg.connect(**_server_conninfo(db), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def drop_database(db: dict) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with psycopg.connect(**_server_conninfo(db), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db["NAME"]))
        )


# --- Timing --------------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def backend_cpu() -> tuple[int, float | None]:
    """(pid, CPU ms so far) of the PostgreSQL backend serving Django's connection.

    The server is local, so /proc tells how much work a query did however busy the machine
    is; wall time on a shared 2-CPU box also measures the neighbours. None when unreadable.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return pid, None
    return pid, (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU spent by this process and by its database backend between start() and stop()."""

    def start(self) -> None:
        self.pid, self.backend = backend_cpu()
        self.process = time.process_time()

    def stop(self) -> dict[str, float | None]:
        process_ms = (time.process_time() - self.process) * 1000
        pid, backend = backend_cpu()
        # A reconnect in between (CONN_MAX_AGE) makes the backend figure meaningless.
        backend_ms = backend - self.backend if pid == self.pid and backend is not None else None
        return {"process_ms": process_ms, "server_ms": backend_ms}


def sample(action: Callable[[], Any], *, runs: int, warmup: int) -> tuple[list[float], dict]:
    """Milliseconds of `runs` calls after `warmup` untimed ones, and CPU per call."""
    for _ in range(warmup):
        action()
    meter = CpuMeter()
    meter.start()
    samples = [timed(action)[0] for _ in range(runs)]
    cpu = meter.stop()
    per_call = {
        key: (round(value / runs, 2) if value is not None else None) for key, value in cpu.items()
    }
    return samples, per_call


def wal_position() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def wal_bytes_since(position: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", [position])
        return cursor.fetchone()[0]


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 50 samples is the 48th fastest)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(samples: list[float], cpu: dict | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "min_ms": round(min(samples), 2),
    }
    if cpu is not None:
        result["cpu_per_call"] = cpu
    return result


def ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator else float("inf")


def log(message: str) -> None:
    print(message, flush=True)


# --- Reporting -----------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """What the figures were measured on; PostgreSQL settings come from the server itself."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings "
            "WHERE name = ANY(%s) ORDER BY name",
            [["shared_buffers", "work_mem", "jit", "synchronous_commit", "max_wal_size"]],
        )
        pg_settings = dict(cursor.fetchall())
    import django
    import weasyprint

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # Other work on the machine while measuring (1, 5, 15 min averages).
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "weasyprint": weasyprint.__version__,
        "postgresql": server_version,
        "postgresql_settings": pg_settings,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list) -> str:
        return "  ".join(f"{cell!s:<{width}}" for cell, width in zip(cells, widths, strict=True))

    log(line(header))
    log(line(["-" * width for width in widths]))
    for row in rows:
        log(line(row))


def write_json(name: str, payload: dict) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(2)
