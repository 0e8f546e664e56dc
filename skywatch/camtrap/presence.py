"""A smoothed, effort-corrected presence surface on the project grid.

Station rates come from :func:`skywatch.jobs.presence.station_rates` (independent events and trap-days as
:mod:`skywatch.camtrap.effort` counts them; RAI = 100 x events / trap-days). The surface is a Gaussian-kernel
ratio of events to trap-days (Nadaraya-Watson), so cameras that ran longer weigh more, and it is nodata where the
kernel-weighted effort is under ``min_effort_days`` (far from any camera).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from affine import Affine
from pyproj import Transformer

__all__ = ["presence_surface"]


def presence_surface(
    stations: pd.DataFrame,
    *,
    transform: Affine,
    shape: tuple[int, int],
    epsg: int,
    bandwidth_m: float = 1500.0,
    min_effort_days: float = 20.0,
    step: int = 10,
) -> np.ndarray:
    """Events per 100 trap-days, kernel-smoothed onto the grid (float32, NaN = no effort nearby).

    Computed on a grid ``step`` times coarser and repeated back to full resolution (the kernel is much wider
    than a pixel).
    """
    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    sx, sy = tr.transform(stations["longitude"].to_numpy(), stations["latitude"].to_numpy())
    h, w = shape
    hc, wc = -(-h // step), -(-w // step)
    cols = (np.arange(wc) + 0.5) * step
    rows = (np.arange(hc) + 0.5) * step
    gx = transform.c + cols * transform.a
    gy = transform.f + rows * transform.e
    trap_days = stations["trap_days"].to_numpy(dtype=float)
    counts = stations["events"].to_numpy().astype(float)
    rate = np.full((hc, wc), np.nan)
    block = max(1, 2_000_000 // max(1, len(sx) * wc))  # rows per pass: memory stays ~16 MB whatever the area
    dx2 = (gx[None, :] - np.asarray(sx)[:, None]) ** 2  # (stations, columns)
    for r0 in range(0, hc, block):
        dy2 = (gy[None, r0 : r0 + block] - np.asarray(sy)[:, None]) ** 2  # (stations, rows)
        k = np.exp(-(dy2[:, :, None] + dx2[:, None, :]) / (2 * bandwidth_m**2))
        effort = np.tensordot(trap_days, k, axes=1)
        events = np.tensordot(counts, k, axes=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate[r0 : r0 + block] = np.where(effort >= min_effort_days, 100.0 * events / effort, np.nan)
    full = np.repeat(np.repeat(rate, step, axis=0), step, axis=1)[:h, :w]
    return full.astype(np.float32)
