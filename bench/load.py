"""Load test: gunicorn with production settings on PostgreSQL and Redis, loopback only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_load python -m bench.load

What it does (bench/README.md, "Load test", says why each choice was made):
1. (Re)creates the dedicated database `cc_load`, migrates it, seeds the demo data
   (`seed_demo`), collects the static files; empties Redis db 9 (rate-limit counters).
2. Starts the localstripe emulator (portal/devstripe.py) and gunicorn (gthread) with
   DEBUG=false, `__Host-` Secure cookies, HSTS, CSP, Stripe keys pointing at the emulator.
   gunicorn serves bench/load_wsgi.py: the production settings plus one bare view.
3. For each concurrency level (10, 50, 100 users by default) runs closed-loop virtual users
   with no think time, first against the bare view, then with the realistic mix, each phase
   bounded in time and in requests. Every response is checked (status, no redirect to the
   sign-in page); anything else is an error.
4. Prints the figures, writes .artifacts/load.json, stops everything it started and drops
   the database (unless --keep).

Only 127.0.0.1 is ever contacted. Nothing asserts timings; the exit status is 1 when any
request failed (zero errors is the bar).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS = BASE_DIR / ".artifacts"
LOAD_DATABASE = "cc_load"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
EXAMPLE = f"DATABASE_URL=postgres://postgres@127.0.0.1:5432/{LOAD_DATABASE} python -m bench.load"

MAX_USERS = 100  # Load users created (load{n}@acme.example / load{n}@globex.example).
DEMO_PASSWORD = "customer-center-demo"  # noqa: S105 — the documented demo credential.
INVOICE_NUMBERS = range(2026000, 2026060)  # The 60 demo invoices of each organization.
PAGES_PER_SIGN_IN = 8  # Browse iterations between a sign-in and the sign-out.


class SetupError(SystemExit):
    pass


# --- Configuration -------------------------------------------------------------------------


def _check_environment() -> tuple[str, str]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    if not database_url:
        raise SetupError(f"DATABASE_URL must name the load-test database, e.g.\n  {EXAMPLE}")
    db = urllib.parse.urlsplit(database_url)
    if db.path.lstrip("/") != LOAD_DATABASE:
        raise SetupError(
            f"DATABASE_URL names {db.path.lstrip('/')!r}; the load test creates, fills and drops "
            f"its own database and only runs against {LOAD_DATABASE!r}:\n  {EXAMPLE}"
        )
    if (db.hostname or "") not in LOOPBACK:
        raise SetupError(f"DATABASE_URL host {db.hostname!r} is not loopback.")
    if (urllib.parse.urlsplit(redis_url).hostname or "") not in LOOPBACK:
        raise SetupError(f"REDIS_URL host in {redis_url!r} is not loopback.")
    return database_url, redis_url


def _maintenance_url(database_url: str) -> str:
    return urllib.parse.urlsplit(database_url)._replace(path="/postgres").geturl()


def _recreate_database(database_url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    name = sql.Identifier(LOAD_DATABASE)
    with psycopg.connect(_maintenance_url(database_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def production_environment(database_url: str, redis_url: str, stripe_url: str, port: int) -> dict:
    """The environment gunicorn runs with: DEBUG off, so every secret must be given."""
    from portal import devstripe

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STRIPE_", "DJANGO_", "EMAIL_", "SECURE_"))
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="load-test-only-" + os.urandom(24).hex(),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"https://127.0.0.1:{port}",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        EMAIL_URL="consolemail://",
        DEFAULT_FROM_EMAIL="billing@example.com",
        # The emulator's keys (portal/devstripe.py), not secrets.
        STRIPE_SECRET_KEY=devstripe.DEV_SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=devstripe.DEV_PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=devstripe.DEV_WEBHOOK_SECRET,
        STRIPE_API_BASE=stripe_url,
        STRIPE_JS_URL=f"{stripe_url}/js.stripe.com/v3/",
        # As behind the documented TLS proxy: the client sends X-Forwarded-Proto: https and
        # one X-Forwarded-For entry, so Django sees https and rate limits key on that address.
        BEHIND_TLS_PROXY="true",
        TRUSTED_PROXY_COUNT="1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _run(args: list[str], env: dict, label: str) -> None:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SetupError(f"{label} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def prepare(database_url: str, redis_url: str, stripe_url: str) -> None:
    print(f"Preparing {LOAD_DATABASE} …", flush=True)
    _recreate_database(database_url)
    _flush_redis(redis_url)
    production = production_environment(database_url, redis_url, stripe_url, 0)
    # seed_demo refuses to run with DEBUG off (it is a development command).
    development = {**production, "DEBUG": "true", "STRIPE_EMULATOR_URL": stripe_url}
    for key in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_API_BASE", "STRIPE_JS_URL"):
        development.pop(key)
    _run(["migrate", "--noinput"], production, "migrate")
    _run(["seed_demo", "--quiet"], development, "seed_demo")
    script = CREATE_USERS.replace("PASSWORD", repr(DEMO_PASSWORD)).replace("COUNT", str(MAX_USERS))
    _run(["shell", "-c", script], development, "load users")
    _run(["collectstatic", "--noinput", "--verbosity", "0"], production, "collectstatic")


# One person per virtual user: allauth throttles more than five concurrent sign-ins to one
# account (each attempt counts as failed until its password check ends), as it should.
# Finance contacts of the demo organizations; the password is hashed once (PBKDF2, as in
# production) and the hash is shared, so seeding takes a second.
CREATE_USERS = """
from django.contrib.auth.hashers import make_password
from accounts.models import User
from contacts.models import Contact, Organization
password = make_password(PASSWORD)
organizations = {o.account_number.split("-")[0].lower(): o for o in Organization.objects.filter(
    account_number__in=["ACME-001", "GLOBEX-001"])}
