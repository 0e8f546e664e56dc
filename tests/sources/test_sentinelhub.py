"""The Sentinel Hub adapter against replayed Catalog/Process API request and response shapes (requests-mock).

Response bodies follow the Sentinel Hub API documentation: OAuth client-credentials token, Catalog API STAC
FeatureCollection with ``context.next``, Process API answering a multi-band FLOAT32 GeoTIFF.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
import requests_mock
from affine import Affine
from rasterio.io import MemoryFile

from skywatch.errors import SourceError
from skywatch.sources.credentials import CredentialError
from skywatch.sources.http import AuthError
from skywatch.sources.sentinelhub import SentinelHubSource, evalscript, sentinelhub_config

BASE = "https://services.sentinel-hub.com"
TOKEN = f"{BASE}/auth/realms/main/protocol/openid-connect/token"
CATALOG = f"{BASE}/api/v1/catalog/1.0.0/search"
PROCESS = f"{BASE}/api/v1/process"
ENV = {"SH_CLIENT_ID": "client-id-123", "SH_CLIENT_SECRET": "VERY-SECRET"}
BOUNDS = (666_600.0, 4_773_500.0, 667_600.0, 4_774_500.0)  # 1 km at 10 m: 100 x 100 px


def _feature(i: int, day: str, cc: float) -> dict[str, Any]:
    return {
        "stac_version": "1.0.0",
        "type": "Feature",
        "id": f"S2B_MSIL2A_{day.replace('-', '')}T021531_N0511_R003_T52TFN_{i}",
        "bbox": [130.5, 42.3, 131.9, 43.3],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[130.5, 42.3], [131.9, 42.3], [131.9, 43.3], [130.5, 43.3], [130.5, 42.3]]],
        },
        "properties": {"datetime": f"{day}T02:15:31Z", "eo:cloud_cover": cc, "platform": "sentinel-2b"},
        "assets": {},
        "links": [],
    }


def _tiff(request: Any, context: Any) -> bytes:
    body = request.json()
    w, h = body["output"]["width"], body["output"]["height"]
    nbands = body["evalscript"].count('"', body["evalscript"].index("bands: ["), body["evalscript"].index("]")) // 2
    arr = np.stack([np.full((h, w), 0.1 * (i + 1), np.float32) for i in range(nbands)])
    arr[-1] = 1.0  # dataMask
    arr[-1, 0, 0] = 0.0  # one no-data pixel
    with MemoryFile() as mem:
        with mem.open(
            driver="GTiff",
            width=w,
            height=h,
            count=nbands,
            dtype="float32",
            crs="EPSG:32652",
            transform=Affine(10, 0, 0, 0, -10, 0),
        ) as ds:
            ds.write(arr)
        context.headers["Content-Type"] = "image/tiff"
        return bytes(mem.read())


@pytest.fixture
def sh() -> SentinelHubSource:
    return SentinelHubSource(config=sentinelhub_config(ENV), max_px=60)


@pytest.mark.filterwarnings("ignore:credentials file")
def test_missing_credentials_name_the_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no sentinelhub config file with keys
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(CredentialError, match="SH_CLIENT_ID and SH_CLIENT_SECRET"):
        sentinelhub_config({})


def test_search_pages_and_load_tiles(sh: SentinelHubSource) -> None:
    with requests_mock.Mocker() as m:
        m.post(TOKEN, json={"access_token": "tok-1", "expires_in": 3600, "token_type": "Bearer"})
        m.post(
            CATALOG,
            [
                {
                    "json": {
                        "type": "FeatureCollection",
                        "features": [_feature(1, "2025-10-21", 3.2)],
                        "links": [],
                        "context": {"next": 1, "limit": 1, "returned": 1},
                    }
                },
                {
                    "json": {
                        "type": "FeatureCollection",
                        "features": [_feature(2, "2025-10-26", 40.0)],
                        "links": [],
                        "context": {"limit": 1, "returned": 1},
                    }
                },
            ],
        )
        m.post(PROCESS, content=_tiff)
        items = sh.search(
            bbox=(131.0, 43.0, 131.2, 43.2),
            start=date(2025, 10, 20),
            end=date(2025, 10, 31),
            collection="sentinel-2-l2a",
            max_cloud=50,
        )
        assert [it.properties["eo:cloud_cover"] for it in items] == [3.2, 40.0]
        search = m.request_history[1].json()
        assert search["collections"] == ["sentinel-2-l2a"] and "eo:cloud_cover < 50.0" in search["filter"]
        assert search["datetime"].startswith("2025-10-20")
        cube = sh.load(items, bands=["red", "nir08", "scl"], bounds=BOUNDS, epsg=32652, resolution=10.0)
        values = cube.compute()
    process_calls = [r for r in m.request_history if r.url == PROCESS]
    assert len(process_calls) == 2 * 4  # 2 days x (100 px / 60 px)^2 tiles
    first = process_calls[0]
    assert first.headers["Authorization"] == "Bearer tok-1"
    req = first.json()
    assert req["input"]["bounds"]["properties"]["crs"].endswith("32652")
    assert req["input"]["data"][0]["type"] == "sentinel-2-l2a"
    assert '"B04", "B8A", "SCL", "dataMask"' in req["evalscript"]
    assert values["red"].shape == (2, 100, 100)
    assert np.isnan(values["red"].values[0, 0, 0]) and values["red"].values[0, 1, 1] == pytest.approx(0.1)
    assert values["scl"].dtype == np.uint8


def test_refused_client_is_an_auth_error_without_the_secret() -> None:
    # a client id of its own: sentinelhub shares sessions (and tokens) per client id within a process
    sh = SentinelHubSource(config=sentinelhub_config({**ENV, "SH_CLIENT_ID": "revoked-client"}))
    with requests_mock.Mocker() as m:
        m.post(TOKEN, status_code=401, json={"error": "invalid_client", "error_description": "Invalid client"})
        m.post(CATALOG, status_code=401, json={"error": {"status": 401, "reason": "Unauthorized"}})
        with pytest.raises(AuthError) as info:
            sh.search(
                bbox=(131.0, 43.0, 131.2, 43.2),
                start=date(2025, 10, 20),
                end=date(2025, 10, 31),
                collection="sentinel-2-l2a",
            )
    assert "VERY-SECRET" not in str(info.value)


def test_evalscript_and_unknown_collection(sh: SentinelHubSource) -> None:
    script = evalscript(["vv", "vh"], "sentinel-1-grd")
    assert '"VV", "VH", "dataMask"' in script and "REFLECTANCE" not in script
    with pytest.raises(SourceError, match="not offered through sentinelhub"):
        sh.search(bbox=(0, 0, 1, 1), start=date(2025, 1, 1), end=date(2025, 1, 2), collection="landsat")
