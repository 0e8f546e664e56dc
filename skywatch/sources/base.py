"""The protocol every imagery source implements."""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

import pystac

from skywatch.types import BBox

__all__ = ["Source"]


@runtime_checkable
class Source(Protocol):
    """Finds scenes; pixels are read from the items' assets by :func:`skywatch.sources.odc_load.load_cube`."""

    name: str

    def search(self, *, bbox: BBox, start: date, end: date, collection: str) -> list[pystac.Item]:
        """Items of ``collection`` meeting ``bbox`` (lon/lat) between ``start`` and ``end`` (inclusive)."""
        ...
