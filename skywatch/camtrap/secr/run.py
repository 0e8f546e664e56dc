"""SECR from user inputs: a detection table (any reader) or secr's text files, to a fit with its mask."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.secr.capthist import CaptureHistory, read_secr_text
from skywatch.camtrap.secr.fit import SecrFit, fit_secr
from skywatch.camtrap.secr.from_table import capthist_from_table
from skywatch.camtrap.secr.mask import Mask, make_mask, raster_habitat
from skywatch.errors import CamtrapError

__all__ = ["SecrRun", "default_buffer", "run_secr"]


@dataclass(frozen=True, kw_only=True)
class SecrRun:
    """A fitted model with the data and mask it was fitted on, and notes for the user (buffer changes,
    warnings)."""

    fit: SecrFit
    capthist: CaptureHistory
    mask: Mask
    epsg: int | None
    species: str | None
    notes: list[str]


def fit_adequate(
    ch: CaptureHistory,
    *,
    buffer: float | None = None,
    spacing: float | Callable[[float], float] | None = None,
    polygon: BaseGeometry | None = None,
    habitat: Callable[[np.ndarray], np.ndarray] | None = None,
    align: bool = False,
    detectfn: str = "HN",
    max_tries: int = 4,
) -> tuple[SecrFit, Mask, list[str]]:
    """Fit, growing the default buffer until animals at the mask's edge go undetected (under 1 %).

    With the default buffer (:func:`default_buffer`) a too-small mask is refitted with the larger of twice the
    buffer and 4 fitted sigmas, up to ``max_tries`` fits: in sparse camera arrays the RPSV can be far below
    sigma, and density then follows the buffer instead of the data. A buffer the user chose is kept; if it is
    too small the notes say so. ``spacing`` may be a function of the buffer (e.g. 64 cells across).
    """
    auto = buffer is None
    buf = default_buffer(ch) if buffer is None else float(buffer)
    notes: list[str] = []
    for _ in range(max_tries):
        step = spacing(buf) if callable(spacing) else spacing
        mask = make_mask(ch.xy, buffer=buf, spacing=step, polygon=polygon, habitat=habitat, align=align)
        fit = fit_secr(ch, mask, detectfn=detectfn)
        if fit.buffer_adequate or not auto:
            break
        grown = float(max(2 * buf, math.ceil(4 * fit.sigma.estimate / 100.0) * 100.0))
        notes.append(f"buffer {buf:g} m too small (an animal at its edge had a {fit.edge_detection:.1%} chance of "
                     f"detection; fitted sigma {fit.sigma.estimate:.0f} m): refitted with {grown:g} m")  # fmt: skip
        buf = grown
    if not fit.buffer_adequate:
        notes.append(f"WARNING: the mask buffer ({buf:g} m) is too small for the fitted sigma "
                     f"({fit.sigma.estimate:.0f} m): D is biased upward; use a larger --buffer")  # fmt: skip
    if fit.mask_spacing > 0.6 * fit.sigma.estimate:
        notes.append(f"WARNING: mask spacing {fit.mask_spacing:g} m is coarse for sigma {fit.sigma.estimate:.0f} m "
                     "(secr suggests about sigma / 2); use --spacing")  # fmt: skip
    if not fit.converged:
        notes.append("WARNING: the fit did not converge cleanly (gradient not flat or Hessian not positive "
                     "definite): treat SEs and intervals as unreliable")  # fmt: skip
    return fit, mask, notes


def default_buffer(ch: CaptureHistory) -> float:
    """Four times the movement scale (RPSV, :meth:`CaptureHistory.movement_scale`), rounded up to 100 m: past
    4 sigma a half-normal detection function is below 0.04 % of g0, so density barely depends on a larger buffer
    (secr's ``suggest.buffer`` idea)."""
    return float(math.ceil(4 * ch.movement_scale() / 100.0) * 100.0)


def run_secr(
    *,
    table: DetectionTable | None = None,
    species: str | None = None,
    epsg: int | None = None,
    capture_file: Path | None = None,
    trap_file: Path | None = None,
    detector: str = "multi",
    detectfn: str = "HN",
    buffer: float | None = None,
    spacing: float | None = None,
    occasion_days: float = 1.0,
    start: pd.Timestamp | str | None = None,
    aoi: BaseGeometry | None = None,
    habitat: Path | None = None,
    align: bool = False,
    occasions: int | None = None,
) -> SecrRun:
    """Build the capture history and mask, and fit.

    Give either ``table`` with ``species`` and ``epsg`` (station coordinates are projected to it; ``aoi`` and
    ``habitat`` in that CRS / any CRS) or secr's ``capture_file`` and ``trap_file`` (coordinates in metres as
    written; ``aoi``/``habitat`` then need the same CRS via ``epsg``).

    Raises:
        CamtrapError: inconsistent arguments, or what the readers and fit raise.
    """
    if table is not None:
        if species is None or epsg is None:
            raise CamtrapError("SECR from camera-trap records needs the species and a projected CRS (EPSG)")
        ch = capthist_from_table(table, species, epsg=epsg, occasion_days=occasion_days, start=start,
                                 detector=detector)  # fmt: skip
    elif capture_file is not None and trap_file is not None:
        ch = read_secr_text(capture_file, trap_file, detector=detector, occasions=occasions)
    else:
        raise CamtrapError("give a Camtrap DP package, or both a capture file and a trap file")
    if habitat is not None and epsg is None:
        raise CamtrapError("a habitat raster needs the CRS (EPSG) of the detector coordinates")
    predicate = raster_habitat(habitat, epsg) if habitat is not None and epsg else None
    fit, mask, notes = fit_adequate(ch, buffer=buffer, spacing=spacing, polygon=aoi, habitat=predicate, align=align,
                                    detectfn=detectfn)  # fmt: skip
    return SecrRun(fit=fit, capthist=ch, mask=mask, epsg=epsg, species=species, notes=notes)
