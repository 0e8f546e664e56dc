"""A local HTTP file server on 127.0.0.1 that honours Range requests, with scripted faults.

Used by the tests and the benchmarks to read COGs through the same path as remote assets (GDAL /vsicurl/).
Faults are queued per URL path and consumed one per request:

    server.fail("/a/B04.tif", 503, times=2)                 # two 503s, then normal answers
    server.fail("/a/B04.tif", 429, headers={"Retry-After": "1"})
    server.truncate("/a/B04.tif", 1000)                      # serve only the first 1000 bytes of the file
    server.require_auth("Bearer s3cret")                     # 401 without this Authorization header
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Logged:
    method: str
    path: str
    range: str | None
    status: int
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class RangeServer:
    """Serve ``root`` on ``http://127.0.0.1:PORT/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.faults: dict[str, deque[tuple[int, dict[str, str]]]] = defaultdict(deque)
        self.truncated: dict[str, int] = {}
        self.auth: str | None = None
        self.log: list[Logged] = []
        self.max_requests = 100_000  # bounded: a runaway client cannot loop forever
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _reply(self, status: int, headers: dict[str, str], payload: bytes = b"", body: bool = True) -> None:
                server.log.append(
                    Logged(
                        self.command, self.path, self.headers.get("Range"), status, time.monotonic(), dict(self.headers)
                    )
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if body and payload:
                    self.wfile.write(payload)

            def _serve(self, body: bool) -> None:
                if len(server.log) >= server.max_requests:
                    self._reply(503, {}, b"request budget exhausted", body)
                    return
                path = self.path.split("?", 1)[0]
                if server.auth is not None and self.headers.get("Authorization") != server.auth:
                    self._reply(401, {"WWW-Authenticate": "Bearer"}, b'{"error": "unauthorized"}', body)
                    return
                queue = server.faults.get(path)
                if queue:
                    status, headers = queue.popleft()
                    self._reply(status, headers, b"injected fault", body)
                    return
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
                    self._reply(206, headers, chunk, body)
                    return
                payload = data if cut is None else data[:cut]
                self._reply(
                    200,
                    {
                        "Accept-Ranges": "bytes",
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(size if not body else len(payload)),
                    },
                    payload,
                    body,
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def fail(self, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        for _ in range(times):
            self.faults[path].append((status, dict(headers or {})))

    def truncate(self, path: str, nbytes: int) -> None:
        self.truncated[path] = nbytes

    def require_auth(self, value: str | None) -> None:
        self.auth = value

    def requests_for(self, path: str) -> list[Logged]:
        return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def serve(root: Path) -> Iterator[RangeServer]:
    """Run a :class:`RangeServer` for the duration of the block."""
    with RangeServer(root) as server:
        yield server
