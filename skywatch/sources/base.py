"""The protocol every imagery source implements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

import pystac
import xarray as xr

from skywatch.types import BandName, BBox

__all__ = ["Source"]


@runtime_checkable
class Source(Protocol):
    """Finds scenes and reads their pixels onto a grid."""

    @property
    def name(self) -> str:
        """The provider's name as the CLI spells it."""
        ...

    def search(
        self, *, bbox: BBox, start: date, end: date, collection: str, max_cloud: float | None = None
    ) -> list[pystac.Item]:
        """Scenes of ``collection`` meeting ``bbox`` (lon/lat) between ``start`` and ``end`` (inclusive)."""
        ...

    def load(
        self, items: Sequence[pystac.Item], *, bands: Sequence[BandName], bounds: BBox, epsg: int, resolution: float
    ) -> xr.Dataset:
        """A lazy cube (time, y, x) of ``bands`` on the grid ``bounds`` (metres of ``epsg``); reflectance 0-1."""
        ...
