"""Remote COG reads through GDAL /vsicurl/ against a local Range server, with injected faults."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pystac
import pytest

from skywatch.errors import SourceError
from skywatch.sample.scene import SAMPLE_BOUNDS
from skywatch.sources.http import AuthError, RetryPolicy, probe
from skywatch.sources.odc_load import load_cube, read_errors
from tests.helpers.range_server import RangeServer
from tests.sources.conftest import path_of

FAST = RetryPolicy(max_attempts=4, backoff_s=0.05, max_backoff_s=5.0, max_total_s=20.0)


def _load(items: list[pystac.Item], bands: list[str]) -> np.ndarray:
    ds = load_cube(items, bands=bands, bounds=SAMPLE_BOUNDS, epsg=32652, policy=FAST)
    with read_errors():
        return np.asarray(ds[bands[0]].compute().values)


def test_remote_equals_local(remote_items: list[pystac.Item], sample_dir: object) -> None:
    from datetime import date

    from skywatch.sources.local import LocalSource

    local = LocalSource(path=sample_dir).search(  # type: ignore[arg-type]
        bbox=(131.0, 43.0, 131.3, 43.3), start=date(2025, 1, 1), end=date(2025, 12, 31), collection="sentinel-2-c1-l2a"
    )
    np.testing.assert_array_equal(_load(remote_items, ["nir08"]), _load(local, ["nir08"]))


def test_503_twice_then_200_succeeds(server: RangeServer, remote_items: list[pystac.Item]) -> None:
    path = path_of(server, remote_items[1].assets["red"].href)
    server.fail(path, 503, times=2)
    red = _load(remote_items, ["red"])
    assert np.isfinite(red).mean() > 0.9
    statuses = [r.status for r in server.requests_for(path)]
    assert statuses[:2] == [503, 503] and 206 in statuses[2:]


def test_429_retry_after_is_honoured(server: RangeServer, remote_items: list[pystac.Item]) -> None:
    path = path_of(server, remote_items[0].assets["red"].href)
    server.fail(path, 429, headers={"Retry-After": "1"})
    _load(remote_items, ["red"])
    hits = server.requests_for(path)
    assert hits[0].status == 429
    assert hits[1].at - hits[0].at >= 0.95  # waited as told, not the 0.05 s backoff


def test_retries_are_bounded(server: RangeServer) -> None:
    server.fail("/nowhere.tif", 503, times=50)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"still failing after 4 attempt"):
        probe(f"{server.url}/nowhere.tif", policy=FAST)
    assert time.monotonic() - t0 < 5
    assert len(server.requests_for("/nowhere.tif")) == 4


def test_truncated_cog_names_the_asset(server: RangeServer, remote_items: list[pystac.Item]) -> None:
    path = path_of(server, remote_items[1].assets["red"].href)
    server.truncate(path, 5000)
    with pytest.raises(SourceError, match=r"B04\.tif failed: the file looks truncated"):
        _load(remote_items, ["red"])


def test_401_is_an_auth_error_without_secrets(server: RangeServer, remote_items: list[pystac.Item]) -> None:
    server.require_auth("Bearer right")
    href = remote_items[0].assets["red"].href + "?token=SECRET-SAS"
    with pytest.raises(AuthError) as info:
        probe(href, policy=FAST, headers={"Authorization": "Bearer SECRET-WRONG"})
    assert "401" in str(info.value)
    assert "SECRET" not in str(info.value)


def test_a_window_reads_only_its_blocks(server: RangeServer, remote_items: list[pystac.Item], sample_dir: Path) -> None:
    # the sample's 10 m bands are 1000 px COGs in 256 px blocks: a 2 km corner lies in one block of sixteen
    item = remote_items[0]
    path = path_of(server, item.assets["red"].href)
    size = (sample_dir / "stac" / path.lstrip("/")).stat().st_size
    west, _, _, north = SAMPLE_BOUNDS
    corner = (west, north - 2000.0, west + 2000.0, north)
    ds = load_cube([item], bands=["red"], bounds=corner, epsg=32652, policy=FAST)
    with read_errors():
        remote = np.asarray(ds["red"].compute().values)
    local = item.clone()
    local.assets["red"].href = str(sample_dir / "stac" / path.lstrip("/"))
    ds = load_cube([local], bands=["red"], bounds=corner, epsg=32652, policy=FAST)
    np.testing.assert_array_equal(remote, np.asarray(ds["red"].compute().values))
    gets = [r for r in server.requests_for(path) if r.method == "GET"]
    assert gets and all(r.range is not None and r.status == 206 for r in gets)  # never the whole file
    spans = [r.range.removeprefix("bytes=").split("-") for r in gets if r.range]
    read = sum(int(b) - int(a) + 1 for a, b in spans)
    assert read < size / 8, f"{read} of {size} bytes read for one block of 16"  # measured: header + 1 block, 7.5 %
