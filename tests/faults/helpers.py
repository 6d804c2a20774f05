"""Fault-test helpers: a loopback SMTP server that delivers, stalls or refuses, and a Celery
broker outage (the broker URL pointed at a loopback port where nothing listens)."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from portal.celery import app as celery_app
from tests.billing.pay_helpers import closed_port


class LoopbackSMTP:
    """A tiny SMTP server on 127.0.0.1 in a thread. Modes: "ok" accepts every message,
    "stall" accepts the connection and never answers (until released), "refuse" answers 554.
    `messages` holds the DATA of each accepted message; `connections` counts connections."""

    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.messages: list[bytes] = []
        self.connections = 0
        self.stalled = threading.Event()  # Set once a client is being held.
        self._release = threading.Event()
        self._stop = threading.Event()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def release(self, mode: str = "ok") -> None:
        """From now on behave as `mode`; held connections are then served in that mode."""
        self.mode = mode
        self._release.set()

    def __enter__(self) -> LoopbackSMTP:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._release.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _address = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if self.mode == "stall":
                self.stalled.set()
                self._release.wait()
                if self._stop.is_set():
                    return
            conn.settimeout(10)
            reader = conn.makefile("rb")
            try:
                if self.mode == "refuse":
                    conn.sendall(b"554 5.7.1 Service refused\r\n")
                    return
                conn.sendall(b"220 loopback ESMTP\r\n")
                while True:
                    line = reader.readline()
                    if not line:
                        return
                    command = line.strip().upper()
                    if command.startswith((b"EHLO", b"HELO")):
                        conn.sendall(b"250 loopback\r\n")
                    elif command == b"DATA":
                        conn.sendall(b"354 go ahead\r\n")
                        data = b""
                        while not data.endswith(b"\r\n.\r\n"):
                            chunk = reader.readline()
                            if not chunk:
                                return
                            data += chunk
                        with self._lock:
                            self.messages.append(data)
                        conn.sendall(b"250 queued\r\n")
                    elif command == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:  # MAIL FROM, RCPT TO, RSET, NOOP
                        conn.sendall(b"250 ok\r\n")
            except OSError:
                return


@contextmanager
def broker_down():
    """Celery publishes to a loopback port where nothing listens (a real connection refused),
    not eagerly: what `.delay()` meets when Redis is down. Restores eager mode afterwards."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager, conf.broker_transport_options)
    _drop_pools()
    conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    conf.broker_transport_options = {**(saved[2] or {}), "socket_connect_timeout": 1}
    conf.task_always_eager = False
    try:
        yield
    finally:
        _drop_pools()
        conf.broker_url, conf.task_always_eager, conf.broker_transport_options = saved


def _drop_pools() -> None:
    """Celery caches its connection and producer pools: forget them so the URL is re-read."""
    pool = getattr(celery_app, "_pool", None)
    if pool is not None:
        pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None
