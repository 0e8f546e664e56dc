"""Lazy assembly of a cube from per-tile requests (services that return at most N x N pixels at a time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask
import dask.array as da
import numpy as np
from odc.geo.geobox import GeoBox

__all__ = ["tiled_stack"]


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
