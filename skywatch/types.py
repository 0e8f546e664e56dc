"""Named aliases used across the public API."""

from __future__ import annotations

from datetime import date
from typing import TypeAlias

__all__ = ["BBox", "BandName", "DateRange", "TileID"]

BBox: TypeAlias = tuple[float, float, float, float]
"""(min x, min y, max x, max y) in the CRS the context names (lon/lat for WGS84)."""

BandName: TypeAlias = str
"""An Earth Search asset key such as ``"red"``, ``"nir08"`` or ``"scl"``."""

DateRange: TypeAlias = tuple[date, date]
"""Inclusive start and end dates."""

TileID: TypeAlias = str
"""A stable tile identifier of the tiling grid, e.g. ``"32652-E0065-N0466"``."""
