"""Lazy Dask-backed cubes from STAC items with odc-stac, on the project grid, in surface reflectance.

Digital numbers become reflectance with each asset's ``raster:bands`` ``scale``/``offset`` (Earth Search
``sentinel-2-c1-l2a`` carries ``offset: -0.1`` for processing baseline >= 04.00, REFERENCE.md); nodata becomes
NaN. Class bands (SCL) stay integers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import odc.stac
import pystac
import xarray as xr
from odc.geo.geobox import GeoBox

from skywatch.errors import SourceError
from skywatch.types import BandName, BBox

__all__ = ["CLASS_BANDS", "load_cube"]

CLASS_BANDS = frozenset({"scl"})


def load_cube(
    items: Sequence[pystac.Item],
    *,
    bands: Sequence[BandName],
    bounds: BBox,
    epsg: int,
    resolution: float = 10.0,
    chunk_px: int = 512,
) -> xr.Dataset:
    """Load ``bands`` of ``items`` lazily onto the grid ``bounds`` (metres of ``epsg``) at ``resolution``.

    Scenes of one solar day are mosaicked. Reflectance bands are bilinearly resampled and returned as float32
    reflectance; class bands use nearest neighbour and keep their codes.

    Raises:
        SourceError: no items, or an item lacks one of ``bands``.
    """
    if not items:
        raise SourceError("no scenes to load: the search found nothing for this AOI and date range")
    for item in items:
        missing = [b for b in bands if b not in item.assets]
        if missing:
            raise SourceError(f"scene {item.id!r} has no asset(s) {missing}; it has {sorted(item.assets)}")
    geobox = GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution)
    resampling = {b: ("nearest" if b in CLASS_BANDS else "bilinear") for b in bands}
    try:
        raw = odc.stac.load(
            list(items),
            bands=list(bands),
            geobox=geobox,
            chunks={"x": chunk_px, "y": chunk_px},
            groupby="solar_day",
            resampling=resampling,
            fail_on_error=True,
        )
    except Exception as exc:  # odc-stac/rasterio raise many types; name the request
        raise SourceError(f"could not load bands {list(bands)} from {len(items)} scene(s): {exc}") from exc
    out = {}
    for band in bands:
        da = raw[band]
        if band in CLASS_BANDS:
            out[band] = da
            continue
        scale, offset, nodata = _raster_band(items[0], band)
        valid = da != nodata if nodata is not None else True
        out[band] = xr.where(valid, da.astype(np.float32) * np.float32(scale) + np.float32(offset), np.nan).astype(
            np.float32
        )
    return xr.Dataset(out, attrs={"epsg": epsg, "resolution": resolution})


def _raster_band(item: pystac.Item, band: str) -> tuple[float, float, float | None]:
    rb = (item.assets[band].extra_fields.get("raster:bands") or [{}])[0]
    return float(rb.get("scale", 1.0)), float(rb.get("offset", 0.0)), rb.get("nodata")
