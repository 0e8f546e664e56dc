"""Cloud, shadow, cirrus, snow and nodata masking from the Sentinel-2 Scene Classification Layer (SCL).

SCL codes (Sen2Cor; REFERENCE.md): 0 nodata, 1 saturated/defective, 2 dark area, 3 cloud shadow, 4 vegetation,
5 bare soil, 6 water, 7 unclassified, 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus,
11 snow/ice. Class 2 ("dark area") is kept by default: Sen2Cor gives it to fresh burn scars, and masking it
would hide exactly the fires skywatch looks for.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xarray as xr
from scipy import ndimage

__all__ = ["DEFAULT_INVALID_SCL", "apply_mask", "buffer_invalid", "valid_mask"]

DEFAULT_INVALID_SCL: frozenset[int] = frozenset({0, 1, 3, 8, 9, 10, 11})


def valid_mask(scl: xr.DataArray, invalid: Iterable[int] = DEFAULT_INVALID_SCL) -> xr.DataArray:
    """True where the SCL class is not in ``invalid``."""
    return ~scl.isin(sorted(set(invalid)))


def apply_mask(cube: xr.Dataset, *, scl_band: str = "scl", invalid: Iterable[int] = DEFAULT_INVALID_SCL) -> xr.Dataset:
    """``cube`` with reflectance set to NaN where SCL is invalid; adds a boolean ``valid`` variable."""
    valid = valid_mask(cube[scl_band], invalid)
    out = cube.drop_vars(scl_band).where(valid)
    out["valid"] = valid & out.to_array().notnull().all("variable")
    out[scl_band] = cube[scl_band]
    return out


def buffer_invalid(valid: np.ndarray, pixels: int) -> np.ndarray:
    """Shrink the valid area by ``pixels`` around every invalid pixel.

    Cloud edges are thin and bright beyond where SCL flags them; a buffer keeps their haze from looking like
    change (cloud masks are commonly dilated by a few pixels for this reason).
    """
    if pixels <= 0:
        return valid
    return ~ndimage.binary_dilation(~valid, structure=np.ones((3, 3), dtype=bool), iterations=pixels)
