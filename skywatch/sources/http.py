"""The one HTTP/retry adapter every source uses.

Retries with exponential backoff and jitter on timeouts, connection errors, 429 and 5xx, honouring
``Retry-After``, bounded both in attempts and in total time; exhausted retries and auth failures become a
:class:`~skywatch.errors.SourceError` that names the URL (never its query string, which may carry a token).

- STAC API requests go through a ``requests`` session whose adapter carries an urllib3 ``Retry`` built from the
  same :class:`RetryPolicy` (POST included: a STAC search is idempotent).
- Pixel reads go through GDAL, which retries 429/5xx itself (``GDAL_HTTP_MAX_RETRY``/``GDAL_HTTP_RETRY_DELAY``)
  but ignores ``Retry-After`` (measured with GDAL 3.10 against tests/helpers/range_server.py). So before a cube is
  read, :func:`probe` asks each asset once through this adapter, waiting as the server says; GDAL's own retries
  then cover transient errors during the read. GDAL 3.10.3 also retries a request reset or timed out before its
  answer began, and a data range reset mid-body; a header range broken off mid-body, a range that times out
  mid-body and a body shorter than its Content-Length fail the read (all measured against the same server, see
  tests/robustness/test_network_faults.py). :func:`skywatch.sources.odc_load.read_errors` then names the asset
  and clears GDAL's cache of it, so the next read (Dask's retry of a tile, a rerun) starts afresh.

:meth:`RetryPolicy.from_env` (what :func:`skywatch.sources.registry.open_source` uses by default) reads the
policy from ``SKYWATCH_HTTP_TIMEOUT``, ``SKYWATCH_HTTP_ATTEMPTS``, ``SKYWATCH_HTTP_BACKOFF`` and
``SKYWATCH_HTTP_MAX_WAIT``: a slow link, an impatient scheduled job, or the fault tests' 1 s timeout.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from skywatch.errors import DataError, SourceError

__all__ = [
    "ENV_SETTINGS",
    "AuthError",
    "RetryPolicy",
    "describe_failure",
    "gdal_retry_options",
    "parse_retry_after",
    "probe",
    "public_url",
    "retrying_session",
    "urllib3_retry",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# environment variable -> RetryPolicy field it sets (RetryPolicy.from_env); the advice in error messages names them
ENV_SETTINGS = {
    "SKYWATCH_HTTP_TIMEOUT": "timeout_s",
    "SKYWATCH_HTTP_ATTEMPTS": "max_attempts",
    "SKYWATCH_HTTP_BACKOFF": "backoff_s",
    "SKYWATCH_HTTP_MAX_WAIT": "max_total_s",
}


class AuthError(SourceError, PermissionError):
    """The server refused the credentials (401/403)."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How hard to retry.

    Attributes:
        max_attempts: Attempts in all, the first included.
        backoff_s: First wait; doubles each attempt.
        max_backoff_s: Longest single wait (a longer ``Retry-After`` is capped here).
        max_total_s: Give up when the next wait would pass this much time since the first attempt.
        jitter: Random fraction added to each wait (0.5 -> up to +50 %).
        timeout_s: Connect/read timeout of one request.
    """

    max_attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_total_s: float = 120.0
    jitter: float = 0.5
    timeout_s: float = 30.0
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetryPolicy:
        """The default policy, with the fields named in :data:`ENV_SETTINGS` taken from ``env`` where set.

        Raises:
            DataError: a value that is not a positive number (``SKYWATCH_HTTP_ATTEMPTS``: a whole number >= 1).
        """
        values: dict[str, Any] = {}
        for name, attr in ENV_SETTINGS.items():
            text = env.get(name, "").strip()
            if not text:
                continue
            try:
                value = int(text) if attr == "max_attempts" else float(text)
            except ValueError:
                value = -1
            if not value > 0 or (attr == "max_attempts" and value < 1) or not math.isfinite(value):
                kind = "a whole number >= 1" if attr == "max_attempts" else "a positive number of seconds"
                raise DataError(f"{name}={text!r} is not {kind}; unset it for the default ({getattr(cls(), attr)})")
            values[attr] = value
        return cls(**values)

    def wait(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        base = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        return base * (1.0 + self.jitter * rng.random())


def public_url(url: str) -> str:
    """``url`` without query string, fragment or user info (signed URLs carry tokens there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), None if absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def urllib3_retry(policy: RetryPolicy) -> Retry:
    """The urllib3 ``Retry`` equivalent of ``policy`` (POST included: a STAC search is idempotent)."""
    return Retry(
        total=policy.max_attempts - 1,
        status_forcelist=sorted(policy.statuses),
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        backoff_factor=policy.backoff_s,
        backoff_max=policy.max_backoff_s,
        backoff_jitter=policy.backoff_s * policy.jitter,
        respect_retry_after_header=True,
        retry_after_max=int(policy.max_backoff_s),
        raise_on_status=False,
    )


