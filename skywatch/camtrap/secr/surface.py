"""What a fitted SECR model says about where animals live: :func:`posterior_surfaces` gives both

- the density surface: expected activity centres per mask cell: for each detected animal its posterior
  distribution over the mask (``Pr(w_i | x) / sum_m Pr(w_i | x_m)``), plus the undetected ones,
  ``D (1 - p.(x))`` (as secr's ``fxTotal``). Summed over the mask it is the estimated population in the mask;
- the activity centres: each detected animal's posterior mean centre and its SD (metres) along x and y,

from one evaluation of the model over the mask. The mask may be finer than the one fitted on (e.g. the output
raster's pixels); it is processed in pieces of at most ``budget`` values per array, so memory stays bounded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from skywatch.camtrap.secr.capthist import CaptureHistory
from skywatch.camtrap.secr.fit import SecrFit
from skywatch.camtrap.secr.likelihood import site_terms
from skywatch.camtrap.secr.mask import Mask

__all__ = ["posterior_surfaces"]


def _chunks(mask: Mask, ch: CaptureHistory, budget: int = 20_000_000) -> list[Mask]:
    """Mask pieces small enough that each (points x columns) array stays under ``budget`` values (~160 MB; a few
    such arrays are alive at once); the columns are the detectors, the animals, or the detection terms (distinct
    (detector, usage) pairs for proximity detectors, detections for multi-catch), whichever are more."""
    terms = len(ch.animal) if ch.detector == "multi" else len(ch.effort_pairs[0])
    size = max(256, budget // max(terms, len(ch.xy), ch.n, 1))
    starts = range(0, len(mask.xy), size)
    return [Mask(xy=mask.xy[i : i + size], spacing=mask.spacing, buffer=mask.buffer) for i in starts]


def posterior_surfaces(ch: CaptureHistory, mask: Mask, fit: SecrFit, *,
                       budget: int = 20_000_000) -> tuple[np.ndarray, pd.DataFrame]:  # fmt: skip
    """Expected animals per km2 at each point of ``mask`` (M,), and per detected animal its posterior mean ``x``,
    ``y`` and SDs ``sd_x``, ``sd_y`` (metres) with its ``detections`` count.

    One evaluation of the model when the whole mask is one piece (the usual case: ``budget`` values cover
    600,000 points at 31 stations), else two per piece (each animal's normaliser needs the whole mask before any
    piece's posterior)."""
    det = fit.detection()
    parts = _chunks(mask, ch, budget)
    whole: tuple[np.ndarray, np.ndarray] | None = None
    if len(parts) == 1:
        whole = site_terms(ch, parts[0], det)
        log_norm = np.asarray(logsumexp(whole[0], axis=1))
    else:
        log_norm = np.asarray(logsumexp(np.stack([logsumexp(site_terms(ch, m, det)[0], axis=1) for m in parts]),
                                        axis=0))  # fmt: skip
    density = []
    sums = np.zeros((ch.n, 4))  # E[x], E[y], E[x^2], E[y^2]
    for m in parts:
        logp, pdot = whole if whole is not None else site_terms(ch, m, det)
        post = np.exp(logp - log_norm[:, None])
        density.append(post.sum(axis=0) + fit.density.estimate * m.cell_ha * (1.0 - pdot))
        sums += post @ np.column_stack([m.xy[:, 0], m.xy[:, 1], m.xy[:, 0] ** 2, m.xy[:, 1] ** 2])
        whole = None  # the piece's arrays go before the next piece's
        del logp, pdot, post
    mx, my = sums[:, 0], sums[:, 1]
    sx = np.sqrt(np.maximum(sums[:, 2] - mx**2, 0))
    sy = np.sqrt(np.maximum(sums[:, 3] - my**2, 0))
    counts = np.bincount(ch.animal, minlength=ch.n)
    centres = pd.DataFrame(
        {"individual": list(ch.animal_ids), "x": mx, "y": my, "sd_x": sx, "sd_y": sy, "detections": counts}
    )
    return np.asarray(np.concatenate(density) / (mask.cell_ha / 100.0), dtype=np.float64), centres
