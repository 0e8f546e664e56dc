"""Fire: burn scars from dNBR with Key & Benson severity classes, and active fire from SWIR rules.

dNBR = NBR_pre - NBR_post with NBR from B8A and B12 (REFERENCE.md). Severity classes after Key & Benson (2006,
USGS FIREMON), lower bound inclusive: < -0.25 enhanced regrowth (high), [-0.25, -0.10) enhanced regrowth (low),
[-0.10, 0.10) unburned, [0.10, 0.27) low, [0.27, 0.44) moderate-low, [0.44, 0.66) moderate-high, >= 0.66 high.

Fresh burn scars are dark in the visible (char), clear-cuts and new roads are bright: a post-fire red
reflectance ceiling (``max_post_red``, 0.07) keeps logging out of the burn mask.

Active fire adapts the Landsat-8 rules of Schroeder et al. (2016) to Sentinel-2 (r5 -> B8A, r6 -> B11,
r7 -> B12; r1 -> B02 because B01 is not loaded): unambiguous pixels, then candidates confirmed by a 61 x 61
contextual test against the background's mean + 3 standard deviations.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "RDNBR_BURNED",
    "SEVERITY_NAMES",
    "active_fire",
    "burn_scar_baseline",
    "dnbr_severity",
    "rdnbr",
]

# Miller & Thode (2007): RdNBR x 1000 below 69 is "unchanged"; burned from there on.
RDNBR_BURNED = 0.069

# (lower bound, name); class code = index + 1 (0 = nodata)
_BOUNDS = (-0.25, -0.10, 0.10, 0.27, 0.44, 0.66)
SEVERITY_NAMES: tuple[str, ...] = (
    "enhanced regrowth (high)",
    "enhanced regrowth (low)",
    "unburned",
    "low",
    "moderate-low",
    "moderate-high",
    "high",
)


def dnbr_severity(dnbr: np.ndarray) -> np.ndarray:
    """Key & Benson class codes 1-7 (see :data:`SEVERITY_NAMES`), 0 where dNBR is NaN."""
    codes = np.digitize(dnbr, _BOUNDS, right=False).astype(np.uint8) + 1
    codes[~np.isfinite(dnbr)] = 0
    return codes


def rdnbr(nbr_pre: np.ndarray, nbr_post: np.ndarray) -> np.ndarray:
    """Relative dNBR (Miller & Thode 2007): dNBR / sqrt(|NBR_pre|), with |NBR_pre| floored at 0.001."""
    with np.errstate(invalid="ignore"):
        return (nbr_pre - nbr_post) / np.sqrt(np.maximum(np.abs(nbr_pre), 0.001))


def burn_scar_baseline(
    nbr_pre: np.ndarray,
    nbr_post: np.ndarray,
    red_post: np.ndarray,
    valid: np.ndarray,
    *,
    dnbr_min: float = 0.10,
    max_post_red: float = 0.07,
    min_area_px: int = 50,
    relative: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Burn-scar mask and dNBR.

    Args:
        nbr_pre, nbr_post: NBR before and after.
        red_post: B04 reflectance after.
        valid: Pixels clear on both dates.
        dnbr_min: Lowest burned dNBR (Key & Benson "low" severity); with ``relative`` the lowest burned
            RdNBR (:data:`RDNBR_BURNED` is Miller & Thode's).
        relative: Threshold RdNBR instead of dNBR (less biased towards sparse pre-fire vegetation).
        max_post_red: Post-fire red ceiling separating dark char from bright soil.
        min_area_px: Smallest scar kept, in pixels (50 = 0.5 ha at 10 m).

    Returns:
        (mask, dnbr); dnbr is NaN where not valid.
    """
    dnbr = np.where(valid, nbr_pre - nbr_post, np.nan)
    index = np.where(valid, rdnbr(nbr_pre, nbr_post), np.nan) if relative else dnbr
    with np.errstate(invalid="ignore"):
        burned = valid & (index >= dnbr_min) & (red_post < max_post_red)
    burned = ndimage.binary_opening(burned, structure=np.ones((3, 3)))
    burned = ndimage.binary_closing(burned, structure=np.ones((3, 3))) & valid
    return _drop_small(burned, min_area_px), dnbr


def active_fire(
    blue: np.ndarray,
    nir08: np.ndarray,
    swir16: np.ndarray,
    swir22: np.ndarray,
    valid: np.ndarray,
    *,
    window: int = 61,
) -> tuple[np.ndarray, np.ndarray]:
    """Active-fire mask and an "unambiguous" flag (Schroeder et al. 2016, adapted to Sentinel-2).

    Returns:
        (fire, unambiguous): boolean arrays.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        r75 = swir22 / nir08
        r76 = swir22 / swir16
        unamb = (r75 > 2.5) & (swir22 - nir08 > 0.3) & (swir22 > 0.5)
        unamb |= (swir16 > 0.8) & (blue < 0.2) & ((nir08 > 0.4) | (swir22 < 0.1))
        cand = (r75 > 1.8) & (swir22 - nir08 > 0.17) & (r76 > 1.6)
    unamb &= valid
    cand &= valid & ~unamb
    background = valid & ~cand & ~unamb
    r75 = np.nan_to_num(r75)
    w = background.astype(np.float64)
    n = ndimage.uniform_filter(w, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = ndimage.uniform_filter(r75 * w, window) / n
        sq = ndimage.uniform_filter(r75**2 * w, window) / n
        sd = np.sqrt(np.maximum(sq - mean**2, 0.0))
        confirmed = cand & (n > 0) & (r75 > mean + np.maximum(3 * sd, 0.8))
    return unamb | confirmed, unamb


def _drop_small(mask: np.ndarray, min_px: int) -> np.ndarray:
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_px
    keep[0] = False
    return keep[labels]
