"""Webhook push against a local receiver on 127.0.0.1: retries, Retry-After, failures reported, secrets hidden."""

from __future__ import annotations

import json
import logging
import random
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from skywatch.errors import DataError
from skywatch.outputs.webhook import GEOJSON_MEDIA_TYPE, WebhookURLError, push_alerts, redact_url
from skywatch.sources.http import RetryPolicy
from tests.helpers.webhook_server import WebhookServer, serve

FAST = RetryPolicy(max_attempts=4, backoff_s=0.5, max_backoff_s=30.0, max_total_s=120.0, jitter=0.0)

COLLECTION: dict[str, Any] = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "fire_active-20250601-0123456789",
            "properties": {
                "id": "fire_active-20250601-0123456789",
                "type": "fire_active",
                "confidence_pct": 95,
                "label_ru": "Действующий пожар",
                "label_zh": "活跃火点",
            },
            "geometry": {"type": "Point", "coordinates": [131.25, 43.15]},
        }
    ],
}


@pytest.fixture
def server(socket_enabled: None) -> Iterator[WebhookServer]:
    with serve() as s:
        yield s


class Sleeps:
    """Records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def push(url: str, sleeps: Sleeps, **kw: Any) -> Any:
    kw.setdefault("policy", FAST)
    kw.setdefault("timeout", 5.0)
    return push_alerts(url, COLLECTION, sleep=sleeps, rng=random.Random(0), **kw)


def test_first_try_sends_the_exact_collection_as_geojson(server: WebhookServer) -> None:
    sleeps = Sleeps()
    report = push(f"{server.url}/hook", sleeps)
    assert report.ok and report.attempts == 1 and report.status_code == 200
    assert report.features == 1 and sleeps.waits == []
    (req,) = server.received
    assert req.method == "POST" and req.path == "/hook"
    assert req.headers["Content-Type"] == GEOJSON_MEDIA_TYPE
    assert json.loads(req.body.decode("utf-8")) == COLLECTION
    assert "活跃火点".encode() in req.body  # UTF-8, not \\u escapes


def test_succeeds_after_503s_with_growing_backoff(server: WebhookServer) -> None:
    server.answer(503, times=2)
    sleeps = Sleeps()
    report = push(f"{server.url}/hook", sleeps)
    assert report.ok and report.attempts == 3 and report.status_code == 200
    assert sleeps.waits == [0.5, 1.0]  # jitter 0: backoff_s doubling
    assert len(server.received) == 3
    assert all(json.loads(r.body) == COLLECTION for r in server.received)


def test_429_retry_after_is_honoured(server: WebhookServer) -> None:
    server.answer(429, headers={"Retry-After": "7"})
    sleeps = Sleeps()
    report = push(f"{server.url}/hook", sleeps)
    assert report.ok and report.attempts == 2
    assert sleeps.waits == [7.0]


def test_all_attempts_fail_reports_without_raising(server: WebhookServer) -> None:
    server.answer(503, times=10)
    sleeps = Sleeps()
    report = push(f"{server.url}/hook", sleeps)
    assert not report.ok and report.attempts == FAST.max_attempts and report.status_code == 503
    assert len(server.received) == FAST.max_attempts and len(sleeps.waits) == FAST.max_attempts - 1
    assert "still failing after 4 attempt(s)" in report.message and "HTTP 503" in report.message
    assert "stay queued" in report.message


def test_non_retryable_status_stops_at_once(server: WebhookServer) -> None:
    server.answer(400, body=b"bad payload")
    report = push(f"{server.url}/hook", Sleeps())
    assert not report.ok and report.attempts == 1 and report.status_code == 400
    assert "HTTP 400" in report.message and "not retried" in report.message


def test_redirect_is_not_followed(server: WebhookServer) -> None:
    server.answer(302, headers={"Location": f"{server.url}/moved?token=s3cr3t"})
    report = push(f"{server.url}/hook", Sleeps())
    assert not report.ok and report.status_code == 302 and len(server.received) == 1
    assert "/moved?token=***" in report.message and "s3cr3t" not in report.message


def test_connection_refused_reports_without_raising(socket_enabled: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    report = push(f"http://127.0.0.1:{port}/hook", sleeps)
    assert not report.ok and report.status_code is None and report.attempts == FAST.max_attempts
    assert "ConnectionError" in report.message and "Connection refused" in report.message


def test_hanging_server_times_out(server: WebhookServer) -> None:
    server.hang(5.0, times=2)
    policy = RetryPolicy(max_attempts=2, backoff_s=0.01, jitter=0.0)
    report = push(f"{server.url}/hook", Sleeps(), policy=policy, timeout=0.3)
    assert not report.ok and report.attempts == 2 and report.status_code is None
    assert "no answer within 0.3 s" in report.message
    assert report.elapsed_s < 3.0


def test_credentials_never_in_report_or_logs(server: WebhookServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="skywatch.outputs.webhook")
    server.answer(503, times=10)
    url = f"http://ranger:pa55w0rd-XYZ@127.0.0.1:{server.port}/hook?token=tok-SECRET-123"
    report = push(url, Sleeps())
    assert not report.ok
    assert server.received[0].headers["Authorization"].startswith("Basic ")  # sent, just never shown
    shown = f"{report!r} {report.message} {report.url} {caplog.text}"
    for secret in ("pa55w0rd-XYZ", "ranger", "tok-SECRET-123"):
        assert secret not in shown
    assert report.url == f"http://***@127.0.0.1:{server.port}/hook?token=***"


def test_authorization_header_sent_never_shown(server: WebhookServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="skywatch.outputs.webhook")
    server.answer(500, times=10)
    report = push(f"{server.url}/hook", Sleeps(), headers={"Authorization": "Bearer bearer-SECRET-456"})
    assert not report.ok
    assert {r.headers["Authorization"] for r in server.received} == {"Bearer bearer-SECRET-456"}
    assert "bearer-SECRET-456" not in f"{report!r} {caplog.text}"


def test_credentials_hidden_when_connection_fails(socket_enabled: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://ranger:pa55w0rd-XYZ@127.0.0.1:{port}/hook?token=tok-SECRET-123"
    report = push(url, Sleeps(), policy=RetryPolicy(max_attempts=1))
    assert not report.ok
    assert "pa55w0rd-XYZ" not in report.message and "tok-SECRET-123" not in report.message


def test_auth_refusal_is_reported_once(server: WebhookServer) -> None:
    server.answer(401)
    report = push(f"{server.url}/hook", Sleeps(), headers={"Authorization": "Bearer wrong"})
    assert not report.ok and report.attempts == 1 and report.status_code == 401
    assert "credentials" in report.message and "wrong" not in report.message


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "file:///tmp/hook", "example.org/hook", "https:///hook"])
def test_invalid_url_raises(url: str) -> None:
    with pytest.raises(WebhookURLError, match="http"):
        push_alerts(url, COLLECTION)


def test_invalid_url_error_hides_credentials() -> None:
    with pytest.raises(WebhookURLError) as info:
        push_alerts("ftp://ranger:pa55w0rd@example.org/hook", COLLECTION)
    assert "pa55w0rd" not in str(info.value)


def test_not_a_collection_raises() -> None:
    with pytest.raises(DataError, match="FeatureCollection"):
        push_alerts("https://example.org/hook", {"type": "Feature"})


def test_redact_url_masks_path_tokens() -> None:
    url = "https://hooks.example.org/services/T0A1B2C3D/B0A1B2C3D/aZ3kQ9xW2mP7tR5vY8nB1cD4?x=1#f"
    assert redact_url(url) == "https://hooks.example.org/services/T0A1B2C3D/B0A1B2C3D/***?x=***"
