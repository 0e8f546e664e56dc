"""Composites over a date window and valid-observation counts (lazy: xarray/dask in, xarray/dask out)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = ["best_pixel", "best_pixel_composite", "median_composite", "valid_count"]


def _reflectance(ds: xr.Dataset) -> list[str]:
    return [str(v) for v in ds.data_vars if ds[v].dtype.kind == "f"]


def median_composite(ds: xr.Dataset) -> xr.Dataset:
    """Per-pixel median over time of the reflectance bands, skipping masked (NaN) observations."""
    bands = _reflectance(ds)
    whole_time = ds[bands].chunk({"time": -1}) if ds.chunks else ds[bands]
    return whole_time.median("time", skipna=True).astype(np.float32)


def best_pixel_composite(ds: xr.Dataset, cloud_cover: Sequence[float]) -> xr.Dataset:
    """Per pixel, the valid observation from the least cloudy scene (``cloud_cover`` per time step, %).

    Ties keep the earlier date. A pixel masked in every scene stays NaN.
    """
    if len(cloud_cover) != ds.sizes["time"]:
        raise ValueError(f"cloud_cover has {len(cloud_cover)} values for {ds.sizes['time']} time steps")
    bands = _reflectance(ds)
    order = np.argsort(np.asarray(cloud_cover, dtype=float), kind="stable")
    ranked = ds[bands].isel(time=order)
    best = ranked.isel(time=0, drop=True)
    for i in range(1, ranked.sizes["time"]):
        best = best.fillna(ranked.isel(time=i, drop=True))
    return best.astype(np.float32)


def best_pixel(values: np.ndarray, usable: np.ndarray, cloud_cover: Sequence[float]) -> np.ndarray:
    """:func:`best_pixel_composite`'s rule on loaded arrays: per pixel, the value from the least cloudy scene
    where it is usable and not NaN. ``values``, ``usable``: (time, rows, cols); ties keep the earlier date.

    For a tile already in memory this costs a fraction of the lazy xarray form (no task graph per step).
    """
    if len(cloud_cover) != values.shape[0] or usable.shape != values.shape:
        raise ValueError(f"values {values.shape}, usable {usable.shape} and {len(cloud_cover)} cloud covers disagree")
    best = np.full(values.shape[1:], np.nan, dtype=np.float32)
    for t in np.argsort(np.asarray(cloud_cover, dtype=float), kind="stable"):
        take = usable[t] & np.isnan(best)
        best[take] = values[t][take]
    return best


def valid_count(ds: xr.Dataset) -> xr.DataArray:
    """Number of valid (unmasked) observations per pixel over time."""
    bands = _reflectance(ds)
    ok = ds[bands[0]].notnull()
    for band in bands[1:]:
        ok = ok & ds[band].notnull()
    return ok.sum("time").astype(np.int16).rename("valid_count")