def retrying_session(policy: RetryPolicy, *, headers: Mapping[str, str] | None = None) -> requests.Session:
    """A ``requests`` session that retries per ``policy`` (for webhooks and other plain HTTP clients)."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=urllib3_retry(policy))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(dict(headers or {}))
    return session


def probe(
    url: str,
    *,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> requests.Response:
    """Ask ``url`` for its first byte until it answers, waiting as the policy and ``Retry-After`` say.

    Raises:
        AuthError: 401 or 403 (the message never shows credentials or the query string).
        SourceError: 404, another non-retryable status, or retries exhausted (attempts and seconds given).
    """
    rng = rng or random.Random()
    start = time.monotonic()
    last = ""
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: float | None = None
        try:
            resp = requests.get(
                url, headers={**dict(headers or {}), "Range": "bytes=0-0"}, timeout=policy.timeout_s, stream=True
            )
            resp.close()
        except (requests.ConnectionError, requests.Timeout) as exc:
            last = describe_failure(exc, policy)
        else:
            if resp.status_code in (200, 206):
                return resp
            if resp.status_code in (401, 403):
                raise AuthError(
                    f"{public_url(url)} refused access (HTTP {resp.status_code}); check the provider's credentials "
                    "(see `skywatch search --help` for the variables each provider reads)"
                )
            if resp.status_code not in policy.statuses:
                raise SourceError(f"{public_url(url)} answered HTTP {resp.status_code}; is the asset URL right?")
            last = f"HTTP {resp.status_code}"
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if attempt == policy.max_attempts:
            break
        delay = policy.wait(attempt, retry_after, rng)
        if time.monotonic() - start + delay > policy.max_total_s:
            break
        sleep(delay)
    raise SourceError(
        f"{public_url(url)} still failing after {attempt} attempt(s) in {time.monotonic() - start:.1f} s "
        f"(last: {last}); the service may be overloaded or down - try again later, or raise the retry limits "
        "(SKYWATCH_HTTP_ATTEMPTS, SKYWATCH_HTTP_TIMEOUT)"
    )


def describe_failure(exc: BaseException, policy: RetryPolicy) -> str:
    """What went wrong with a request, in a few words, from the exception ``requests``/urllib3 raised.

    Looks through wrapped causes (urllib3's ``MaxRetryError.reason``, ``__cause__``/``__context__``) and never
    repeats the exception's text, which can carry a URL with its query string.
    """
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None)])
        todo.extend(a for a in e.args if isinstance(a, BaseException))
    names = {type(e).__name__ for e in seen}
    text = " ".join(str(e) for e in seen).lower()
    if names & {"ReadTimeout", "ReadTimeoutError", "ConnectTimeout", "ConnectTimeoutError", "Timeout", "TimeoutError"}:
        return f"no answer within the {policy.timeout_s:g} s timeout"
    if "IncompleteRead" in names or "incompleteread" in text:
        return "the answer was cut short (fewer bytes than its Content-Length)"
    if "ConnectionResetError" in names or "connection reset" in text:
        return "the connection was reset"
    if "ConnectionRefusedError" in names or "connection refused" in text:
        return "the connection was refused (is the server up?)"
    if names & {"RemoteDisconnected", "ProtocolError", "ChunkedEncodingError"}:
        return "the server closed the connection mid-answer"
    if names & {"NameResolutionError", "gaierror"}:
        return "the host name could not be resolved"
    return type(exc).__name__


def gdal_retry_options(policy: RetryPolicy) -> dict[str, Any]:
    """GDAL configuration options that make /vsicurl/ reads retry like ``policy``.

    The timeouts are whole seconds of at least 1: GDAL hands them to libcurl (CURLOPT_TIMEOUT,
    CURLOPT_CONNECTTIMEOUT), where 0 means no limit at all (or libcurl's 300 s default for connecting), so a
    sub-second ``timeout_s`` truncated to 0 would let a stalled server hang the read.
    """
    timeout = max(1, math.ceil(policy.timeout_s))
    return {
        "GDAL_HTTP_MAX_RETRY": policy.max_attempts - 1,
        "GDAL_HTTP_RETRY_DELAY": policy.backoff_s,
        "GDAL_HTTP_RETRY_CODES": ",".join(str(s) for s in sorted(policy.statuses)),
        "GDAL_HTTP_TIMEOUT": timeout,
        "GDAL_HTTP_CONNECTTIMEOUT": min(10, timeout),
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.jp2",
    }
