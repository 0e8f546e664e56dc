"""The ``local`` source: a static STAC catalog on disk (what ``skywatch sample`` writes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pystac
from shapely.geometry import box, shape

from skywatch.errors import SourceError
from skywatch.types import BBox

__all__ = ["LocalSource"]


@dataclass(frozen=True, kw_only=True)
class LocalSource:
    """Items from a static STAC catalog file or a folder holding ``catalog.json``.

    Attributes:
        path: ``catalog.json`` or a folder with one (searched at its top and in ``stac/``).
    """

    path: Path
    name: str = "local"

    def _catalog_file(self) -> Path:
        p = Path(self.path)
        candidates = [p] if p.is_file() else [p / "catalog.json", p / "stac" / "catalog.json"]
        for c in candidates:
            if c.is_file():
                return c
        raise SourceError(
            f"no STAC catalog at {str(p)!r}: expected a catalog.json file or a folder holding one "
            "(e.g. the folder written by `skywatch sample`)"
        )

    def search(self, *, bbox: BBox, start: date, end: date, collection: str) -> list[pystac.Item]:
        """Items of ``collection`` meeting ``bbox`` (lon/lat) with a date in [start, end].

        Raises:
            SourceError: the catalog is missing or unreadable.
        """
        path = self._catalog_file()
        try:
            catalog = pystac.Catalog.from_file(str(path))
            items = list(catalog.get_items(recursive=True))
        except (OSError, ValueError, KeyError, pystac.STACError) as exc:
            raise SourceError(f"cannot read STAC catalog {str(path)!r}: {exc}") from exc
        area = box(*bbox)
        found = []
        for item in items:
            if item.collection_id != collection or item.datetime is None or item.geometry is None:
                continue
            if start <= item.datetime.date() <= end and shape(item.geometry).intersects(area):
                found.append(item)
        return sorted(found, key=lambda it: (it.datetime, it.id))