for number in range(COUNT):
    prefix = "acme" if number % 2 == 0 else "globex"
    user, _ = User.objects.get_or_create(
        email=f"load{number}@{prefix}.example",
        defaults={"name": f"Load User {number}", "language": "en" if prefix == "acme" else "de",
                  "password": password})
    Contact.objects.get_or_create(organization=organizations[prefix], user=user,
                                  defaults={"roles": ["finance"], "is_admin": False})
"""


# --- Servers -------------------------------------------------------------------------------


def start_gunicorn(env: dict, port: int, workers: int, threads: int, log: Path):
    args = [
        str(Path(sys.executable).parent / "gunicorn"),
        "bench.load_wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        "--timeout=60",
        "--keep-alive=5",
        "--backlog=512",
        f"--error-logfile={log}",
    ]
    with log.open("ab") as output:  # Django's own log lines (sign-ins, denials) go there too.
        return subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def wait_ready(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise SetupError(f"gunicorn exited with {process.returncode}")
            try:
                async with session.get(f"{base}/healthz", headers=_headers(0)) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SetupError("gunicorn did not answer /healthz in time")
            await asyncio.sleep(0.2)


# --- The load client -----------------------------------------------------------------------


def _headers(user: int) -> dict[str, str]:
    """What the TLS proxy would add: the scheme, and the client's own (loopback) address."""
    return {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": f"127.1.{user // 250}.{user % 250 + 1}",
        "Accept-Language": "en",
    }


@dataclass
class Phase:
    name: str
    users: int
    duration: float
    max_requests: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    issued: int = 0

    def may_send(self) -> bool:
        if self.issued >= self.max_requests:
            return False
        if time.perf_counter() - self.started >= self.duration:
            return False
        self.issued += 1
        return True


class Failed(Exception):
    pass


def _jar(base: str):
    import aiohttp

    # Production cookies are `__Host-…; Secure`. A client only sends Secure cookies over
    # https; Django sees https here (X-Forwarded-Proto) but the wire is plain http on
    # loopback, so the jar treats this one origin as secure, as browsers treat localhost.
    return aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base])


async def _request(
    session,
    phase: Phase,
    label: str,
    method: str,
    url: str,
    *,
    expect: int,
    data: dict | None = None,
    headers: dict | None = None,
) -> bytes:
    started = time.perf_counter()
    try:
        async with session.request(
            method, url, data=data, headers=headers, allow_redirects=False
        ) as response:
            body = await response.read()
            status = response.status
            location = response.headers.get("Location", "")
    except Exception as error:
        phase.errors.append(f"{label}: {type(error).__name__}: {error}")
        raise Failed from error
    elapsed = (time.perf_counter() - started) * 1000
    if status != expect or "/accounts/login" in location:
        problem = ERROR_LIST.search(body)
        detail = re.sub(rb"<[^>]+>", b" ", problem.group(1)).decode() if problem else ""
        phase.errors.append(" ".join(f"{label}: HTTP {status} {location} {detail}".split()))
        raise Failed
    phase.samples.setdefault(label, []).append(elapsed)
    return body


ERROR_LIST = re.compile(rb'class="errorlist[^"]*"[^>]*>(.*?)</ul>', re.DOTALL)
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


