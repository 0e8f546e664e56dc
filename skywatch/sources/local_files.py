"""The ``local`` source for a plain folder of GeoTIFF/COG files (no STAC catalog).

Each file is one acquisition; its date comes from a ``YYYYMMDD`` (or ``YYYY-MM-DD``) in the file name. Bands are
named by the files' band descriptions (``B1``/``B01`` ... ``B12``, ``B8A``, ``SCL``, ``VV``, ``VH``), mapped to
skywatch's canonical names, so a 13-band Sentinel-2 stack and a VV/VH Sentinel-1 stack both load by name.
Integer reflectance bands are taken as reflectance x 10000 (Sentinel-2 L1C/L2A convention, no offset); float
bands (e.g. Sentinel-1 backscatter in dB) are kept as they are.

Before any pixel is read, :func:`check_decode_cost` compares what a file declares (its size and how it is cut into
blocks) with what the grid needs, so that a small file declaring a huge raster (a decompression bomb, or a whole
scene written as one compressed strip) is refused with a message instead of being inflated into memory.
"""

from __future__ import annotations

import math
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
from rasterio.io import DatasetReader
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from skywatch.errors import DataError, SourceError
from skywatch.types import BBox

__all__ = [
    "DESCRIPTION_TO_BAND",
    "MAX_DECODE_BYTES",
    "LocalFile",
    "band_of_description",
    "check_decode_cost",
    "load_files",
    "scan_folder",
]

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
_NOT_REFLECTANCE = frozenset({"scl", "vv", "vh"})
MAX_DECODE_BYTES = 512 * 2**20
"""The most bytes GDAL may decode from one band of one file for one load (a grid tile with its halo). A
Sentinel-2 COG block (1024 x 1024 uint16) is 2 MiB, a whole 10980 x 10980 uint16 band written as one compressed
strip 230 MiB (allowed); Dask runs one such read per core at once."""


@dataclass(frozen=True, kw_only=True)
class LocalFile:
    """One GeoTIFF: its acquisition date and which band index holds which canonical band."""

    path: Path
    day: date
    bands: dict[str, int]


def band_of_description(description: str | None) -> str | None:
    """The canonical band a GDAL band description names (``B12``, ``b8a``, ``Band 4``, ``SCL``), None if none."""
    return DESCRIPTION_TO_BAND.get((description or "").strip().upper().replace("BAND", "B").replace(" ", ""))


def _pixels_under(ds: DatasetReader, bounds: BBox, crs: str) -> tuple[int, int, int, int] | None:
    """Rows and columns (row0, row1, col0, col1) of ``ds`` under ``bounds`` (in ``crs``), clipped to the raster,
    with one pixel of margin for the resampling kernel; None where they do not meet."""
    left, bottom, right, top = transform_bounds(crs, ds.crs, *bounds, densify_pts=21)
    win = from_bounds(left, bottom, right, top, transform=ds.transform)
    row0, col0 = max(0, math.floor(win.row_off) - 1), max(0, math.floor(win.col_off) - 1)
    row1 = min(ds.height, math.ceil(win.row_off + win.height) + 1)
    col1 = min(ds.width, math.ceil(win.col_off + win.width) + 1)
    if row0 >= row1 or col0 >= col1:
        return None
    return row0, row1, col0, col1


