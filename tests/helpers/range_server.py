"""A local HTTP file server on 127.0.0.1 that honours Range requests, with scripted faults and a tiny STAC API.

Used by the tests and the benchmarks to read COGs through the same path as remote assets (GDAL /vsicurl/), and
to answer pystac-client's ``POST /search``. Faults are queued per URL path and consumed one per request:

    server.fail("/a/B04.tif", 503, times=2)                 # two 503s, then normal answers
    server.fail("/a/B04.tif", 429, headers={"Retry-After": "1"})
    server.reset("/a/B04.tif")                               # a TCP RST instead of an answer
    server.reset("/a/B04.tif", after=100)                    # headers and 100 body bytes, then a TCP RST
    server.stall("/search", 5.0)                             # answer 5 s late (a client timeout should fire)
    server.stall("/a/B04.tif", 5.0, after=100)               # send 100 body bytes, then go quiet for 5 s
    server.short_body("/a/B04.tif", missing=500)             # Content-Length says 500 bytes more than are sent
    server.long_body("/search", extra=500)                   # Content-Length says 500 bytes fewer than are sent
    server.passes("/a/B04.tif")                              # one normal answer (to fault the next GET)
    server.truncate("/a/B04.tif", 1000)                      # serve only the first 1000 bytes of the file
    server.require_auth("Bearer s3cret")                     # 401 without this Authorization header
    server.outage(503, prefix="/stac/")                      # every request under /stac/ fails until outage(None)
    server.stac_api(items)                                   # POST/GET /search answers with these item dicts

Every request is logged (:attr:`RangeServer.log`) and counted against :attr:`RangeServer.max_requests`: past it,
the server answers 503, so a runaway client cannot loop forever and a test can assert on the count.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

FaultKind = Literal["status", "ok", "reset", "stall", "short", "long"]


@dataclass
class Logged:
    method: str
    path: str
    range: str | None
    status: int
    at: float
    headers: dict[str, str] = field(default_factory=dict)
    fault: str = ""


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour: an error status, or a normal answer broken off/delayed after ``after`` bytes."""

    kind: FaultKind
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    after: int | None = None
    missing: int = 0  # "short": declared minus sent; "long": sent minus declared

    @property
    def body_only(self) -> bool:
        """Whether the fault is meant for a request with a body (a HEAD request leaves it queued for the next GET
        or POST): everything but error statuses, resets and stalls before the answer."""
        return self.kind in ("ok", "short", "long") or (self.kind in ("reset", "stall") and self.after is not None)


