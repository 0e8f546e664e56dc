"""Spectral indices, in one place. Inputs are reflectance (0-1) arrays; names are Earth Search asset keys.

- NDVI = (nir - red) / (nir + red)
- NBR  = (nir08 - swir22) / (nir08 + swir22)   (B8A and B12; REFERENCE.md)
- NDMI = (nir08 - swir16) / (nir08 + swir16)
- NDSI = (green - swir16) / (green + swir16)
- BAIS2 (Filipponi 2018) = (1 - sqrt(B06 * B07 * B8A / B04)) * ((B12 - B8A) / sqrt(B12 + B8A) + 1)
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["bais2", "nbr", "ndmi", "ndsi", "ndvi", "normalized_difference", "normalized_difference_array"]


def normalized_difference(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
    """(a - b) / (a + b), NaN where the sum is 0."""
    total = a + b
    return ((a - b) / total).where(total != 0)


def normalized_difference_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b) on numpy arrays with one temporary (a tile's worth of memory fewer than the expression),
    the division left as it is: NaN where either is NaN or both are 0, +-inf where only the sum is 0 (the per-tile
    detectors' thresholds were set on that form)."""
    out = np.subtract(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(out, np.add(a, b), out=out)
    return out


def ndvi(ds: xr.Dataset) -> xr.DataArray:
    """Normalised difference vegetation index (B08, B04)."""
    return normalized_difference(ds["nir"], ds["red"])


def nbr(ds: xr.Dataset) -> xr.DataArray:
    """Normalised burn ratio (B8A, B12)."""
    return normalized_difference(ds["nir08"], ds["swir22"])


def ndmi(ds: xr.Dataset) -> xr.DataArray:
    """Normalised difference moisture index (B8A, B11)."""
    return normalized_difference(ds["nir08"], ds["swir16"])


def ndsi(ds: xr.Dataset) -> xr.DataArray:
    """Normalised difference snow index (B03, B11)."""
    return normalized_difference(ds["green"], ds["swir16"])


def bais2(ds: xr.Dataset) -> xr.DataArray:
    """Burned Area Index for Sentinel-2 (Filipponi 2018)."""
    b4, b6, b7, b8a, b12 = (ds[k] for k in ("red", "rededge2", "rededge3", "nir08", "swir22"))
    veg = 1 - (b6 * b7 * b8a / b4) ** 0.5
    return veg * ((b12 - b8a) / (b12 + b8a) ** 0.5 + 1)
