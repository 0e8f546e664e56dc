"""New roads and tracks: the thin, long part of the bright change through vegetation.

A simple linear-feature detector: bright change (see :mod:`skywatch.detect.clearcut`) minus its compact part
(a 5 x 5 opening, dilated by 2 px), kept where a connected piece's skeleton is at least ``min_length_m`` long
and the piece is elongated (skeleton length / width >= 10).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from skywatch.detect.clearcut import DISK5

__all__ = ["road_baseline", "skeletonize_mask"]


def road_baseline(
    change: np.ndarray, vegetated_pre: np.ndarray, *, resolution: float = 10.0, min_length_m: float = 300.0
) -> tuple[np.ndarray, np.ndarray]:
    """Road mask and its one-pixel skeleton.

    Args:
        change: Bright change (vegetation to bare ground).
        vegetated_pre: Pixels vegetated before (NDVI >= 0.6).
        resolution: Pixel size in metres.
        min_length_m: Shortest road kept.
    """
    from skimage.morphology import skeletonize  # here: a model run's tile workers never load skimage (15 MiB)

    candidate = change & vegetated_pre
    compact = ndimage.binary_dilation(ndimage.binary_opening(candidate, structure=DISK5), iterations=2)
    thin = candidate & ~compact
    labels, n = ndimage.label(thin, structure=np.ones((3, 3)))
    skel = skeletonize(thin)
    keep = np.zeros(n + 1, dtype=bool)
    if n:
        length_px = ndimage.sum_labels(skel, labels, index=np.arange(1, n + 1))
        area_px = ndimage.sum_labels(thin, labels, index=np.arange(1, n + 1))
        width_px = area_px / np.maximum(length_px, 1)
        keep[1:] = (length_px * resolution >= min_length_m) & (length_px / np.maximum(width_px, 1) >= 10)
    mask = keep[labels]
    return mask, skel & mask


def skeletonize_mask(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide centre-lines of a road mask."""
    from skimage.morphology import skeletonize

    return np.asarray(skeletonize(mask), dtype=bool)
