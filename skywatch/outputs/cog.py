"""Cloud-optimised GeoTIFFs: tiled, compressed, with internal overviews (GDAL's COG driver), written atomically.

Validated in the tests with ``rio_cogeo.cogeo.cog_validate(strict=True)`` (REFERENCE.md, "QGIS and COG").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.io import DatasetReader, DatasetWriter, MemoryFile

from skywatch.outputs.atomic import atomic_path

__all__ = ["copy_to_cog", "write_cog"]


def write_cog(
    path: Path,
    data: np.ndarray,
    *,
    transform: Affine,
    epsg: int,
    nodata: float | None = None,
    tags: Mapping[str, str] | None = None,
    band_names: Sequence[str] | None = None,
    categorical: bool = False,
    blocksize: int = 512,
    overwrite: bool = True,
) -> Path:
    """Write ``data`` (rows, cols) or (bands, rows, cols) as a COG at ``path``.

    Args:
        path: Target file.
        data: Pixel values; the dtype is kept.
        transform: Affine transform of the pixel grid.
        epsg: EPSG code of the CRS.
        nodata: Nodata value, if any.
        tags: Dataset-level GeoTIFF metadata tags (e.g. ``{"SKYWATCH_SYNTHETIC": "true"}``).
        band_names: Band descriptions.
        categorical: Class rasters get nearest-neighbour overviews, others averages.
        blocksize: Internal tile size in pixels.
        overwrite: Replace an existing file.

    Raises:
        OutputError: the file exists without ``overwrite`` or cannot be written.
    """
    arr = data[None] if data.ndim == 2 else data
    count, height, width = arr.shape
    while blocksize >= max(height, width) and blocksize > 128:  # small rasters: smaller tiles (GDAL: >= 128)
        blocksize //= 2
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": count,
        "dtype": arr.dtype.name,
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": nodata,
    }
    with atomic_path(path, overwrite=overwrite) as tmp, MemoryFile() as mem, mem.open(**profile) as src:
        src.write(arr)
        if tags:
            src.update_tags(**tags)
        for i, name in enumerate(band_names or [], start=1):
            src.set_band_description(i, name)
        copy_to_cog(src, tmp, categorical=categorical, blocksize=blocksize)
    return path


def copy_to_cog(
    src: DatasetReader | DatasetWriter, dest: Path, *, categorical: bool = False, blocksize: int = 512
) -> None:
    """Copy an open or on-disk raster to ``dest`` as a COG (DEFLATE, internal overviews).

    GDAL's COG driver reads the source block by block, so a tiled on-disk source of any size is copied with
    bounded memory. ``dest`` is written in place: callers write into a temporary path and rename.
    """
    predictor = "3" if np.issubdtype(np.dtype(src.dtypes[0]), np.floating) else "2"
    rasterio.shutil.copy(
        src,
        dest,
        driver="COG",
        COMPRESS="DEFLATE",
        PREDICTOR=predictor,
        BLOCKSIZE=str(blocksize),
        OVERVIEWS="AUTO",
        OVERVIEW_RESAMPLING="NEAREST" if categorical else "AVERAGE",
        RESAMPLING="NEAREST",
        # the COG driver compresses blocks on this many threads (GDAL COG driver docs: NUM_THREADS); the bytes
        # written are the same as on one thread
        NUM_THREADS="ALL_CPUS",
    )
