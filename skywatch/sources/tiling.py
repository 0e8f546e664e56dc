"""Lazy assembly of a cube from per-tile requests (services that return at most N x N pixels at a time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

__all__ = ["dataset_from_stack", "tiled_stack"]


def tiled_stack(
    geobox: GeoBox, keys: Sequence[Any], *, step: int, layers: int, fetch: Callable[[Any, GeoBox], np.ndarray]
) -> da.Array:
    """A lazy (key, layer, y, x) float32 array: ``fetch(key, tile)`` is called per key and tile of ``step`` px
    and must return (layers, tile rows, tile cols)."""
    h, w = geobox.shape
    per_key = []
    for key in keys:
        rows = []
        for r0 in range(0, h, step):
            cols = []
            for c0 in range(0, w, step):
                th, tw = min(step, h - r0), min(step, w - c0)
                lazy = dask.delayed(fetch)(key, geobox[r0 : r0 + th, c0 : c0 + tw])
                cols.append(da.from_delayed(lazy, shape=(layers, th, tw), dtype=np.float32))
            rows.append(da.concatenate(cols, axis=2))
        per_key.append(da.concatenate(rows, axis=1))
    return da.stack(per_key)


def dataset_from_stack(
    stack: da.Array,
    geobox: GeoBox,
    days: Sequence[Any],
    bands: Sequence[str],
    *,
    reflectance_scale: float = 1.0,
    linear_to_db: bool = False,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """A cube from a (time, band + valid, y, x) stack whose last layer is the service's validity mask.

    Reflectance is multiplied by ``reflectance_scale``; ``scl`` stays integer (0 where invalid); Sentinel-1
    bands become dB when ``linear_to_db``; invalid pixels are NaN.
    """
    coords = {"time": [np.datetime64(d, "ns") for d in days], **{k: v.values for k, v in geobox.coordinates.items()}}
    valid = stack[:, -1] > 0
    data = {}
    for i, band in enumerate(bands):
        if band == "scl":
            arr = da.where(valid, stack[:, i], 0).astype(np.uint8)
        elif band in ("vv", "vh") and linear_to_db:
            arr = 10 * da.log10(da.where(valid & (stack[:, i] > 0), stack[:, i], np.nan))
        else:
            arr = da.where(valid, stack[:, i] * np.float32(reflectance_scale), np.nan)
        data[band] = xr.DataArray(arr.astype(np.uint8 if band == "scl" else np.float32), dims=("time", "y", "x"),
                                  coords=coords)  # fmt: skip
    return xr.Dataset(data, attrs=attrs or {})
