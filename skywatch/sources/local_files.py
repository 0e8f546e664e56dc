"""The ``local`` source for a plain folder of GeoTIFF/COG files (no STAC catalog).

Each file is one acquisition; its date comes from a ``YYYYMMDD`` (or ``YYYY-MM-DD``) in the file name. Bands are
named by the files' band descriptions (``B1``/``B01`` ... ``B12``, ``B8A``, ``SCL``, ``VV``, ``VH``), mapped to
skywatch's canonical names, so a 13-band Sentinel-2 stack and a VV/VH Sentinel-1 stack both load by name.
Integer reflectance bands are taken as reflectance x 10000 (Sentinel-2 L1C/L2A convention, no offset); float
bands (e.g. Sentinel-1 backscatter in dB) are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from skywatch.errors import DataError, SourceError
from skywatch.types import BBox

__all__ = ["DESCRIPTION_TO_BAND", "LocalFile", "load_files", "scan_folder"]

DESCRIPTION_TO_BAND = {
    "B1": "coastal",
    "B01": "coastal",
    "B2": "blue",
    "B02": "blue",
    "B3": "green",
    "B03": "green",
    "B4": "red",
    "B04": "red",
    "B5": "rededge1",
    "B05": "rededge1",
    "B6": "rededge2",
    "B06": "rededge2",
    "B7": "rededge3",
    "B07": "rededge3",
    "B8": "nir",
    "B08": "nir",
    "B8A": "nir08",
    "B9": "nir09",
    "B09": "nir09",
    "B10": "cirrus",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
    "VV": "vv",
    "VH": "vh",
}
_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


@dataclass(frozen=True, kw_only=True)
class LocalFile:
    """One GeoTIFF: its acquisition date and which band index holds which canonical band."""

    path: Path
    day: date
    bands: dict[str, int]


def _describe(path: Path) -> LocalFile:
    match = _DATE.search(path.stem)
    if match is None:
        raise DataError(f"cannot tell the date of {str(path)!r}: put YYYYMMDD or YYYY-MM-DD in its file name")
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise DataError(f"{str(path)!r}: {match[0]!r} is not a valid date ({exc})") from None
    try:
        with rasterio.open(path) as ds:
            descriptions = ds.descriptions
            if ds.crs is None:
                raise DataError(f"{str(path)!r} has no CRS; write it with one (gdal_edit.py -a_srs EPSG:...)")
    except rasterio.RasterioIOError as exc:
        raise SourceError(f"cannot read {str(path)!r}: {exc}") from None
    bands: dict[str, int] = {}
    for i, desc in enumerate(descriptions, start=1):
        key = DESCRIPTION_TO_BAND.get((desc or "").strip().upper().replace("BAND", "B"))
        if key:
            bands[key] = i
    if not bands:
        raise DataError(
            f"{str(path)!r}: no band is named (descriptions {list(descriptions)}); set band descriptions such as "
            "B02, B04, B8A, SCL or VV (gdal_edit.py or rasterio set_band_description)"
        )
    return LocalFile(path=path, day=day, bands=bands)


def scan_folder(folder: Path) -> list[LocalFile]:
    """All ``*.tif``/``*.tiff`` files of ``folder``, described, in date order.

    Raises:
        SourceError: no GeoTIFF in the folder.
        DataError: a file without a date in its name, a CRS, or named bands.
    """
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".tif", ".tiff"})
    if not files:
        raise SourceError(f"no GeoTIFF files in {str(folder)!r}")
    return sorted((_describe(p) for p in files), key=lambda f: (f.day, f.path.name))


def _read(path: Path, index: int, geobox: GeoBox, resampling: Resampling) -> np.ndarray:
    with (
        rasterio.open(path) as src,
        WarpedVRT(
            src,
            crs=str(geobox.crs),
            transform=geobox.affine,
            width=geobox.shape[1],
            height=geobox.shape[0],
            resampling=resampling,
            src_nodata=src.nodata,
            nodata=np.nan if src.dtypes[index - 1].startswith("float") else 0,
        ) as vrt,
    ):
        return vrt.read(index)


def load_files(
    files: Sequence[LocalFile], *, bands: Sequence[str], bounds: BBox, epsg: int, resolution: float = 10.0
) -> xr.Dataset:
    """Lazily warp ``bands`` of ``files`` onto the grid; one time step per file.

    Raises:
        SourceError: a file lacks one of ``bands``.
    """
    geobox = GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution)
    h, w = geobox.shape
    data: dict[str, xr.DataArray] = {}
    for band in bands:
        layers = []
        for f in files:
            if band not in f.bands:
                raise SourceError(f"{str(f.path)!r} has no band {band!r}; it has {sorted(f.bands)}")
            with rasterio.open(f.path) as ds:
                dtype = np.dtype(ds.dtypes[f.bands[band] - 1])
            nearest = band == "scl"
            resampling = Resampling.nearest if nearest else Resampling.bilinear
            out_dtype = np.uint8 if nearest else (dtype if dtype.kind == "f" else np.dtype(np.float32))
            if dtype.kind == "f" and not nearest:
                out_dtype = np.dtype(np.float32)
            lazy = dask.delayed(_read)(f.path, f.bands[band], geobox, resampling)
            arr = da.from_delayed(lazy, shape=(h, w), dtype=dtype)
            if nearest:
                arr = arr.astype(np.uint8)
            elif dtype.kind in "iu":
                arr = da.where(arr == 0, np.nan, arr.astype(np.float32) * np.float32(1e-4))
            else:
                arr = arr.astype(out_dtype)
            layers.append(arr)
        data[band] = xr.DataArray(
            da.stack(layers),
            dims=("time", "y", "x"),
            coords={
                "time": [np.datetime64(f.day, "ns") for f in files],
                **{k: v.values for k, v in geobox.coordinates.items()},
            },
        )
    ds = xr.Dataset(data, attrs={"epsg": epsg, "resolution": resolution, "scenes": [f.path.name for f in files]})
    return ds.odc.assign_crs(f"EPSG:{epsg}") if hasattr(ds, "odc") else ds
