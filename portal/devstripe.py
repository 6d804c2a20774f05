"""The localstripe emulator for development and tests: a child process on a loopback port.

localstripe's own `localstripe` command listens on every interface and reloads
/tmp/localstripe.pickle; this launcher binds 127.0.0.1, never loads old state, does not
write the pickle either (several emulators may run at once), and exits when its parent dies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Keys the emulator accepts (any sk_test_… / pk_test_… works); the webhook secret is ours.
DEV_SECRET_KEY = "sk_test_local_emulator"  # noqa: S105 — the emulator's, not a secret.
DEV_PUBLISHABLE_KEY = "pk_test_local_emulator"
DEV_WEBHOOK_SECRET = "whsec_local_emulator"  # noqa: S105 — development only.
ENV_VAR = "STRIPE_EMULATOR_URL"  # Read by portal/settings.py.

# Runs in the child. Disables the pickle persistence (no stale state, no shared file) and
# stops the server when the parent process goes away (Ctrl-C, kill, crash).
_CHILD = """
import asyncio, os, sys
from aiohttp import web
import localstripe.resources as resources
import localstripe.server as server

resources.Store.dump_to_disk = lambda self: None
resources.store.clear()
parent = os.getppid()

async def watch_parent(app):
    async def loop():
        while os.getppid() == parent:
            await asyncio.sleep(1)
        os._exit(0)
    app["watch_parent"] = asyncio.ensure_future(loop())

server.app.on_startup.append(watch_parent)
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(method: str, url: str, data: dict | None = None, timeout: float = 2.0) -> int:
    body = urllib.parse.urlencode(data or {}).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return response.status


def start(*, port: int | None = None, timeout: float = 15.0) -> tuple[subprocess.Popen, str]:
    """Start the emulator; returns (process, base_url) once it answers, with empty data."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603 — our own interpreter and code.
        [sys.executable, "-c", _CHILD, str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise EmulatorError(f"localstripe exited with {process.returncode}: {error[-2000:]}")
        try:
            reset(base_url)
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                stop(process)
                raise EmulatorError(f"localstripe did not answer on {base_url}") from None
            time.sleep(0.1)
    if process.stderr:  # Nothing reads it from now on: don't let a full pipe block the child.
        process.stderr.close()
    return process, base_url


def reset(base_url: str) -> None:
    """Forget every customer, card and intent (webhook registrations stay)."""
    _request("DELETE", f"{base_url}/_config/data")


def register_webhook(
    base_url: str, *, url: str, secret: str = DEV_WEBHOOK_SECRET, hook_id: str = "portal"
) -> None:
    """Make the emulator POST signed events to `url` (one registration per hook_id)."""
    _request("POST", f"{base_url}/_config/webhooks/{hook_id}", {"url": url, "secret": secret})


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def environment(base_url: str) -> dict[str, str]:
    """What the portal's settings read to use this emulator (for child processes)."""
    return {ENV_VAR: base_url}


def settings_overrides(base_url: str) -> dict:
    """The same, as Django settings (for an already configured process or a test)."""
    return {
        "STRIPE_API_BASE": base_url,
        "STRIPE_JS_URL": f"{base_url}/js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": DEV_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": DEV_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
    }


if __name__ == "__main__":  # Manual use: python -m portal.devstripe
    proc, url = start(port=int(os.environ.get("PORT", "0")) or None)
    print(f"localstripe on {url} (Ctrl-C to stop)")
    try:
        proc.wait()
    except KeyboardInterrupt:
        stop(proc)
