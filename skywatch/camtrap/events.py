"""The one internal table every camera-trap reader produces: stations, deployments and detection events.

Whatever the source (Camtrap DP, MegaDetector batch output joined to a station table, a plain re-ID CSV, a
Wildbook/COCO export, camtrapR record tables), it becomes a :class:`DetectionTable`:

- ``stations``: ``station`` (str), ``longitude``, ``latitude`` (WGS84 degrees, float);
- ``deployments``: ``deployment`` (str), ``station``, ``start``, ``end`` (tz-aware UTC timestamps). A camera
  that stopped and restarted is two deployments at one station (as Camtrap DP records interruptions), so
  effort is the sum of deployment spans;
- ``events``: one row per detection: ``station``, ``deployment``, ``timestamp`` (tz-aware UTC), ``kind``
  (Camtrap DP ``observationType``: animal, human, vehicle, blank, unknown, unclassified), ``species``
  (scientific name or the source's label, "" when none), ``individual`` ("" when not identified), ``score``
  (classifier/re-ID confidence 0-1, NaN when none), ``count``, ``sex``, ``life_stage``, ``behavior`` ("" when
  unknown) and ``source`` (file and row it came from, for messages). The readers give the text columns but
  ``source`` as categoricals (categories in text order) and ``timestamp`` as ``datetime64[us, UTC]``, so 10^6
  events stay compact; compare and group them as text, and add new values with ``astype(str)`` first.

``skipped`` lists rows a reader was told to skip, each as (file, row, column, reason), so nothing disappears
silently: summaries report ``len(events)`` used and every skipped row with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from skywatch.errors import CamtrapError

__all__ = ["DEPLOYMENT_COLUMNS", "EVENT_COLUMNS", "KINDS", "STATION_COLUMNS", "DetectionTable", "Skipped"]

STATION_COLUMNS = ("station", "longitude", "latitude")
DEPLOYMENT_COLUMNS = ("deployment", "station", "start", "end")
EVENT_COLUMNS = ("station", "deployment", "timestamp", "kind", "species", "individual", "score", "count", "sex",
                 "life_stage", "behavior", "source")  # fmt: skip
KINDS = ("animal", "human", "vehicle", "blank", "unknown", "unclassified")


@dataclass(frozen=True)
class Skipped:
    """A row left out on the user's request, and why."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row} column {self.column!r}: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class DetectionTable:
    """Stations, deployments and detection events (see the module docstring for the columns)."""

    stations: pd.DataFrame
    deployments: pd.DataFrame
    events: pd.DataFrame
    skipped: list[Skipped] = field(default_factory=list)
    metadata: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, frame, cols in (
            ("stations", self.stations, STATION_COLUMNS),
            ("deployments", self.deployments, DEPLOYMENT_COLUMNS),
            ("events", self.events, EVENT_COLUMNS),
        ):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise CamtrapError(f"internal {name} table lacks column(s) {missing}")
        for name, col in (("deployments", "start"), ("deployments", "end"), ("events", "timestamp")):
            series = getattr(self, name)[col]
            if len(series) and str(getattr(series.dt, "tz", None)) != "UTC":
                raise CamtrapError(f"internal {name}.{col} must be tz-aware UTC timestamps")

    def species(self, name: str) -> pd.DataFrame:
        """Animal events of one species (exact scientific name or label)."""
        ev = self.events
        return ev[(ev["kind"] == "animal") & (ev["species"] == name)]

    def station_xy(self, epsg: int) -> pd.DataFrame:
        """Stations with projected ``x``, ``y`` in metres of ``epsg`` (e.g. the AOI's UTM zone).

        Raises:
            CamtrapError: ``epsg`` is unknown, or not a projected CRS in metres.
        """
        from pyproj import CRS, Transformer
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_epsg(epsg)
        except CRSError:
            raise CamtrapError(f"EPSG:{epsg} is not a known CRS; give a projected one in metres, e.g. 32652") from None
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if not crs.is_projected or unit not in {"metre", "meter"}:
            raise CamtrapError(f"EPSG:{epsg} ({crs.name}) is not a projected CRS in metres; use e.g. its UTM zone")
        to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        x, y = to.transform(self.stations["longitude"].to_numpy(), self.stations["latitude"].to_numpy())
        return self.stations.assign(x=x, y=y)
