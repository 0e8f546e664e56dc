"""Geometry helpers shared by every stage (pure)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

__all__ = ["reproject"]


def reproject(geometry: BaseGeometry, src: CRS | int | str, dst: CRS | int | str) -> BaseGeometry:
    """``geometry`` transformed from CRS ``src`` to ``dst`` (always x/lon first)."""
    tr = Transformer.from_crs(src, dst, always_xy=True)

    def apply(xy: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, apply)
