"""STAC sources against REAL recorded API responses (vcrpy replays them; the network stays blocked)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import vcr

from skywatch.errors import SourceError
from skywatch.sources.providers import get_provider
from skywatch.sources.stac import StacSource

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
replay = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none", match_on=["method", "uri"])
ANY_DAY = {"start": date(2000, 1, 1), "end": date(2030, 1, 1)}


def test_earth_search_pages_and_parses() -> None:
    src = StacSource(provider=get_provider("earth-search"))
    with replay.use_cassette("TestCLISearch.test_filterinprocess.yaml", allow_playback_repeats=False) as cas:
        # the recording's first interaction is the landing page; ItemSearch goes straight to /search
        cas.play_counts[0] = 1
        items = src.search(bbox=(-180, -90, 180, 90), collection="sentinel-2-l2a", max_items=20, **ANY_DAY)
    assert len(items) == 20  # two recorded pages, followed through the 'next' link
    c1 = [it for it in items if it.collection_id == "sentinel-2-c1-l2a"]
    assert c1
    red = c1[0].assets["red"].extra_fields["raster:bands"][0]
    assert red["offset"] == -0.1 and red["scale"] == 0.0001
    assert all(it.properties["skywatch:provider"] == "earth-search" for it in items)


def test_planetary_computer_assets_renamed_and_signed_by_injected_modifier() -> None:
    seen: list[str] = []

    def sign(obj: Any) -> None:
        """Stands in for planetary_computer.sign_inplace (injected, not a global): pystac-client hands it each
        page as a FeatureCollection dict."""
        for feature in obj["features"]:
            for asset in feature["assets"].values():
                asset["href"] += "?sig=SECRET-TOKEN"
            seen.append(feature["id"])

    src = StacSource(provider=get_provider("planetary-computer"), modifier=sign)
    with replay.use_cassette("TestItemSearch.test_datetime_results.yaml"):
        items = src.search(bbox=(-180, -90, 180, 90), collection="sentinel-2-l2a", **ANY_DAY)
    assert len(items) == 33 and len(seen) == 33
    it = items[0]
    assert it.assets["red"].href == it.assets["B04"].href and it.assets["red"].href.endswith("?sig=SECRET-TOKEN")
    assert it.assets["scl"].href.split("?")[0].endswith("SCL_20m.tif")
    assert it.properties["s2:processing_baseline"]  # PC carries the baseline the offset rule needs


def test_server_errors_are_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """After retries, a failing search names the endpoint without its query string."""
    import requests_mock

    from skywatch.sources.http import RetryPolicy

    src = StacSource(
        provider=get_provider("earth-search"),
        url="https://mirror.example/v1?token=SECRET",
        policy=RetryPolicy(max_attempts=2, backoff_s=0.0),
    )
    with requests_mock.Mocker() as m:
        m.post("https://mirror.example/v1?token=SECRET/search", status_code=502, json={"code": "bad gateway"})
        with pytest.raises(SourceError) as info:
            src.search(bbox=(0, 0, 1, 1), collection="sentinel-2-l2a", **ANY_DAY)
    assert "SECRET" not in str(info.value)


def test_unknown_collection_and_provider() -> None:
    with pytest.raises(SourceError, match="choose one of"):
        get_provider("sentinel-hubb")
    with pytest.raises(SourceError, match="not offered"):
        get_provider("earth-search").collection_id("landsat")


def test_missing_extra_names_the_pip_command() -> None:
    from skywatch.errors import DependencyError
    from skywatch.sources.registry import import_extra

    with pytest.raises(DependencyError, match=r"pip install 'skywatch\[earthengine\]'"):
        import_extra("skywatch_no_such_module", "earthengine")


def test_sentinel1_in_db_and_refused_where_uncalibrated() -> None:
    import numpy as np
    import pystac
    import xarray as xr

    from skywatch.sources.stac import to_db

    db = to_db(xr.DataArray(np.array([1.0, 0.1, 0.0, -1.0])))
    np.testing.assert_allclose(db.values[:2], [0.0, -10.0])
    assert np.isnan(db.values[2:]).all()
    item = pystac.Item(
        id="s1",
        geometry=None,
        bbox=None,
        datetime=datetime(2025, 1, 1),
        properties={"skywatch:collection": "sentinel-1-grd"},
    )
    with pytest.raises(SourceError, match="uncalibrated"):
        StacSource(provider=get_provider("earth-search")).load([item], bands=["vv"], bounds=(0, 0, 10, 10), epsg=32652)
