"""The local source reads the sample's static STAC catalog like a remote one (offsets, nodata, grid)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio

from skywatch.errors import SourceError
from skywatch.sample.scene import SAMPLE_BOUNDS
from skywatch.sources.local import LocalSource
from skywatch.sources.odc_load import load_cube


def test_search_filters_by_date_and_area(sample_dir: Path) -> None:
    src = LocalSource(path=sample_dir)
    bbox = (131.0, 43.0, 131.3, 43.3)
    assert (
        len(src.search(bbox=bbox, start=date(2025, 1, 1), end=date(2025, 12, 31), collection="sentinel-2-c1-l2a")) == 2
    )
    assert (
        len(src.search(bbox=bbox, start=date(2025, 10, 1), end=date(2025, 12, 31), collection="sentinel-2-c1-l2a")) == 1
    )
    assert (
        src.search(
            bbox=(10.0, 10.0, 11.0, 11.0),
            start=date(2025, 1, 1),
            end=date(2025, 12, 31),
            collection="sentinel-2-c1-l2a",
        )
        == []
    )


def test_cube_applies_offset_and_nodata(sample_dir: Path) -> None:
    items = LocalSource(path=sample_dir).search(
        bbox=(131.0, 43.0, 131.3, 43.3),
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        collection="sentinel-2-c1-l2a",
    )
    cube = load_cube(items, bands=["red", "scl"], bounds=SAMPLE_BOUNDS, epsg=32652).compute()
    with rasterio.open(Path(items[0].assets["red"].get_absolute_href() or "")) as ds:
        dn = ds.read(1)
    red = cube["red"].isel(time=0).values
    ok = dn > 0
    np.testing.assert_allclose(red[ok], dn[ok] * 0.0001 - 0.1, atol=1e-6)
    assert np.isnan(red[~ok]).all() and (~ok).any()
    assert cube["scl"].dtype == np.uint8


def test_missing_catalog_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        LocalSource(path=tmp_path / "nope").search(
            bbox=(0, 0, 1, 1), start=date(2025, 1, 1), end=date(2025, 1, 2), collection="x"
        )
    with pytest.raises(SourceError, match="no GeoTIFF files"):
        LocalSource(path=tmp_path).search(
            bbox=(0, 0, 1, 1), start=date(2025, 1, 1), end=date(2025, 1, 2), collection="x"
        )