def _parse_dt(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _matches(item: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether a STAC item dict meets a search's ``collections`` and ``datetime`` (bbox is not checked)."""
    collections = query.get("collections")
    if isinstance(collections, str):
        collections = collections.split(",")
    if collections and item.get("collection") not in collections:
        return False
    window = query.get("datetime")
    if window:
        first, _, last = str(window).partition("/")
        when = _parse_dt(item["properties"]["datetime"])
        lo, hi = _parse_dt(first), _parse_dt(last or first)
        if when is None or (lo is not None and when < lo) or (hi is not None and when > hi):
            return False
    return True


class RangeServer:
    """Serve ``root`` on ``http://127.0.0.1:PORT/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.truncated: dict[str, int] = {}
        self.auth: str | None = None
        self.log: list[Logged] = []
        self.max_requests = 100_000  # bounded: a runaway client cannot loop forever
        self.items: list[dict[str, Any]] | None = None
        self.down: tuple[str, Fault] | None = None
        self._closing = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def do_POST(self) -> None:
                self._serve(body=True)

            def _log(self, status: int, fault: str = "") -> None:
                entry = Logged(self.command, self.path, self.headers.get("Range"), status, time.monotonic(),
                               dict(self.headers), fault)  # fmt: skip
                with server._lock:
                    server.log.append(entry)

            def _reply(self, status: int, headers: dict[str, str], payload: bytes = b"", body: bool = True,
                       fault: Fault | None = None) -> None:  # fmt: skip
                self._log(status, fault.kind if fault else "")
                if fault is not None and fault.kind == "stall" and fault.after is None:
                    server._closing.wait(fault.seconds)
                if fault is not None and fault.kind == "reset" and fault.after is None:
                    self._rst()
                    return
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    declared = len(payload) - (fault.missing if fault and fault.kind == "long" else 0)
                    self.send_header("Content-Length", str(max(0, declared)))
                self.end_headers()
                if not body or not payload:
                    return
                if fault is None or fault.kind in ("ok", "status") or (fault.kind == "stall" and fault.after is None):
                    self.wfile.write(payload)
                    return
                if fault.kind in ("short", "long"):  # the declared length is wrong: send, then close the connection
                    self.wfile.write(
                        payload[: max(0, len(payload) - fault.missing)] if fault.kind == "short" else payload
                    )
                    self.close_connection = True
                    return
                cut = min(len(payload), fault.after or 0)
                self.wfile.write(payload[:cut])
                if fault.kind == "reset":
                    self._rst()
                else:  # stall mid-body, then send the rest (if the client is still there)
                    server._closing.wait(fault.seconds)
                    self.wfile.write(payload[cut:])

            def _rst(self) -> None:
                """Abort the connection with a TCP RST (SO_LINGER 0), not an orderly FIN."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
                self.close_connection = True

            def _serve(self, body: bool) -> None:
                try:
                    self._answer(body)
                except OSError:  # the client went away (it timed out, or we reset it)
                    self.close_connection = True

            def _answer(self, body: bool) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sent = self.rfile.read(length) if length else b""
                if len(server.log) >= server.max_requests:
                    self._reply(503, {}, b"request budget exhausted", body)
                    return
                path = self.path.split("?", 1)[0]
                fault: Fault | None = None
                queue = server.faults.get(path)
                if queue and not (self.command == "HEAD" and queue[0].body_only):
                    fault = queue.popleft()
                elif server.down is not None and path.startswith(server.down[0]):
                    fault = server.down[1]
                if fault is not None and fault.kind == "status":
                    self._reply(fault.status, fault.headers, b"injected fault", body, fault)
                    return
                if server.auth is not None and self.headers.get("Authorization") != server.auth:
                    self._reply(401, {"WWW-Authenticate": "Bearer"}, b'{"error": "unauthorized"}', body)
                    return
                if path == "/search" and server.items is not None:
                    query: dict[str, Any] = json.loads(sent) if sent else {}
                    if not sent and "?" in self.path:
                        from urllib.parse import parse_qsl

                        query = dict(parse_qsl(self.path.split("?", 1)[1]))
                    features = [it for it in server.items if _matches(it, query)]
                    doc = {"type": "FeatureCollection", "features": features, "links": []}
                    self._reply(200, {"Content-Type": "application/geo+json"}, json.dumps(doc).encode(), body, fault)
                    return
                self._file(path, body, fault)

            def _file(self, path: str, body: bool, fault: Fault | None) -> None:
                file = (server.root / path.lstrip("/")).resolve()
                if server.root.resolve() not in file.parents or not file.is_file():
                    self._reply(404, {}, b"not found", body)
                    return
                data = file.read_bytes()
                size = len(data)
                cut = server.truncated.get(path)
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    first, _, last = rng[6:].partition("-")
                    start = int(first)
                    end = min(int(last) if last else size - 1, size - 1)
                    if start >= size:
                        self._reply(416, {"Content-Range": f"bytes */{size}"}, b"", body)
                        return
                    chunk = data[start : end + 1]
                    if cut is not None:
                        chunk = chunk[: max(0, cut - start)]
                    headers = {
                        "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{size}",
                        "Accept-Ranges": "bytes",
                        "Content-Type": "image/tiff",
                    }
                    self._reply(206, headers, chunk, body, fault)
                    return
                payload = data if cut is None else data[:cut]
                headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
                if not body:
                    headers["Content-Length"] = str(size)
                self._reply(200, headers, payload, body, fault)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up mid-answer is part of the tests, not an error

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # a short poll interval: shutdown() returns within 0.05 s instead of the default 0.5 s
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _queue(self, path: str, fault: Fault, times: int) -> None:
        for _ in range(times):
            self.faults[path].append(fault)

    def fail(self, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests for ``path`` with ``status`` (and ``headers``)."""
        self._queue(path, Fault("status", status=status, headers=dict(headers or {})), times)

    def passes(self, path: str, *, times: int = 1) -> None:
        """Answer the next ``times`` GET/POST requests normally (queue it before another fault to hit a later
        request; HEAD requests pass it by)."""
        self._queue(path, Fault("ok"), times)

    def reset(self, path: str, *, after: int | None = None, times: int = 1) -> None:
        """Abort the connection (TCP RST) instead of answering, or (``after``) once the headers and ``after`` body
        bytes of a normal answer are sent."""
        self._queue(path, Fault("reset", after=after), times)

    def stall(self, path: str, seconds: float, *, after: int | None = None, times: int = 1) -> None:
        """Wait ``seconds`` before answering (``after`` None) or after sending ``after`` body bytes."""
        self._queue(path, Fault("stall", seconds=seconds, after=after), times)

    def short_body(self, path: str, *, missing: int, times: int = 1) -> None:
        """Declare the answer's true Content-Length, send all but its last ``missing`` bytes, close the connection."""
        self._queue(path, Fault("short", missing=missing), times)

    def long_body(self, path: str, *, extra: int, times: int = 1) -> None:
        """Declare a Content-Length ``extra`` bytes shorter than the answer, send it all, close the connection."""
        self._queue(path, Fault("long", missing=extra), times)

    def outage(self, status: int | None, *, prefix: str = "/", headers: dict[str, str] | None = None) -> None:
        """Answer every request under ``prefix`` with ``status`` from now on; ``None`` ends the outage."""
        self.down = None if status is None else (prefix, Fault("status", status=status, headers=dict(headers or {})))

    def truncate(self, path: str, nbytes: int) -> None:
        self.truncated[path] = nbytes

    def require_auth(self, value: str | None) -> None:
        self.auth = value

    def stac_api(self, items: Sequence[dict[str, Any]]) -> None:
        """Answer ``POST /search`` (and ``GET /search``) with the ``items`` meeting its collections and datetime."""
        self.items = list(items)

    def requests_for(self, path: str) -> list[Logged]:
        return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def forget_cached(self) -> None:
        """Clear GDAL's process-wide /vsicurl/ cache of this server's URLs. A new server can get the port of one
        that served other bytes under the same paths earlier in the process (another sample size, a truncated
        file): GDAL would answer from its cache instead of asking."""
        from skywatch.sources.odc_load import _forget_cached

        _forget_cached([f"{self.url}/"])

    def __enter__(self) -> RangeServer:
        self.forget_cached()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.forget_cached()


@contextlib.contextmanager
def serve(root: Path) -> Iterator[RangeServer]:
    """Run a :class:`RangeServer` for the duration of the block."""
    with RangeServer(root) as server:
        yield server