def check_decode_cost(
    ds: DatasetReader,
    *,
    bounds: BBox,
    crs: str,
    resolution: float,
    label: str,
    indexes: Sequence[int] | None = None,
    limit: int = MAX_DECODE_BYTES,
) -> None:
    """Refuse ``ds`` when reading the part under ``bounds`` would make GDAL decode more of one band than ``limit``
    bytes, or four times what the grid itself holds if that is more (tiles of up to 8192 px). Only the header is
    read; nothing is allocated.

    GDAL reads a GeoTIFF block by block (tile or strip; ``ds.block_shapes``) and inflates every block a window
    touches, whole. Measured with GDAL 3.10.3 (rasterio 1.4.4): an uncompressed single-strip file is split into
    one block per line, and ``block_shapes`` says so ((1, width)), so it is not over-counted here; a deflate one is
    a single (height, width) block. A 4 MB file declaring 40,000 x 40,000 pixels per band in one deflate strip
    had GDAL allocate and inflate 3.2 GB per band: as the after scene of ``skywatch detect`` (8 bands) it took 84 s
    and 6.5 GB of memory before this check; at 1,000,000 x 1,000,000 (2 TB a band) GDAL's allocation fails at once
    ("Read failed"), which was reported as a truncated file.

    Args:
        ds: The open file.
        bounds: What the grid needs, in ``crs``.
        crs: CRS of ``bounds`` (e.g. ``EPSG:32652``, or ``EPSG:4326`` for an AOI's lon/lat box).
        resolution: Pixel size of the grid in units of ``crs``, to say how many pixels it needs.
        label: How the message names the file (its path, or a scene and band).
        indexes: Bands that will be read (1-based); all by default.
        limit: The most bytes of one band to decode, whatever the grid.

    Raises:
        DataError: the read would decode more than ``limit`` bytes.
    """
    if ds.crs is None:
        return
    under = _pixels_under(ds, bounds, crs)
    if under is None:
        return
    row0, row1, col0, col1 = under
    worst, block, itemsize = 0, (0, 0), 1
    for i in indexes or ds.indexes:
        bh, bw = ds.block_shapes[i - 1]
        rows = min(ds.height, math.ceil(row1 / bh) * bh) - (row0 // bh) * bh
        cols = min(ds.width, math.ceil(col1 / bw) * bw) - (col0 // bw) * bw
        size = np.dtype(ds.dtypes[i - 1]).itemsize
        if rows * cols * size > worst:
            worst, block, itemsize = rows * cols * size, (bw, bh), size
    need_w = round((bounds[2] - bounds[0]) / resolution)
    need_h = round((bounds[3] - bounds[1]) / resolution)
    allowed = max(limit, 4 * need_w * need_h * itemsize)
    if worst <= allowed:
        return
    if (row1 - row0) * (col1 - col0) * itemsize > allowed:  # the pixels themselves are too many, not the blocks
        fix = f"resample it to the grid's resolution first (gdalwarp -tr {resolution:g} {resolution:g} IN OUT)"
    else:
        fix = "rewrite it tiled (gdal_translate -co TILED=YES -co COMPRESS=DEFLATE IN OUT) or clip it to the AOI"
    raise DataError(
        f"{label} declares {ds.width} x {ds.height} pixels in blocks of {block[0]} x {block[1]}; this AOI's grid "
        f"needs {need_w} x {need_h} pixels, but GDAL decodes whole blocks, so reading them would inflate "
        f"{worst / 2**30:,.1f} GiB per band, more than the {allowed // 2**20} MiB skywatch allows (a decompression "
        f"bomb, or a scene written as one huge strip): {fix}"
    )


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
        key = band_of_description(desc)
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


def _check_float_scale(values: np.ndarray, path: Path, band: str) -> None:
    """Refuse float reflectance that is not on the 0-1 scale (digital numbers or percent stored as float).

    Bright cloud and fresh snow reach ~1-1.5 in a few pixels, so a band whose median is above 2 cannot be 0-1
    reflectance; left alone it would pass every threshold check wrongly and quietly detect nothing (or anything).

    Raises:
        DataError: the median of the finite pixels exceeds 2.
    """
    finite = values[np.isfinite(values)]
    median = float(np.median(finite)) if finite.size else 0.0
    if median > 2.0:
        raise DataError(
            f"{str(path)!r}: band {band!r} is float with a median of {median:g}, so it holds digital numbers or "
            "percent, not reflectance 0-1 (how skywatch reads float bands); write it as uint16 digital numbers "
            "(reflectance x 10000) or divide it to 0-1 (gdal_calc.py or rasterio)"
        )


def _read(path: Path, index: int, geobox: GeoBox, resampling: Resampling, band: str) -> np.ndarray:
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
        values = vrt.read(index)
    if values.dtype.kind == "f" and band not in _NOT_REFLECTANCE:
        _check_float_scale(values, path, band)
    return values


def load_files(
    files: Sequence[LocalFile], *, bands: Sequence[str], bounds: BBox, epsg: int, resolution: float = 10.0
) -> xr.Dataset:
    """Lazily warp ``bands`` of ``files`` onto the grid; one time step per file.

    Raises:
        SourceError: a file lacks one of ``bands``.
        DataError: reading a file's part under the grid would decode too much (:func:`check_decode_cost`), or a
            reflectance band is 8-bit; when computed, float reflectance that is not on the 0-1 scale.
    """
    geobox = GeoBox.from_bbox(bounds, crs=f"EPSG:{epsg}", resolution=resolution)
    h, w = geobox.shape
    dtypes: dict[tuple[Path, str], np.dtype] = {}
    for f in files:
        missing = [b for b in bands if b not in f.bands]
        if missing:
            raise SourceError(f"{str(f.path)!r} has no band {missing[0]!r}; it has {sorted(f.bands)}")
        with rasterio.open(f.path) as ds:
            check_decode_cost(ds, bounds=bounds, crs=f"EPSG:{epsg}", resolution=resolution, label=repr(str(f.path)),
                              indexes=[f.bands[b] for b in bands])  # fmt: skip
            dtypes.update({(f.path, b): np.dtype(ds.dtypes[f.bands[b] - 1]) for b in bands})
        eight_bit = [b for b in bands if b not in _NOT_REFLECTANCE and dtypes[f.path, b].itemsize == 1]
        if eight_bit:
            raise DataError(
                f"{str(f.path)!r}: band {eight_bit[0]!r} is 8-bit ({dtypes[f.path, eight_bit[0]]}), a rendered "
                "picture (such as a true-colour TCI) and not reflectance; use the 16-bit digital numbers (reflectance"
                " x 10000) or float reflectance 0-1"
            )
    data: dict[str, xr.DataArray] = {}
    for band in bands:
        layers = []
        for f in files:
            dtype = dtypes[f.path, band]
            nearest = band == "scl"
            resampling = Resampling.nearest if nearest else Resampling.bilinear
            out_dtype = np.uint8 if nearest else (dtype if dtype.kind == "f" else np.dtype(np.float32))
            if dtype.kind == "f" and not nearest:
                out_dtype = np.dtype(np.float32)
            lazy = dask.delayed(_read)(f.path, f.bands[band], geobox, resampling, band)
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
