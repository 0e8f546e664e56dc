"""Push alerts to a fire team's webhook: one POST of the FeatureCollection, retried, never raising on failure.

``push_alerts`` sends the collection as ``application/geo+json`` (UTF-8 JSON, RFC 7946) and retries timeouts,
connection errors, 429 and 5xx with the exponential backoff of :class:`~skywatch.sources.http.RetryPolicy`,
waiting as long as a ``Retry-After`` header asks (capped by the policy). Whatever happens on the network, it returns
a :class:`PushReport`; an undelivered push is ``ok=False`` and the caller keeps the alerts and retries next run.
Only a URL that cannot be a webhook (not http/https, no host) raises :class:`WebhookURLError`.

Redirects are not followed: ``requests`` would turn a redirected POST into a GET without the body and report
success, so a 3xx is a failure that asks for the new URL.

Secrets stay out of reports and logs: the reported URL has its user info, every query value and token-like path
segments (Slack, Discord and Teams webhooks carry their secret in the path) replaced by ``***``; request headers
(``Authorization``) are never shown; reasons taken from exceptions are scrubbed of the URL's secrets.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

import requests

from skywatch.errors import DataError, SkywatchError
from skywatch.sources.http import RetryPolicy, parse_retry_after

__all__ = ["GEOJSON_MEDIA_TYPE", "PushReport", "WebhookURLError", "push_alerts", "redact_url"]

GEOJSON_MEDIA_TYPE = "application/geo+json"
_DEFAULT_POLICY = RetryPolicy(max_attempts=5, backoff_s=1.0, max_backoff_s=60.0, max_total_s=300.0)
_SECRET = "***"

log = logging.getLogger(__name__)


class WebhookURLError(SkywatchError, ValueError):
    """The webhook URL cannot be used (not http/https, or no host)."""


@dataclass(frozen=True, kw_only=True)
class PushReport:
    """What happened to one push.

    Attributes:
        ok: True when the server accepted the alerts (HTTP 2xx).
        attempts: Requests made, the first included.
        status_code: HTTP status of the last answer; None when no answer came (connection error, timeout).
        message: One line for people: what happened and what to do; never contains credentials.
        url: The webhook URL with user info, query values and token-like path segments redacted.
        features: Number of features sent.
        elapsed_s: Seconds from the first attempt to the report.
    """

    ok: bool
    attempts: int
    status_code: int | None
    message: str
    url: str
    features: int
    elapsed_s: float


def _looks_secret(segment: str) -> bool:
    """A path segment that is probably a token: long and mixing letters and digits, or very long."""
    text = unquote(segment)
    mixed = any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
    return (len(text) >= 16 and mixed) or len(text) >= 32


def redact_url(url: str) -> str:
    """``url`` fit to show: user info, query values and token-like path segments become ``***``, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    if parts.username is not None or parts.password is not None:
        netloc = f"{_SECRET}@{netloc}"
    path = "/".join(_SECRET if _looks_secret(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(f"{quote(name)}={_SECRET}" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    try:
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise WebhookURLError(f"webhook URL {redact_url(url)!r} has an invalid port") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookURLError(
            f"webhook URL {redact_url(url)!r} is not an http(s) URL with a host; "
            "give one like https://alerts.example.org/hook"
        )


def _secrets_of(url: str) -> list[str]:
    """Substrings of ``url`` that must not appear in a message (longest first)."""
    parts = urlsplit(url)
    found = {parts.username or "", parts.password or "", parts.query, parts.fragment}
    found |= {value for _, value in parse_qsl(parts.query, keep_blank_values=True)}
    found |= {seg for seg in parts.path.split("/") if _looks_secret(seg)}
    found |= {unquote(s) for s in found}
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def _scrub(text: str, url: str) -> str:
    for secret in _secrets_of(url):
        text = text.replace(secret, _SECRET)
    return text


def _reason(exc: requests.RequestException, timeout: float) -> str:
    """A short, secret-free reason for a failed request."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    match = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    if match:
        return f"{type(exc).__name__}: {match.group(0).strip()}"
    return type(exc).__name__


def push_alerts(
    url: str,
    collection: Mapping[str, Any],
    *,
    policy: RetryPolicy | None = None,
    timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> PushReport:
    """POST ``collection`` to ``url`` as GeoJSON, retrying as ``policy`` says; report, never raise, on failure.

    Args:
        url: The webhook (http or https). Credentials may sit in it or in ``headers``; neither is ever shown.
            User info in the URL (``user:password@``) is sent as Basic auth and wins over an ``Authorization``
            header (``requests`` does so).
        collection: The alerts FeatureCollection, sent as is (UTF-8 JSON).
        policy: Attempts and backoff; default 5 attempts from 1 s doubling, at most 60 s per wait, 300 s in all.
        timeout: Connect and read timeout of one request, in seconds.
        headers: Extra request headers (e.g. ``Authorization``); a ``Content-Type`` here replaces the GeoJSON one.
        session: A ``requests`` session to send with (default: a new one, closed afterwards).
        sleep: How to wait between attempts (injectable for tests).
        rng: Jitter source (injectable for tests).

    Returns:
        A :class:`PushReport`; ``ok`` is False after a non-retryable answer, exhausted retries or a network failure.

    Raises:
        WebhookURLError: ``url`` is not an http(s) URL with a host.
        DataError: ``collection`` is not a FeatureCollection or cannot be written as JSON.
    """
    _check_url(url)
    if not isinstance(collection, Mapping) or collection.get("type") != "FeatureCollection":
        raise DataError("push_alerts needs a GeoJSON FeatureCollection (the alerts skywatch writes)")
    try:
        body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise DataError(f"the alert collection cannot be written as JSON: {exc}") from exc
    policy = policy or _DEFAULT_POLICY
    rng = rng or random.Random()
    shown = redact_url(url)
    n_features = len(collection.get("features") or [])
    send_headers = {"Content-Type": GEOJSON_MEDIA_TYPE, "Accept": "application/json, */*;q=0.5"}
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            send_headers.pop("Content-Type")
        send_headers[name] = value
    own_session = session is None
    http = session or requests.Session()
    start = time.monotonic()
    attempt = 0
    status: int | None = None
    last = ""

    def report(ok: bool, message: str) -> PushReport:
        elapsed = time.monotonic() - start
        if ok:
            log.info("pushed %d alert(s) to %s (%s)", n_features, shown, message)
        else:
            log.warning("webhook push to %s failed: %s", shown, message)
        return PushReport(
            ok=ok,
            attempts=attempt,
            status_code=status,
            message=message,
            url=shown,
            features=n_features,
            elapsed_s=round(elapsed, 3),
        )

    try:
        for attempt in range(1, policy.max_attempts + 1):
            retry_after: float | None = None
            status = None
            try:
                resp = http.post(url, data=body, headers=send_headers, timeout=timeout, allow_redirects=False)
            except requests.RequestException as exc:
                last = _scrub(_reason(exc, timeout), url)
            else:
                status = resp.status_code
                resp.close()
                if 200 <= status < 300:
                    return report(True, f"{shown} accepted {n_features} alert(s) (HTTP {status}, attempt {attempt})")
                if status in (401, 403):
                    return report(
                        False,
                        f"{shown} refused the credentials (HTTP {status}); check the token or Authorization "
                        "header given for the webhook. Alerts were not sent and stay queued",
                    )
                if 300 <= status < 400:
                    where = redact_url(resp.headers.get("Location", "")) or "?"
                    return report(
                        False,
                        f"{shown} redirected (HTTP {status}) to {where}; redirects are not followed for POST, "
                        "set the webhook URL to the new address. Alerts were not sent and stay queued",
                    )
                if status not in policy.statuses:
                    return report(
                        False,
                        f"{shown} rejected the alerts (HTTP {status} {_scrub(resp.reason or '', url)}); "
                        "not retried. Check the URL and what the receiver expects. Alerts stay queued",
                    )
                last = f"HTTP {status}"
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if attempt == policy.max_attempts:
                break
            delay = policy.wait(attempt, retry_after, rng)
            if time.monotonic() - start + delay > policy.max_total_s:
                break
            log.debug("webhook %s: attempt %d failed (%s); retrying in %.1f s", shown, attempt, last, delay)
            sleep(delay)
    finally:
        if own_session:
            http.close()
    return report(
        False,
        f"{shown} still failing after {attempt} attempt(s) in {time.monotonic() - start:.1f} s (last: {last}); "
        "alerts were not sent and stay queued for the next run",
    )
