"""GeoPackage layers for planners, written atomically (GeoPackage VERSION=1.2 so Debian's GDAL 3.6 / QGIS 3.22
read it cleanly; REFERENCE.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd

from skywatch.outputs.atomic import atomic_path

__all__ = ["write_geopackage"]


def write_geopackage(
    path: Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    overwrite: bool = True,
    styles: Mapping[str, tuple[str, str]] | None = None,
) -> Path:
    """Write each frame as a layer of one GeoPackage; ``styles`` (layer -> (QML, SLD)) become the layers' default
    styles in its ``layer_styles`` table, written before the file is renamed into place.

    Raises:
        OutputError: exists without ``overwrite`` or not writable.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        for name, frame in layers.items():
            frame.to_file(
                tmp,
                layer=name,
                driver="GPKG",
                engine="pyogrio",
                dataset_options={"VERSION": "1.2"},
                append=tmp.exists(),
            )
        if styles:
            from skywatch.outputs.layer_styles import write_layer_styles

            write_layer_styles(tmp, styles)
    return path
