"""The Earth Engine adapter through earthengine-api's own test helpers: ``ee.apitestcase.ApiTestCase`` sets the
library up offline, and ``UsingCloudApi`` serves the Cloud API HTTP responses we replay (googleapiclient's
``HttpMockSequence``), so the real client code builds and sends the requests."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ee
import numpy as np
import pytest
from affine import Affine
from ee import apitestcase
from googleapiclient.http import HttpMockSequence
from rasterio.io import MemoryFile

from skywatch.sources.credentials import CredentialError
from skywatch.sources.earthengine import EarthEngineSession, EarthEngineSource, earthengine_session, tile_edge
from skywatch.sources.http import AuthError

BOUNDS = (666_600.0, 4_773_500.0, 667_200.0, 4_774_100.0)  # 60 x 60 px at 10 m


@pytest.fixture
def ee_offline() -> Iterator[None]:
    case = apitestcase.ApiTestCase()
    case.setUp()
    ee.data.computeValue = case.old_compute_value  # send computeValue over (mocked) HTTP, not the stub
    try:
        yield
    finally:
        case.tearDown()


class RecordingHttp(HttpMockSequence):  # type: ignore[misc]
    """googleapiclient's HttpMockSequence that also keeps what was sent."""

    def __init__(self, responses: list[tuple[dict[str, str], Any]]) -> None:
        super().__init__(responses)
        self.sent: list[tuple[str, str, Any]] = []

    def request(self, uri: str, method: str = "GET", body: Any = None, *args: Any, **kwargs: Any) -> Any:
        self.sent.append((uri, method, body))
        return super().request(uri, method, body, *args, **kwargs)


def _source() -> EarthEngineSource:
    return EarthEngineSource(session=EarthEngineSession(project="my-project", initialize=lambda: None))


def _geotiff(n_bands: int, h: int, w: int) -> bytes:
    arr = np.stack([np.full((h, w), 1000.0 * (i + 1), np.float32) for i in range(n_bands)])
    arr[-1] = 1.0
    arr[-1, :2, :2] = 0.0
    with MemoryFile() as mem:
        with mem.open(
            driver="GTiff",
            width=w,
            height=h,
            count=n_bands,
            dtype="float32",
            crs="EPSG:32652",
            transform=Affine(10, 0, BOUNDS[0], 0, -10, BOUNDS[3]),
        ) as ds:
            ds.write(arr)
        return bytes(mem.read())


def test_search_and_load(ee_offline: None) -> None:
    rows = [
        ["20251021T021531_20251021T021530_T52TFN", 1761012931000, 3.5],
        ["20251026T021529_20251026T021527_T52TFN", 1761444929000, 12.0],
    ]
    http = RecordingHttp(
        [
            ({"status": "200"}, json.dumps({"result": rows})),
            ({"status": "200", "content-type": "image/tiff"}, _geotiff(3, 60, 60)),
            ({"status": "200", "content-type": "image/tiff"}, _geotiff(3, 60, 60)),
        ]
    )
    with apitestcase.UsingCloudApi(mock_http=http):
        src = _source()
        items = src.search(
            bbox=(131.0, 43.0, 131.2, 43.2),
            start=date(2025, 10, 20),
            end=date(2025, 10, 31),
            collection="sentinel-2-l2a",
            max_cloud=20,
        )
        assert [it.id.split("/")[-1][:8] for it in items] == ["20251021", "20251026"]
        assert items[0].properties["eo:cloud_cover"] == 3.5
        cube = src.load(items, bands=["red", "nir08"], bounds=BOUNDS, epsg=32652, resolution=10.0).compute()
    uris = [uri.split("?")[0] for uri, _, _ in http.sent]
    assert uris[0].endswith("projects/my-project/value:compute")
    assert all(u.endswith("projects/my-project/image:computePixels") for u in uris[1:]) and len(uris) == 3
    grid = json.loads(http.sent[1][2])["grid"]
    assert grid["crsCode"] == "EPSG:32652" and grid["dimensions"] == {"width": 60, "height": 60}
    assert grid["affineTransform"]["translateX"] == BOUNDS[0] and grid["affineTransform"]["scaleY"] == -10
    assert cube["red"].shape == (2, 60, 60)
    assert cube["red"].values[0, 5, 5] == pytest.approx(0.1) and cube["nir08"].values[0, 5, 5] == pytest.approx(0.2)
    assert np.isnan(cube["red"].values[0, 0, 0])  # masked in Earth Engine -> NaN


def test_refusal_is_an_auth_error(ee_offline: None) -> None:
    body = json.dumps({"error": {"code": 403, "message": "Permission denied.", "status": "PERMISSION_DENIED"}})
    http = HttpMockSequence([({"status": "403"}, body)])
    with apitestcase.UsingCloudApi(mock_http=http), pytest.raises(AuthError, match="EE_PROJECT"):
        _source().search(
            bbox=(131.0, 43.0, 131.2, 43.2),
            start=date(2025, 10, 20),
            end=date(2025, 10, 31),
            collection="sentinel-2-l2a",
        )


def test_credentials_and_tiles(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="EE_PROJECT"):
        earthengine_session({})
    with pytest.raises(CredentialError, match="EE_SERVICE_ACCOUNT"):
        earthengine_session({"EE_PROJECT": "p"}, stored_credentials=tmp_path / "none")
    with pytest.raises(CredentialError, match="not a file"):
        earthengine_session({"EE_PROJECT": "p", "EE_SERVICE_ACCOUNT": "a@b", "EE_PRIVATE_KEY_FILE": str(tmp_path)})
    edge = tile_edge(13)
    assert edge % 16 == 0 and 13 * 4 * edge * edge <= 48 * 1024 * 1024


def test_world_readable_key_file_warns_without_its_contents(tmp_path: Path) -> None:
    """Issue 8: a credentials file others can read is named with the fix (chmod 600); its contents never appear."""
    key = tmp_path / "key.json"
    key.write_text('{"private_key": "-----BEGIN PRIVATE KEY-----SECRET-IN-FILE"}', encoding="utf-8")
    env = {"EE_PROJECT": "p", "EE_SERVICE_ACCOUNT": "a@b.iam.gserviceaccount.com", "EE_PRIVATE_KEY_FILE": str(key)}
    key.chmod(0o644)
    with pytest.warns(UserWarning, match=r"readable by other users; run: chmod 600") as caught:
        earthengine_session(env)
    assert all("SECRET-IN-FILE" not in str(w.message) for w in caught)
    key.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a private file passes silently
        earthengine_session(env)
    stored = tmp_path / "credentials"
    stored.write_text('{"refresh_token": "SECRET"}', encoding="utf-8")
    stored.chmod(0o604)
    with pytest.warns(UserWarning, match="readable by other users"):
        earthengine_session({"EE_PROJECT": "p"}, stored_credentials=stored)