async def sign_in(session, phase: Phase, base: str, email: str) -> None:
    page = await _request(session, phase, "sign-in form", "GET", "/accounts/login/", expect=200)
    token = CSRF_INPUT.search(page)
    if token is None:
        phase.errors.append("sign-in form: no CSRF token")
        raise Failed
    await _request(
        session, phase, "sign-in POST", "POST", "/accounts/login/", expect=302,
        data={"csrfmiddlewaretoken": token.group(1).decode(), "login": email,
              "password": DEMO_PASSWORD},
        headers={"Origin": base.replace("http://", "https://"),
                 "Referer": base.replace("http://", "https://") + "/accounts/login/"},
    )  # fmt: skip


async def sign_out(session, phase: Phase, base: str) -> None:
    token = next((c.value for c in session.cookie_jar if c.key == "__Host-csrftoken"), "")
    await _request(
        session, phase, "sign-out POST", "POST", "/accounts/logout/", expect=302,
        data={"csrfmiddlewaretoken": token},
        headers={"Origin": base.replace("http://", "https://"),
                 "Referer": base.replace("http://", "https://") + "/"},
    )  # fmt: skip


@dataclass
class VirtualUser:
    """One person: own account, own cookie jar and connection, state kept across phases."""

    number: int
    session: object  # aiohttp.ClientSession
    rng: random.Random
    signed_in: bool = False
    round: int = 0  # Browse rounds since the last sign-in.

    @property
    def email(self) -> str:
        return f"load{self.number}@{'acme' if self.number % 2 == 0 else 'globex'}.example"

    @property
    def prefix(self) -> str:
        return "ACME" if self.number % 2 == 0 else "GLOBEX"


def make_users(base: str, count: int) -> list[VirtualUser]:
    import aiohttp

    return [
        VirtualUser(
            number=number,
            session=aiohttp.ClientSession(base, cookie_jar=_jar(base), headers=_headers(number)),
            rng=random.Random(number),
        )
        for number in range(count)
    ]


async def ensure_signed_in(base: str, users: list[VirtualUser], phase: Phase) -> None:
    """Unmeasured warm-up: sign in whoever is signed out, six at a time. Each user then
    starts at a different point of its browse cycle, so sign-ins stay spread out."""
    limit = asyncio.Semaphore(6)

    async def one(user: VirtualUser) -> None:
        async with limit:
            try:
                await sign_in(user.session, phase, base, user.email)
            except Failed:
                return
            user.signed_in = True
            user.round = user.rng.randrange(PAGES_PER_SIGN_IN)

    await asyncio.gather(*(one(user) for user in users if not user.signed_in))


async def mix_user(base: str, phase: Phase, user: VirtualUser) -> None:
    """Browse PAGES_PER_SIGN_IN rounds (dashboard, invoice list, an invoice, its PDF every
    other round, payments due), sign out, sign in again; until the phase ends."""
    session = user.session
    try:
        while True:
            if not user.signed_in:
                if not phase.may_send():
                    return
                await sign_in(session, phase, base, user.email)
                user.signed_in, user.round = True, 0
            while user.round < PAGES_PER_SIGN_IN:
                number = f"{user.prefix}-INV-{user.rng.choice(INVOICE_NUMBERS)}"
                steps = [
                    ("dashboard", "/"),
                    ("invoice list", "/invoices/"),
                    ("invoice detail", f"/invoices/{number}/"),
                    ("invoice PDF", f"/invoices/{number}/pdf/") if user.round % 2 == 0 else None,
                    ("payments due", "/billing/due/"),
                ]
                for label, url in filter(None, steps):
                    if not phase.may_send():
                        return
                    await _request(session, phase, label, "GET", url, expect=200)
                user.round += 1
            if not phase.may_send():
                return
            await sign_out(session, phase, base)
            user.signed_in = False
    except Failed:
        session.cookie_jar.clear()  # Start over from a clean, signed-out state.
        user.signed_in = False


async def bare_user(phase: Phase, user: VirtualUser) -> None:
    try:
        while phase.may_send():
            await _request(user.session, phase, "bare view", "GET", "/_load/bare", expect=200)
    except Failed:
        return


async def run_phase(phase: Phase, base: str, kind: str, users: list[VirtualUser]) -> Phase:
    warm_up = Phase("warm-up", len(users), 600, 10 * len(users))
    await ensure_signed_in(base, users, warm_up)
    phase.errors.extend(f"warm-up {error}" for error in warm_up.errors)
    phase.started = time.perf_counter()
    if kind == "bare":
        await asyncio.gather(*(bare_user(phase, user) for user in users))
    else:
        await asyncio.gather(*(mix_user(base, phase, user) for user in users))
    phase.finished = time.perf_counter()
    return phase


