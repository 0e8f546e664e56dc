"""Composites, valid counts, AOI clipping and SCL masking on small hand-built cubes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from shapely.geometry import box

from skywatch.cube.clip import clip_to
from skywatch.cube.composite import best_pixel, best_pixel_composite, median_composite, valid_count
from skywatch.cube.mask import apply_mask, buffer_invalid


def _cube() -> xr.Dataset:
    gb = GeoBox.from_bbox((0, 0, 40, 40), crs="EPSG:32652", resolution=10)
    coords = {
        "time": np.array(["2025-01-01", "2025-01-02", "2025-01-03"], dtype="datetime64[ns]"),
        **{k: v.values for k, v in gb.coordinates.items()},
    }
    red = np.stack([np.full((4, 4), v, np.float32) for v in (0.1, 0.3, 0.2)])
    red[1, 0, 0] = np.nan
    scl = np.full((3, 4, 4), 4, np.uint8)
    scl[0, :, :2] = 9  # cloud on the left half of the first date
    ds = xr.Dataset({"red": (("time", "y", "x"), red), "scl": (("time", "y", "x"), scl)}, coords=coords)
    return ds.odc.assign_crs("EPSG:32652").chunk({"x": 2, "y": 2})


def test_mask_then_median_and_counts() -> None:
    masked = apply_mask(_cube())
    assert np.isnan(masked["red"].values[0, :, :2]).all()
    med = median_composite(masked).compute()
    assert med["red"].values[0, 3] == pytest.approx(0.2)  # median of 0.1, 0.3, 0.2
    assert med["red"].values[0, 0] == pytest.approx(0.2)  # cloud on date 1, NaN on date 2: only 0.2 left
    counts = valid_count(masked).compute().values
    assert counts[0, 3] == 3 and counts[0, 1] == 2 and counts[0, 0] == 1


def test_best_pixel_takes_the_least_cloudy_valid_scene() -> None:
    masked = apply_mask(_cube())
    best = best_pixel_composite(masked, cloud_cover=[5.0, 50.0, 20.0]).compute()
    assert best["red"].values[0, 3] == pytest.approx(0.1)  # scene 1 is least cloudy
    assert best["red"].values[0, 1] == pytest.approx(0.2)  # masked there: next best is scene 3
    with pytest.raises(ValueError):
        best_pixel_composite(masked, cloud_cover=[1.0])


def test_best_pixel_on_arrays_equals_the_lazy_composite() -> None:
    """The in-memory form (used per detection tile) follows the same rule as the lazy one, NaNs and ties too."""
    cube = _cube()
    cube["red"][2, 0, 0] = np.nan  # masked by SCL on date 1, NaN on dates 2 and 3: stays NaN
    covers = [5.0, 20.0, 20.0]  # a tie between dates 2 and 3: the earlier wins
    lazy = best_pixel_composite(apply_mask(cube), cloud_cover=covers).compute()["red"].values
    usable = ~np.isin(cube["scl"].values, [9])
    eager = best_pixel(cube["red"].values, usable, covers)
    np.testing.assert_array_equal(eager, lazy)
    assert np.isnan(eager[0, 0]) and eager[0, 1] == pytest.approx(0.3) and eager[0, 3] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        best_pixel(cube["red"].values, usable, [1.0])


def test_clip_and_buffer() -> None:
    clipped = clip_to(_cube(), box(0, 0, 20, 40))
    assert np.isnan(clipped["red"].values[2, :, 2:]).all() and np.isfinite(clipped["red"].values[2, :, :2]).all()
    assert (clipped["scl"].values[:, :, 2:] == 0).all()
    valid = np.ones((9, 9), dtype=bool)
    valid[4, 4] = False
    assert (~buffer_invalid(valid, 2)).sum() == 25
