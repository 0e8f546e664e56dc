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


def _posterior(ch: CaptureHistory, mask: Mask, fit: SecrFit) -> tuple[np.ndarray, np.ndarray]:
    logp, pdot = site_terms(ch, mask, fit.detection())
    post = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))  # (n, M), rows sum to 1
    return post, pdot


def _chunks(mask: Mask, size: int) -> list[Mask]:
    return [
        Mask(xy=mask.xy[i : i + size], spacing=mask.spacing, buffer=mask.buffer) for i in range(0, len(mask.xy), size)
    ]


def density_surface(ch: CaptureHistory, mask: Mask, fit: SecrFit, *, chunk: int = 20_000) -> np.ndarray:
    """Expected animals per km2 at each point of ``mask`` (M,): detected animals' posteriors plus the
    undetected. ``mask`` may be finer than the one fitted on (e.g. the output raster's pixels); it is processed
    in chunks of ``chunk`` points, so memory stays bounded whatever its size."""
    det = fit.detection()
    parts = _chunks(mask, chunk)
    log_norm = logsumexp(np.stack([logsumexp(site_terms(ch, m, det)[0], axis=1) for m in parts]), axis=0)  # (n,)
    out = []
    for m in parts:
        logp, pdot = site_terms(ch, m, det)
        detected = np.exp(logp - log_norm[:, None]).sum(axis=0)
        out.append(detected + fit.density.estimate * m.cell_ha * (1.0 - pdot))
    return np.asarray(np.concatenate(out) / (mask.cell_ha / 100.0), dtype=np.float64)


def activity_centres(ch: CaptureHistory, mask: Mask, fit: SecrFit) -> pd.DataFrame:
    """Per detected animal: posterior mean x, y (metres) and SDs ``sd_x``, ``sd_y``, with its detection count."""
    post, _ = _posterior(ch, mask, fit)
    mx = post @ mask.xy[:, 0]
    my = post @ mask.xy[:, 1]
    sx = np.sqrt(np.maximum(post @ mask.xy[:, 0] ** 2 - mx**2, 0))
    sy = np.sqrt(np.maximum(post @ mask.xy[:, 1] ** 2 - my**2, 0))
    counts = np.bincount(ch.animal, minlength=ch.n)
    return pd.DataFrame(
        {"individual": list(ch.animal_ids), "x": mx, "y": my, "sd_x": sx, "sd_y": sy, "detections": counts}
    )
