"""Simulate SECR data with known truth: activity centres as a Poisson process over the mask, detections from
the same detection model the likelihood assumes (for coverage checks and tests; everything here is SYNTHETIC)."""

from __future__ import annotations

import numpy as np

from skywatch.camtrap.secr.capthist import CaptureHistory, from_records
from skywatch.camtrap.secr.likelihood import Detection, _log_hazard
from skywatch.camtrap.secr.mask import Mask

__all__ = ["simulate_capthist"]


def simulate_capthist(
    detector_xy: np.ndarray,
    usage: np.ndarray,
    mask: Mask,
    *,
    density_ha: float,
    det: Detection,
    detector: str,
    rng: np.random.Generator,
) -> tuple[CaptureHistory, int]:
    """One synthetic survey: returns the capture history and the true number of centres in the mask.

    Centres: N ~ Poisson(D * mask area), each in a random mask cell, uniform within the cell.
    """
    n_total = int(rng.poisson(density_ha * mask.area_ha))
    cells = rng.integers(0, len(mask.xy), n_total)
    centres = mask.xy[cells] + rng.uniform(-mask.spacing / 2, mask.spacing / 2, (n_total, 2))
    d2 = ((centres[:, None, :] - detector_xy[None, :, :]) ** 2).sum(axis=-1)
    h = np.exp(_log_hazard(d2, det))  # (N, K)
    k, s = usage.shape
    records: list[tuple[str, int, int]] = []
    for occ in range(s):
        hazard = h * usage[None, :, occ]  # (N, K)
        if detector == "proximity":
            hit = rng.random(hazard.shape) < -np.expm1(-hazard)
            for i, j in zip(*np.nonzero(hit), strict=True):
                records.append((f"A{i:04d}", occ, int(j)))
        else:
            total = hazard.sum(axis=1)
            caught = rng.random(n_total) < -np.expm1(-total)
            for i in np.nonzero(caught)[0]:
                j = rng.choice(k, p=hazard[i] / total[i])
                records.append((f"A{i:04d}", occ, int(j)))
    return from_records(records, [f"T{j}" for j in range(k)], detector_xy, usage, detector=detector), n_total
