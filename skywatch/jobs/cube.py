"""Search and cube jobs: scenes over an AOI, and the masked cube on the project grid written to Zarr or COGs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import xarray as xr
from shapely.geometry import shape

from skywatch.aoi import AOI
from skywatch.cube.clip import clip_to
from skywatch.cube.cloudless import S2CLOUDLESS_BANDS, cloud_probability, cloudless_mask
from skywatch.cube.composite import best_pixel_composite, median_composite, valid_count
from skywatch.cube.mask import DEFAULT_INVALID_SCL, apply_mask
from skywatch.errors import DataError, SourceError
from skywatch.grid import TileGrid
from skywatch.outputs.atomic import atomic_dir
from skywatch.outputs.cog import write_cog
from skywatch.sources.base import Source
from skywatch.sources.odc_load import read_errors
from skywatch.sources.providers import S2_BANDS
from skywatch.sources.stac_meta import cloud_cover, mgrs_tile

__all__ = ["BAND_RESOLUTION", "SceneRow", "build_cube", "scene_rows", "write_cube"]

BAND_RESOLUTION = {
    "coastal": 60,
    "nir09": 60,
    "blue": 10,
    "green": 10,
    "red": 10,
    "nir": 10,
    "rededge1": 20,
    "rededge2": 20,
    "rededge3": 20,
    "nir08": 20,
    "swir16": 20,
    "swir22": 20,
    "scl": 20,
    "vv": 10,
    "vh": 10,
}
DEFAULT_S2_BANDS = tuple(b for b in S2_BANDS if b not in {"coastal", "nir09"})  # the 10 m and 20 m bands + scl
DEFAULT_S1_BANDS = ("vv", "vh")


@dataclass(frozen=True, kw_only=True)
class SceneRow:
    """One line of ``skywatch search``."""

    id: str
    datetime: str
    cloud_cover: float | None
    mgrs_tile: str
    est_bytes: int


def default_bands(collection: str) -> tuple[str, ...]:
    """The bands a cube of ``collection`` gets when none are named."""
    return DEFAULT_S1_BANDS if collection == "sentinel-1-grd" else DEFAULT_S2_BANDS


def scene_rows(items: Sequence[pystac.Item], aoi: AOI, bands: Sequence[str]) -> list[SceneRow]:
    """Rows for ``items``; ``est_bytes`` is the uncompressed 16-bit pixels of ``bands`` inside the AOI."""
    rows = []
    utm = 6933  # an equal-area CRS for the estimate: any AOI, even one wider than a UTM zone, has an area here
    aoi_area = aoi.to_crs(utm)
    for it in items:
        if it.geometry is not None:
            from skywatch.geometry import reproject

            area = reproject(shape(it.geometry), 4326, utm).intersection(aoi_area).area
        else:
            area = aoi_area.area
        est = sum(area / BAND_RESOLUTION.get(b, 10) ** 2 * 2 for b in bands)
        rows.append(
            SceneRow(
                id=it.id,
                datetime=it.datetime.isoformat() if it.datetime else "",
                cloud_cover=cloud_cover(it.properties),
                mgrs_tile=mgrs_tile(it.properties, it.id),
                est_bytes=int(est),
            )
        )
    return rows


def build_cube(
    source: Source,
    *,
    aoi: AOI,
    start: date,
    end: date,
    collection: str = "sentinel-2-l2a",
    bands: Sequence[str] | None = None,
    resolution: float = 10.0,
    max_cloud: float | None = None,
    invalid_scl: Iterable[int] = DEFAULT_INVALID_SCL,
    composite: str = "none",
    cloud_mask: str = "scl",
) -> tuple[xr.Dataset, list[pystac.Item]]:
    """The lazy, masked, AOI-clipped cube (or its composite) on the AOI's grid, and the scenes it uses.

    Raises:
        SourceError: nothing found; DataError: unknown composite.
    """
    if composite not in {"none", "median", "best"}:
        raise DataError(f"composite must be none, median or best, got {composite!r}")
    if cloud_mask not in {"scl", "s2cloudless"}:
        raise DataError(f"cloud mask must be scl or s2cloudless, got {cloud_mask!r}")
    bands = tuple(bands or default_bands(collection))
    wanted = bands
    if cloud_mask == "s2cloudless":
        bands = tuple(dict.fromkeys([*bands, *S2CLOUDLESS_BANDS]).keys() - {"scl"})
    items = source.search(bbox=aoi.bbox, start=start, end=end, collection=collection, max_cloud=max_cloud)
    if not items:
        raise SourceError(
            f"no {collection} scenes over {aoi.name!r} between {start} and {end}"
            + (f" with cloud cover <= {max_cloud} %" if max_cloud is not None else "")
        )
    if cloud_mask == "s2cloudless":
        lacking = sorted({b for it in items for b in S2CLOUDLESS_BANDS if b not in it.assets})
        if lacking:
            raise DataError(
                f"s2cloudless needs the L1C bands {list(S2CLOUDLESS_BANDS)}; these scenes lack {lacking}. L2A "
                "products carry no B10 (cirrus): use --cloud-mask scl for L2A, or a local L1C stack"
            )
    grid = TileGrid.for_aoi(aoi, resolution=resolution)
    cube = source.load(items, bands=bands, bounds=grid.bounds_for(aoi), epsg=grid.epsg, resolution=resolution)
    if cloud_mask == "s2cloudless":
        cube = _mask_s2cloudless(cube)[[*[b for b in wanted if b != "scl"], "cloud_probability"]]
    elif "scl" in cube:
        cube = apply_mask(cube, invalid=invalid_scl)
    cube = clip_to(cube, aoi.to_crs(grid.epsg))
    if composite == "none":
        return cube, items
    counts = valid_count(cube)
    if composite == "median":
        out = median_composite(cube)
    else:
        cover = [_cover_of_day(items, t) for t in cube.time.values]
        out = best_pixel_composite(cube, cover)
    out["valid_count"] = counts
    out.attrs.update(cube.attrs)
    return out, items


def _mask_s2cloudless(cube: xr.Dataset, dilation_px: int = 2) -> xr.Dataset:
    prob = cloud_probability(cube)

    def cloudy(block: np.ndarray) -> np.ndarray:
        return np.stack([cloudless_mask(b, dilation_px=dilation_px) for b in block])

    data = prob.data
    if hasattr(data, "map_overlap"):
        mask = data.map_overlap(cloudy, depth={0: 0, 1: dilation_px, 2: dilation_px}, boundary="none", dtype=bool)
    else:
        mask = cloudy(np.asarray(data))
    clear = xr.DataArray(~mask, dims=prob.dims, coords=prob.coords)
    out = cube.where(clear)
    out["cloud_probability"] = prob
    return out


def _cover_of_day(items: Sequence[pystac.Item], t: Any) -> float:
    day = np.datetime64(t, "D")
    covers = [
        cloud_cover(it.properties) for it in items if it.datetime and np.datetime64(it.datetime.date(), "D") == day
    ]
    known = [c for c in covers if c is not None]
    return min(known) if known else math.inf


def write_cube(cube: xr.Dataset, out: Path, *, overwrite: bool = False) -> list[Path]:
    """Compute and write ``cube``: a Zarr store when ``out`` ends in ``.zarr``, else one COG per band (and date).

    Written atomically: an interrupted write leaves no store or folder that looks complete.

    Raises:
        OutputError: ``out`` exists without ``overwrite``; SourceError: an asset could not be read.
    """
    epsg = int(cube.attrs.get("epsg") or cube.odc.geobox.crs.epsg)
    with atomic_dir(out, overwrite=overwrite) as tmp, read_errors():
        if out.suffix == ".zarr":
            clean = cube.copy()
            clean.attrs = {k: v for k, v in cube.attrs.items() if isinstance(v, str | int | float | list)}
            for var in clean.data_vars:
                clean[var].attrs = {}
            clean.drop_vars([c for c in ("spatial_ref",) if c in clean.coords]).to_zarr(
                tmp, mode="w", zarr_format=2, consolidated=True
            )
            return [out]
        written = []
        geobox = cube.odc.geobox
        for name, da in cube.data_vars.items():
            values = da.compute()
            if "time" in values.dims:
                for t in values.time.values:
                    day = str(np.datetime64(t, "D"))
                    arr = values.sel(time=t).values
                    written.append(_cog(tmp / f"{name}_{day}.tif", arr, geobox, epsg))
            else:
                written.append(_cog(tmp / f"{name}.tif", values.values, geobox, epsg))
    return [out / p.name for p in written]


def _cog(path: Path, arr: np.ndarray, geobox: Any, epsg: int) -> Path:
    nodata = float("nan") if arr.dtype.kind == "f" else 0
    return write_cog(path, arr, transform=geobox.affine, epsg=epsg, nodata=nodata, categorical=arr.dtype.kind != "f")
