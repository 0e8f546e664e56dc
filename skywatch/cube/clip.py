"""Clip a cube to an AOI polygon on its grid."""

from __future__ import annotations

import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio import features
from shapely.geometry.base import BaseGeometry

__all__ = ["aoi_mask", "clip_to"]


def aoi_mask(geometry: BaseGeometry, geobox: GeoBox) -> xr.DataArray:
    """True for pixels whose centre lies inside ``geometry`` (in the geobox's CRS)."""
    inside = features.geometry_mask([geometry], out_shape=geobox.shape, transform=geobox.affine, invert=True)
    y, x = geobox.coordinates["y"].values, geobox.coordinates["x"].values
    return xr.DataArray(inside, dims=("y", "x"), coords={"y": y, "x": x})


def clip_to(ds: xr.Dataset, geometry: BaseGeometry) -> xr.Dataset:
    """``ds`` with pixels outside ``geometry`` set to NaN (reflectance) or 0 (class bands)."""
    inside = aoi_mask(geometry, ds.odc.geobox)
    out = ds.copy()
    for name, da in ds.data_vars.items():
        out[name] = da.where(inside) if da.dtype.kind == "f" else da.where(inside, 0).astype(da.dtype)
    return out
