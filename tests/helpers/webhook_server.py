"""A local webhook receiver on 127.0.0.1 that records every request and answers as scripted.

Replies are queued and consumed one per request; when the queue is empty it answers 200:

    server.answer(503, times=2)                              # two 503s, then 200
    server.answer(429, headers={"Retry-After": "7"})
    server.hang(5.0)                                         # hold the next request 5 s (the client times out)
    server.received[0].body, server.received[0].headers["Content-Type"]

A hung request is released when the server stops, so tests never wait out the hang.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Reply:
    """One scripted answer; ``hang_s`` > 0 holds the request that long before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    hang_s: float = 0.0


class WebhookServer:
    """Receive POSTs on ``http://127.0.0.1:PORT/``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Reply] = deque()
        self.max_requests = 1000  # bounded: a runaway client cannot loop forever
        self._stop = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.received.append(
                        Received(self.command, self.path, dict(self.headers), body, time.monotonic())
                    )
                    if len(server.received) > server.max_requests:
                        reply = Reply(status=503, body=b"request budget exhausted")
                    else:
                        reply = server.script.popleft() if server.script else Reply()
                if reply.hang_s > 0 and server._stop.wait(reply.hang_s):
                    return  # server stopping: drop the request unanswered
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None, body: bytes = b"scripted"
    ) -> None:
        """Queue ``times`` answers with ``status``."""
        for _ in range(times):
            self.script.append(Reply(status=status, headers=dict(headers or {}), body=body))

    def hang(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` requests ``seconds`` each before answering 200."""
        for _ in range(times):
            self.script.append(Reply(hang_s=seconds))

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def serve() -> Iterator[WebhookServer]:
    """Run a :class:`WebhookServer` for the duration of the block."""
    with WebhookServer() as server:
        yield server
