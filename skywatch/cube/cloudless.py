"""Optional s2cloudless cloud probabilities (Sentinel Hub's LightGBM detector, ``skywatch[s2cloudless]``).

s2cloudless was trained on Sentinel-2 **L1C top-of-atmosphere** reflectance and needs ten bands: B01, B02, B04,
B05, B08, B8A, B09, B10, B11, B12. L2A products do not carry B10 (cirrus), so this mask is for L1C stacks
(e.g. a local folder of L1C GeoTIFFs); L2A cubes use the SCL mask. The model file ships inside the package.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from skywatch.errors import DataError, DependencyError

__all__ = ["S2CLOUDLESS_BANDS", "cloud_probability", "cloudless_mask"]

S2CLOUDLESS_BANDS = ("coastal", "blue", "red", "rededge1", "nir", "nir08", "nir09", "cirrus", "swir16", "swir22")


def _detector() -> object:
    try:
        from s2cloudless import S2PixelCloudDetector
    except ImportError:
        raise DependencyError("the s2cloudless mask needs: pip install 'skywatch[s2cloudless]'") from None
    return S2PixelCloudDetector(all_bands=False)


def cloud_probability(ds: xr.Dataset) -> xr.DataArray:
    """Per-pixel cloud probability (0-1) from the ten L1C bands of ``ds`` (time, y, x), lazily per chunk.

    Raises:
        DataError: a required band is missing (L2A has no B10/cirrus).
        DependencyError: s2cloudless is not installed.
    """
    missing = [b for b in S2CLOUDLESS_BANDS if b not in ds]
    if missing:
        raise DataError(
            f"s2cloudless needs the L1C bands {list(S2CLOUDLESS_BANDS)}; missing {missing}. L2A products carry no "
            "B10 (cirrus): use the SCL mask for L2A, or a local L1C stack for s2cloudless"
        )
    detector = _detector()
    stack = xr.concat([ds[b] for b in S2CLOUDLESS_BANDS], dim="band").transpose("time", "y", "x", "band")
    if stack.chunks:
        stack = stack.chunk({"band": -1, "time": 1})

    def run(block: np.ndarray) -> np.ndarray:
        filled = np.nan_to_num(block.astype(np.float32), nan=0.0)
        return np.asarray(detector.get_cloud_probability_maps(filled), dtype=np.float32)  # type: ignore[attr-defined]

    prob = xr.apply_ufunc(
        run,
        stack,
        input_core_dims=[["band"]],
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    return prob.rename("cloud_probability")


def cloudless_mask(probability: np.ndarray, *, threshold: float = 0.4, dilation_px: int = 2) -> np.ndarray:
    """Cloud mask: probability above ``threshold`` (s2cloudless' default 0.4), dilated by ``dilation_px``."""
    cloudy = probability > threshold
    if dilation_px > 0:
        cloudy = ndimage.binary_dilation(cloudy, iterations=dilation_px)
    return cloudy
