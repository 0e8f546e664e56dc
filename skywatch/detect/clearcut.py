"""Clear-cut logging: forest that turned bright and bare between the dates (NDVI drop), as blocks.

A pixel is forest before the change when NDVI >= 0.7 and B11 < 0.15 (closed canopies are dark in SWIR-1;
meadows and crops are not), so fields and water never alert. Change: NDVI drop >= 0.3 with post-date red
>= 0.07 (bare soil and slash, not char). A 5 x 5 opening keeps blocks and leaves thin roads to the road
detector; blocks under the minimum mapping unit (0.2 ha, as RADD; REFERENCE.md) are dropped.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from skywatch.detect.fire import _drop_small

__all__ = ["DISK5", "bright_change", "clearcut_baseline", "forest_mask"]

DISK5 = np.array([[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0]], dtype=bool)


def forest_mask(ndvi_pre: np.ndarray, swir16_pre: np.ndarray) -> np.ndarray:
    """Closed forest before the change."""
    with np.errstate(invalid="ignore"):
        return (ndvi_pre >= 0.7) & (swir16_pre < 0.15)


def bright_change(
    ndvi_pre: np.ndarray,
    ndvi_post: np.ndarray,
    red_post: np.ndarray,
    valid: np.ndarray,
    *,
    ndvi_drop: float = 0.3,
    min_post_red: float = 0.07,
) -> np.ndarray:
    """Vegetation that became bright bare ground."""
    with np.errstate(invalid="ignore"):
        return valid & (ndvi_pre - ndvi_post >= ndvi_drop) & (red_post >= min_post_red)


def clearcut_baseline(
    change: np.ndarray, forest: np.ndarray, *, resolution: float = 10.0, min_area_ha: float = 0.2
) -> np.ndarray:
    """Clear-cut blocks: the compact part of ``change`` inside ``forest``."""
    blocks = ndimage.binary_opening(change & forest, structure=DISK5)
    min_px = max(1, round(min_area_ha * 10_000 / resolution**2))
    return _drop_small(blocks, min_px)
