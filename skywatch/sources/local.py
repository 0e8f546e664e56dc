"""The ``local`` source: a static STAC catalog on disk (what ``skywatch sample`` writes) or a plain folder of
GeoTIFFs (see :mod:`skywatch.sources.local_files`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pystac
import xarray as xr
from shapely.geometry import box, mapping, shape

from skywatch.errors import SourceError
from skywatch.geometry import reproject
from skywatch.sources.http import RetryPolicy
from skywatch.sources.local_files import LocalFile, load_files, scan_folder
from skywatch.sources.odc_load import load_cube
from skywatch.types import BandName, BBox

__all__ = ["LocalSource"]

_COLLECTION_ALIASES = {"sentinel-2-l2a": {"sentinel-2-l2a", "sentinel-2-c1-l2a"}}


@dataclass(frozen=True, kw_only=True)
class LocalSource:
    """Items from a static STAC catalog, or from a folder of GeoTIFFs.

    Attributes:
        path: ``catalog.json``, a folder holding one (at its top or in ``stac/``), or a folder of GeoTIFFs.
    """

    path: Path
    name: str = "local"

    def _catalog_file(self) -> Path | None:
        p = Path(self.path)
        if not p.exists():
            raise SourceError(f"{str(p)!r} does not exist; give --path a STAC catalog or a folder of GeoTIFFs")
        candidates = [p] if p.is_file() else [p / "catalog.json", p / "stac" / "catalog.json"]
        return next((c for c in candidates if c.is_file()), None)

    def search(
        self, *, bbox: BBox, start: date, end: date, collection: str, max_cloud: float | None = None
    ) -> list[pystac.Item]:
        """Items of ``collection`` meeting ``bbox`` (lon/lat) with a date in [start, end].

        Raises:
            SourceError: nothing readable at ``path``.
        """
        catalog = self._catalog_file()
        if catalog is None:
            return self._file_items(bbox, start, end)
        try:
            items = list(pystac.Catalog.from_file(str(catalog)).get_items(recursive=True))
        except (OSError, ValueError, KeyError, pystac.STACError) as exc:
            raise SourceError(f"cannot read STAC catalog {str(catalog)!r}: {exc}") from exc
        wanted = _COLLECTION_ALIASES.get(collection, {collection})
        area = box(*bbox)
        found = []
        for item in items:
            if item.collection_id not in wanted or item.datetime is None or item.geometry is None:
                continue
            cc = item.properties.get("eo:cloud_cover")
            if max_cloud is not None and isinstance(cc, int | float) and cc > max_cloud:
                continue
            if start <= item.datetime.date() <= end and shape(item.geometry).intersects(area):
                found.append(item)
        return sorted(found, key=lambda it: (it.datetime, it.id))

    def _file_items(self, bbox: BBox, start: date, end: date) -> list[pystac.Item]:
        import rasterio

        items = []
        for f in scan_folder(Path(self.path)):
            if not start <= f.day <= end:
                continue
            with rasterio.open(f.path) as ds:
                footprint = reproject(box(*ds.bounds), ds.crs.to_string(), 4326)
            if not footprint.intersects(box(*bbox)):
                continue
            item = pystac.Item(
                id=f.path.stem,
                geometry=mapping(footprint),
                bbox=list(footprint.bounds),
                datetime=datetime.combine(f.day, time(0), tzinfo=UTC),
                properties={"skywatch:file": str(f.path), "skywatch:bands": f.bands},
            )
            for band in f.bands:
                item.add_asset(band, pystac.Asset(href=str(f.path), roles=["data"]))
            items.append(item)
        return items

    def load(
        self,
        items: Sequence[pystac.Item],
        *,
        bands: Sequence[BandName],
        bounds: BBox,
        epsg: int,
        resolution: float = 10.0,
        policy: RetryPolicy | None = None,
    ) -> xr.Dataset:
        """Pixels of ``items`` (from :meth:`search`) on the grid.

        Raises:
            SourceError: no items or missing bands.
        """
        if items and "skywatch:file" in items[0].properties:
            files = [
                LocalFile(
                    path=Path(it.properties["skywatch:file"]),
                    day=it.datetime.date(),  # type: ignore[union-attr]
                    bands=dict(it.properties["skywatch:bands"]),
                )
                for it in items
            ]
            return load_files(files, bands=bands, bounds=bounds, epsg=epsg, resolution=resolution)
        return load_cube(items, bands=bands, bounds=bounds, epsg=epsg, resolution=resolution, policy=policy)
