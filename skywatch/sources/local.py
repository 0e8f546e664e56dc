"""The ``local`` source: a static STAC catalog on disk (what ``skywatch sample`` writes) or a plain folder of
GeoTIFFs (see :mod:`skywatch.sources.local_files`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pystac
import rasterio
import xarray as xr
from pyproj import CRS
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from skywatch.errors import DataError, SourceError
from skywatch.geometry import reproject
from skywatch.sources.http import RetryPolicy
from skywatch.sources.local_files import LocalFile, band_of_description, check_decode_cost, load_files, scan_folder
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
        items = []
        for f in scan_folder(Path(self.path)):
            if not start <= f.day <= end:
                continue
            with rasterio.open(f.path) as ds:
                footprint = _footprint(ds)
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
            DataError: a local file whose part under the grid would decode too much (a decompression bomb), or
                that contradicts its item (another band, another data type).
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
        _check_assets(items, bands=bands, bounds=bounds, epsg=epsg, resolution=resolution)
        return load_cube(items, bands=bands, bounds=bounds, epsg=epsg, resolution=resolution, policy=policy)


def _footprint(ds: DatasetReader) -> BaseGeometry:
    """The lon/lat footprint of an open file, clipped to where its CRS is defined.

    A header may declare an extent far beyond its CRS's area of use (1,000,000 pixels of 10 m run 10,000 km, past
    the equator and across UTM zones), which reprojects to nonsense that meets no AOI; the clipped footprint still
    meets the AOI, so the file reaches :func:`~skywatch.sources.local_files.check_decode_cost` and is refused there
    with a message instead of being silently left out.
    """
    extent = box(*ds.bounds)
    code = ds.crs.to_epsg()  # a GDAL WKT1 string carries no area of use; the EPSG entry does
    area = (CRS.from_epsg(code) if code else CRS.from_wkt(ds.crs.to_wkt())).area_of_use
    if area is not None:
        usable = box(*transform_bounds("EPSG:4326", ds.crs, *area.bounds, densify_pts=21))
        if extent.intersects(usable):
            extent = extent.intersection(usable)
    return reproject(extent, ds.crs.to_string(), 4326)


def _local_path(href: str) -> Path | None:
    """The file an asset href names on this machine, None for a remote one."""
    if "://" in href and not href.startswith("file://"):
        return None
    path = Path(href.removeprefix("file://"))
    return path if path.is_file() else None


def _check_assets(
    items: Sequence[pystac.Item], *, bands: Sequence[BandName], bounds: BBox, epsg: int, resolution: float
) -> None:
    """Check the local files behind ``items``' ``bands`` before odc-stac reads them (headers only).

    Files that cannot be opened are left to the loader, which names them when it fails.

    Raises:
        DataError: a file whose part under the grid would decode too much
            (:func:`~skywatch.sources.local_files.check_decode_cost`), or that contradicts its item
            (:func:`_check_asset_matches`).
    """
    for item in items:
        for band in bands:
            asset = item.assets.get(band)
            path = _local_path(asset.get_absolute_href() or asset.href) if asset is not None else None
            if asset is None or path is None:
                continue
            try:
                ds = rasterio.open(path)
            except rasterio.RasterioIOError:
                continue
            with ds:
                label = f"asset {band!r} of scene {item.id!r} ({path.name})"
                check_decode_cost(ds, bounds=bounds, crs=f"EPSG:{epsg}", resolution=resolution, label=label)
                _check_asset_matches(ds, asset, band=band, label=label)


def _check_asset_matches(ds: DatasetReader, asset: pystac.Asset, *, band: str, label: str) -> None:
    """Refuse a file that contradicts the item about which band it holds or what type its pixels are.

    odc-stac reads an asset by its key and scales it by the item's ``raster:bands``, whatever the file says; a
    swapped href (B11 read as B12) or float reflectance under a uint16 scale and offset would silently give wrong
    reflectance. Only what both sides state is compared: a file without band descriptions passes.

    Raises:
        DataError: the file's band description names another band, or its data type is not the declared one.
    """
    declared = (asset.extra_fields.get("raster:bands") or [{}])[0].get("data_type")
    if declared and ds.count == 1 and ds.dtypes[0] != declared:
        raise DataError(
            f"{label} holds {ds.dtypes[0]} pixels but the item's raster:bands say {declared}, so its scale and offset "
            f"(meant for {declared} digital numbers) do not apply; write the file as {declared} or fix the item"
        )
    described = band_of_description(ds.descriptions[0]) if ds.count == 1 else None
    wanted = band_of_description(band) or band
    if described is not None and described != wanted:
        raise DataError(
            f"{label} holds a band described as {ds.descriptions[0]!r} ({described}), not {wanted}: the item's asset "
            "hrefs are swapped or wrong; make each asset point at its own band's file"
        )