# --- Reporting -----------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def figures(samples: list[float], seconds: float, errors: int) -> dict:
    if not samples:
        return {"requests": 0, "errors": errors}
    return {
        "requests": len(samples),
        "rps": round(len(samples) / seconds, 1),
        "p50_ms": round(percentile(samples, 0.50), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "p99_ms": round(percentile(samples, 0.99), 1),
        "errors": errors,
    }


def report(phase: Phase) -> dict:
    seconds = phase.finished - phase.started
    every = [value for values in phase.samples.values() for value in values]
    return {
        "phase": phase.name,
        "users": phase.users,
        "seconds": round(seconds, 1),
        "total": figures(every, seconds, len(phase.errors)),
        "by_request": {
            label: figures(values, seconds, 0) for label, values in sorted(phase.samples.items())
        },
        "first_errors": phase.errors[:10],
    }


def print_table(results: list[dict]) -> None:
    print()
    print("| workload | users | requests | req/s | p50 ms | p95 ms | p99 ms | errors | load avg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for result in results:
        t = result["total"]
        print(
            f"| {result['phase']} | {result['users']} | {t['requests']} | {t.get('rps', 0)} | "
            f"{t.get('p50_ms', '-')} | {t.get('p95_ms', '-')} | {t.get('p99_ms', '-')} | "
            f"{t['errors']} | {result['load_average_1m']} |"
        )
    print()
    print("Per request type (mix), p50 / p95 / p99 ms:")
    for result in results:
        if result["phase"] != "mix":
            continue
        parts = [
            f"{label} {f['p50_ms']}/{f['p95_ms']}/{f['p99_ms']} ({f['requests']})"
            for label, f in result["by_request"].items()
        ]
        print(f"  {result['users']} users: " + "; ".join(parts))
    for result in results:
        for error in result["first_errors"]:
            print(f"  ERROR {result['phase']} {result['users']}: {error}")


# --- Main ----------------------------------------------------------------------------------


async def measure(base: str, args) -> list[dict]:
    users = make_users(base, max(args.users))
    results = []
    try:
        for count in args.users:
            for kind, duration in (("bare", args.bare_duration), ("mix", args.duration)):
                phase = Phase(kind, count, duration, args.max_requests)
                print(f"  {kind} × {count} users (≤ {duration:.0f} s) …", flush=True)
                result = report(await run_phase(phase, base, kind, users[:count]))
                # Other processes on the machine skew the figures: record how busy it was.
                result["load_average_1m"] = round(os.getloadavg()[0], 2)
                t = result["total"]
                print(
                    f"    {t['requests']} requests, {t.get('rps', 0)} req/s, "
                    f"p95 {t.get('p95_ms', '-')} ms, {t['errors']} errors",
                    flush=True,
                )
                results.append(result)
    finally:
        for user in users:
            await user.session.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--users", default="10,50,100", help="concurrency levels (default 10,50,100)"
    )
    parser.add_argument("--duration", type=float, default=45, help="seconds per mix phase")
    parser.add_argument("--bare-duration", type=float, default=15, help="seconds per bare phase")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cap per phase")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--keep", action="store_true", help="keep the cc_load database")
    args = parser.parse_args(argv)
    args.users = [int(value) for value in args.users.split(",")]

    database_url, redis_url = _check_environment()
    sys.path.insert(0, str(BASE_DIR))
    from portal import devstripe

    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "load-gunicorn.log"
    log.unlink(missing_ok=True)
    emulator, stripe_url = devstripe.start()
    server = None
    try:
        prepare(database_url, redis_url, stripe_url)
        port = devstripe.free_port()
        env = production_environment(database_url, redis_url, stripe_url, port)
        server = start_gunicorn(env, port, args.workers, args.threads, log)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_ready(base, server))
        print(
            f"Measuring against gunicorn ({args.workers} workers × {args.threads} threads) "
            f"on {base} …",
            flush=True,
        )
        results = asyncio.run(measure(base, args))
    finally:
        if server is not None:
            stop_process(server)
        devstripe.stop(emulator)
        if not args.keep:
            _recreate_database(database_url, drop_only=True)
        _flush_redis(redis_url)

    print_table(results)
    bare = {r["users"]: r["total"] for r in results if r["phase"] == "bare"}
    for r in results:
        if r["phase"] == "mix" and bare.get(r["users"], {}).get("rps"):
            ratio = bare[r["users"]]["rps"] / r["total"]["rps"] if r["total"].get("rps") else 0
            print(f"  {r['users']} users: bare/mix throughput ratio {ratio:.1f}×")
    output = ARTIFACTS / "load.json"
    output.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "gunicorn": {"workers": args.workers, "threads": args.threads},
                "results": results,
            },
            indent=2,
        )
    )
    print(f"Wrote {output.relative_to(BASE_DIR)}")
    return 1 if any(r["total"]["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
