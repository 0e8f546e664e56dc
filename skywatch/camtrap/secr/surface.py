"""What a fitted SECR model says about where animals live.

- :func:`density_surface`: expected activity centres per mask cell: for each detected animal its posterior
  distribution over the mask (``Pr(w_i | x) / sum_m Pr(w_i | x_m)``), plus the undetected ones,
  ``D (1 - p.(x))`` (as secr's ``fxTotal``). Summed over the mask it is the estimated population in the mask.
- :func:`activity_centres`: each detected animal's posterior mean centre and its SD (metres) along x and y.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from skywatch.camtrap.secr.capthist import CaptureHistory
from skywatch.camtrap.secr.fit import SecrFit
from skywatch.camtrap.secr.likelihood import site_terms
from skywatch.camtrap.secr.mask import Mask

__all__ = ["activity_centres", "density_surface"]


def _chunks(mask: Mask, ch: CaptureHistory, budget: int = 20_000_000) -> list[Mask]:
    """Mask pieces small enough that the (points x detections) arrays stay under ``budget`` values (~160 MB)."""
    size = max(256, budget // max(len(ch.animal), len(ch.xy), ch.n, 1))
    starts = range(0, len(mask.xy), size)
    return [Mask(xy=mask.xy[i : i + size], spacing=mask.spacing, buffer=mask.buffer) for i in starts]


def _log_norm(ch: CaptureHistory, parts: list[Mask], fit: SecrFit) -> np.ndarray:
    """Per animal, log sum over the whole mask of Pr(history | x): the posterior's normaliser."""
    det = fit.detection()
    return np.asarray(logsumexp(np.stack([logsumexp(site_terms(ch, m, det)[0], axis=1) for m in parts]), axis=0))


def density_surface(ch: CaptureHistory, mask: Mask, fit: SecrFit, *, budget: int = 20_000_000) -> np.ndarray:
    """Expected animals per km2 at each point of ``mask`` (M,): detected animals' posteriors plus the
    undetected. ``mask`` may be finer than the one fitted on (e.g. the output raster's pixels); it is processed
    in pieces of at most ``budget`` array values, so memory stays bounded whatever its size."""
    det = fit.detection()
    parts = _chunks(mask, ch, budget)
    log_norm = _log_norm(ch, parts, fit)
    out = []
    for m in parts:
        logp, pdot = site_terms(ch, m, det)
        detected = np.exp(logp - log_norm[:, None]).sum(axis=0)
        out.append(detected + fit.density.estimate * m.cell_ha * (1.0 - pdot))
    return np.asarray(np.concatenate(out) / (mask.cell_ha / 100.0), dtype=np.float64)


def activity_centres(ch: CaptureHistory, mask: Mask, fit: SecrFit, *, budget: int = 20_000_000) -> pd.DataFrame:
    """Per detected animal: posterior mean x, y (metres) and SDs ``sd_x``, ``sd_y``, with its detection count
    (accumulated piece by piece over the mask, like :func:`density_surface`)."""
    det = fit.detection()
    parts = _chunks(mask, ch, budget)
    log_norm = _log_norm(ch, parts, fit)
    sums = np.zeros((ch.n, 4))  # E[x], E[y], E[x^2], E[y^2]
    for m in parts:
        post = np.exp(site_terms(ch, m, det)[0] - log_norm[:, None])
        sums += post @ np.column_stack([m.xy[:, 0], m.xy[:, 1], m.xy[:, 0] ** 2, m.xy[:, 1] ** 2])
    mx, my = sums[:, 0], sums[:, 1]
    sx = np.sqrt(np.maximum(sums[:, 2] - mx**2, 0))
    sy = np.sqrt(np.maximum(sums[:, 3] - my**2, 0))
    counts = np.bincount(ch.animal, minlength=ch.n)
    return pd.DataFrame(
        {"individual": list(ch.animal_ids), "x": mx, "y": my, "sd_x": sx, "sd_y": sy, "detections": counts}
    )
