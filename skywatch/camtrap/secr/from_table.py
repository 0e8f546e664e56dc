"""Capture histories from camera-trap records: stations are detectors, occasions are windows of
``occasion_days``, usage is the fraction of each occasion a station's cameras ran
(:func:`skywatch.camtrap.effort.operation_matrix`), detections are identified individuals of one species
(:func:`skywatch.camtrap.effort.capture_histories`; dependent young left out)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from skywatch.camtrap.effort import capture_histories, operation_matrix
from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.secr.capthist import CaptureHistory, from_records
from skywatch.errors import CamtrapError

__all__ = ["capthist_from_table"]


def capthist_from_table(
    table: DetectionTable,
    species: str,
    *,
    epsg: int,
    occasion_days: float = 1.0,
    start: pd.Timestamp | str | None = None,
    n_occasions: int | None = None,
    detector: str = "proximity",
) -> CaptureHistory:
    """The capture history of ``species`` with station coordinates in metres of ``epsg``.

    For ``multi`` detectors an animal counts once per occasion, at its first station that occasion; the
    other detections are counted in :attr:`CaptureHistory.merged`.

    Raises:
        CamtrapError: no identified animals of ``species``, or events outside effort (naming the record).
    """
    usage = operation_matrix(table, start=start, occasion_days=occasion_days, n_occasions=n_occasions)
    caps = capture_histories(table, species, occasion_days=occasion_days, start=start,
                             n_occasions=usage.shape[1])  # fmt: skip
    if caps.empty:
        known = sorted(set(table.events.loc[table.events["individual"] != "", "species"]))
        raise CamtrapError(f"no identified individuals of {species!r}; species with IDs: {known}")
    stations = table.station_xy(epsg).set_index("station").reindex(usage.index)
    if stations[["x", "y"]].isna().any().any():
        raise CamtrapError("a station with effort has no coordinates")
    index = {s: k for k, s in enumerate(usage.index)}
    records = [(str(r.individual), int(r.occasion), index[r.station]) for r in caps.itertuples()]
    total = int(caps["detections"].sum())
    ch = from_records(records, [str(s) for s in usage.index], stations[["x", "y"]].to_numpy(), usage.to_numpy(),
                      detector=detector)  # fmt: skip
    return dataclasses.replace(ch, merged=ch.merged + total - len(records))
