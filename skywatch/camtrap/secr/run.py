"""SECR from user inputs: a detection table (any reader) or secr's text files, to a fit with its mask."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

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
    """A fitted model with the data and mask it was fitted on."""

    fit: SecrFit
    capthist: CaptureHistory
    mask: Mask
    epsg: int | None
    species: str | None


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
        ch = read_secr_text(capture_file, trap_file, detector=detector)
    else:
        raise CamtrapError("give a Camtrap DP package, or both a capture file and a trap file")
    buf = buffer if buffer is not None else default_buffer(ch)
    if habitat is not None and epsg is None:
        raise CamtrapError("a habitat raster needs the CRS (EPSG) of the detector coordinates")
    mask = make_mask(ch.xy, buffer=buf, spacing=spacing, polygon=aoi,
                     habitat=raster_habitat(habitat, epsg) if habitat is not None and epsg else None,
                     align=align)  # fmt: skip
    return SecrRun(fit=fit_secr(ch, mask, detectfn=detectfn), capthist=ch, mask=mask, epsg=epsg, species=species)
