"""Habitat risk: where animals are and disturbance is near.

threat = 1 - prod_t (1 - w_t * exp(-d_t / L_t)) over disturbance types t, with d_t the distance (m) to the
nearest pixel of type t; risk = presence_norm x threat, with presence_norm the presence surface scaled to 0-1
by its 99th percentile. Default weights and distance scales (overridable) are judgement calls, documented here:
fire w 1.0, L 1000 m (active fronts spread); clear-cut w 0.8, L 500 m (noise, edge effects); road w 0.6,
L 300 m (access for poachers, traffic).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["DEFAULT_THREATS", "Threat", "habitat_risk", "scaled_presence", "threat_surface"]


@dataclass(frozen=True, kw_only=True)
class Threat:
    """Weight (0-1) and e-folding distance (m) of one disturbance type."""

    weight: float
    scale_m: float


DEFAULT_THREATS: dict[str, Threat] = {
    "fire": Threat(weight=1.0, scale_m=1000.0),
    "clearcut": Threat(weight=0.8, scale_m=500.0),
    "road": Threat(weight=0.6, scale_m=300.0),
}


def threat_surface(
    masks: Mapping[str, np.ndarray], *, resolution: float, threats: Mapping[str, Threat] = DEFAULT_THREATS
) -> np.ndarray:
    """Combined threat (0-1) from disturbance masks keyed like ``threats``."""
    keep = np.ones(next(iter(masks.values())).shape, dtype=np.float64)
    for name, mask in masks.items():
        if not mask.any():
            continue
        t = threats[name]
        dist = ndimage.distance_transform_edt(~mask) * resolution
        keep *= 1.0 - t.weight * np.exp(-dist / t.scale_m)
    return (1.0 - keep).astype(np.float32)


def scaled_presence(presence: np.ndarray) -> np.ndarray:
    """Presence scaled to 0-1 by its 99th percentile (robust to a few very busy cameras); NaN stays NaN."""
    finite = presence[np.isfinite(presence)]
    top = float(np.percentile(finite, 99)) if finite.size else 0.0
    return np.clip(presence / top, 0.0, 1.0) if top > 0 else np.where(np.isfinite(presence), 0.0, np.nan)


def habitat_risk(presence: np.ndarray, threat: np.ndarray) -> np.ndarray:
    """presence (scaled to 0-1 by its 99th percentile) x threat; NaN where presence is unknown."""
    return (scaled_presence(presence) * threat).astype(np.float32)
