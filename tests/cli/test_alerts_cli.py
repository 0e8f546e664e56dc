"""`skywatch alerts`: store, filters, GeoJSON/CSV/CAP exports checked by real consumers, webhook delivery that
never loses alerts (a local HTTP server on 127.0.0.1)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import geojson_validator
import pytest
from click.testing import CliRunner

from skywatch.cli.main import cli
from skywatch.outputs.cap import validate_cap
from tests.helpers.webhook_server import WebhookServer, serve


@pytest.fixture
def server(socket_enabled: None) -> Iterator[WebhookServer]:
    with serve() as s:
        yield s


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


def test_store_exports_and_filters(demo_result: object, tmp_path: Path) -> None:
    out = demo_result.out  # type: ignore[attr-defined]
    store = tmp_path / "store.gpkg"
    code, text = _run("alerts", "--store", str(store), "--add", str(out / "alerts.geojson"), "--aoi",
                      str(out / "sample" / "aoi.geojson"), "--out", str(tmp_path / "a.geojson"))  # fmt: skip
    assert code == 0, text
    assert "new, 0 ongoing" in text and "0 outside the AOI dropped" in text
    doc = json.loads((tmp_path / "a.geojson").read_text())
    assert not geojson_validator.validate_structure(doc)
    assert not geojson_validator.validate_geometries(doc).get("invalid")
    assert {f["properties"]["status"] for f in doc["features"]} == {"new"}
    n = len(doc["features"])
    # the same run again: nothing new, nothing duplicated
    code, text = _run("alerts", "--store", str(store), "--add", str(out / "alerts.geojson"))
    assert code == 0 and f"0 new, 0 ongoing, 0 resolved, {n} unchanged" in text
    code, _ = _run("alerts", "--store", str(store), "--types", "burn_scar,road", "--format", "csv", "--out",
                   str(tmp_path / "a.csv"))  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert code == 0 and {r["type"] for r in rows} == {"burn_scar", "road"}
    assert all(r["latitude"] and r["longitude"] and r["label_ru"] for r in rows)
    code, _ = _run("alerts", "--store", str(store), "--format", "cap", "--out", str(tmp_path / "cap"))
    files = sorted((tmp_path / "cap").glob("*.xml"))
    assert code == 0 and len(files) == n
    for f in files:
        validate_cap(f.read_bytes())  # against the OASIS CAP 1.2 XSD
    code, text = _run("alerts", "--store", str(store), "--min-confidence", "lots")
    assert code == 2 and "low, nominal, high or 0-100" in text
    code, text = _run("alerts", "--store", str(store), "--types", "meteor")
    assert code == 2 and "meteor" in text


def test_webhook_failure_keeps_alerts_for_the_next_run(demo_result: object, tmp_path: Path,
                                                       server: WebhookServer) -> None:  # fmt: skip
    out = demo_result.out  # type: ignore[attr-defined]
    store = tmp_path / "store.gpkg"
    url = f"{server.url}/hook"
    server.answer(503, times=2)
    code, text = _run("alerts", "--store", str(store), "--add", str(out / "alerts.geojson"), "--webhook", url,
                      "--webhook-attempts", "2")  # fmt: skip
    assert code == 1 and "kept in" in text and "Traceback" not in text
    n = len(json.loads((out / "alerts.geojson").read_text())["features"])
    code, text = _run("alerts", "--store", str(store), "--webhook", url, "--webhook-attempts", "2")
    assert code == 0 and f"{n} alert(s) delivered" in text
    sent = json.loads(server.received[-1].body)
    assert len(sent["features"]) == n and server.received[-1].headers["Content-Type"] == "application/geo+json"
    code, text = _run("alerts", "--store", str(store), "--webhook", url)
    assert code == 0 and "nothing new to send" in text
