"""Plain re-identification CSVs (and camtrapR record tables) joined to a station table.

Columns (case, spaces and underscores do not matter; aliases in brackets):

- ``station`` [Station, locationID, location, site], or ``longitude`` + ``latitude`` (WGS84 degrees) matched
  to the nearest station of the station table within ``max_distance_m``; a row may use either;
- ``timestamp`` [datetime, DateTimeOriginal, eventStart]: ISO 8601 with a zone, or naive plus ``timezone``;
- ``species`` [Species, scientificName];
- optional: ``individual`` [Individual, individualID] ("" = not identified), ``score`` [confidence, conf,
  probability, classificationProbability] in 0-1, ``kind`` [observationType] (default "animal"), ``count``,
  ``sex`` [f/m], ``life_stage`` [lifeStage, age], ``behavior`` [behaviour].

camtrapR's ``recordTable``/``recordTableIndividual`` output (Station, Species, Individual, DateTimeOriginal)
reads as is; its ``Date``/``Time`` columns are ignored. Every record must fall in an operating period of its
station (see :mod:`skywatch.camtrap.readers.stations`), otherwise the row is bad.

The CSV is read in chunks and each row becomes compact columns as it arrives (see
:class:`~skywatch.camtrap.readers._common.EventColumns`), so memory follows the events kept, not the file's text.
"""

from __future__ import annotations

import math
from datetime import tzinfo
from pathlib import Path

from skywatch.camtrap.events import KINDS, DetectionTable
from skywatch.camtrap.readers._common import (
    LIFE_STAGES,
    SEX_ALIASES,
    SEXES,
    STAGE_ALIASES,
    BadRow,
    CsvRows,
    DeploymentIndex,
    EventColumns,
    OnError,
    RowPolicy,
    choice,
    find_columns,
    missing_column,
    nearest_station,
    parse_count,
    parse_float,
    parse_time,
    parse_timezone,
    source_label,
)
from skywatch.camtrap.readers.stations import STATION_ALIASES, StationTable, station_table

__all__ = ["REID_ALIASES", "read_reid_csv"]

REID_ALIASES: dict[str, tuple[str, ...]] = {
    "station": STATION_ALIASES["station"],
    "longitude": STATION_ALIASES["longitude"],
    "latitude": STATION_ALIASES["latitude"],
    "timestamp": ("timestamp", "datetime", "DateTimeOriginal", "date_time", "eventStart"),
    "species": ("species", "scientificName", "species_name"),
    "individual": ("individual", "individualID", "animal_id"),
    "score": ("score", "confidence", "conf", "probability", "classificationProbability"),
    "kind": ("kind", "observationType"),
    "count": ("count",),
    "sex": ("sex",),
    "life_stage": ("life_stage", "age"),
    "behavior": ("behavior", "behaviour"),
}


def read_reid_csv(
    path: Path,
    *,
    stations: StationTable | Path,
    epsg: int | None = None,
    timezone: str | tzinfo | None = None,
    max_distance_m: float = 100.0,
    on_error: OnError = "raise",
) -> DetectionTable:
    """Read a re-ID CSV or camtrapR record table (see the module docstring for the columns).

    Args:
        path: the CSV file.
        stations: a :class:`StationTable` or the path of a station table CSV (read with ``epsg``,
            ``timezone`` and ``on_error``).
        epsg: CRS of projected station coordinates (station table CSV only).
        timezone: applied to naive timestamps (and station table dates), e.g. ``+10:00`` or an IANA name.
        max_distance_m: how far a row's longitude/latitude may be from its station.
        on_error: "raise" stops at the first bad row; "skip" leaves it out and records it in ``skipped``.

    Raises:
        CamtrapError: missing columns, or a bad row (naming file, row and column) with ``on_error="raise"``:
            unknown station, timestamp without a zone or outside the station's operating periods, bad score.
    """
    file = str(path)
    table = station_table(stations, epsg=epsg, timezone=timezone, on_error=on_error)
    tz = parse_timezone(timezone)
    with CsvRows(path) as csv:
        cols = find_columns(csv.columns, REID_ALIASES)
        for need in ("timestamp", "species"):
            if need not in cols:
                raise missing_column(file, csv.columns, need, REID_ALIASES[need])
        has_xy = {"longitude", "latitude"} <= cols.keys()
        if "station" not in cols and not has_xy:
            raise missing_column(file, csv.columns, "station", ("or longitude + latitude",))
        index = DeploymentIndex.of(table.deployments)
        policy = RowPolicy(on_error)
        events = EventColumns()
        for row, rec in csv.rows(keep=cols.values()):
            try:
                events.add(_record(rec, cols, has_xy, table, index, tz, max_distance_m, source_label(path, row)))
            except BadRow as bad:
                policy.bad(file, row, bad.column, bad.reason)
    return DetectionTable(
        stations=table.stations,
        deployments=table.deployments,
        events=events.frame(),
        skipped=[*table.skipped, *policy.skipped],
        metadata={"format": "reid-csv", "source": file, "stations_source": table.source},
    )


def _record(
    rec: dict[str, str],
    cols: dict[str, str],
    has_xy: bool,
    table: StationTable,
    index: DeploymentIndex,
    tz: tzinfo | None,
    max_distance_m: float,
    source: str,
) -> dict[str, object]:
    """One row as an event.

    Raises:
        BadRow: what is wrong with the row.
    """
    station = rec[cols["station"]].strip() if "station" in cols else ""
    if not station:
        if not has_xy:
            raise BadRow(cols["station"], "station is empty")
        lon = parse_float(rec[cols["longitude"]], column=cols["longitude"], lo=-180, hi=180, what="longitude")
        lat = parse_float(rec[cols["latitude"]], column=cols["latitude"], lo=-90, hi=90, what="latitude")
        station = nearest_station(table.stations, lon, lat, max_distance_m=max_distance_m, column=cols["longitude"])
    when = parse_time(rec[cols["timestamp"]], tz, column=cols["timestamp"])
    deployment = index.find(
        station,
        when,
        station_column=cols.get("station", cols.get("longitude", "")),
        time_column=cols["timestamp"],
    )
    return {
        "station": station,
        "deployment": deployment,
        "timestamp": when,
        "species": rec[cols["species"]].strip(),
        **_optional(rec, cols),
        "source": source,
    }


def _optional(rec: dict[str, str], cols: dict[str, str]) -> dict[str, object]:
    def get(name: str) -> str:
        return rec[cols[name]].strip() if name in cols else ""

    kind = get("kind") or "animal"
    if kind not in KINDS:
        raise BadRow(cols["kind"], f"kind {kind!r} is not one of {list(KINDS)}")
    score = math.nan
    if get("score"):
        score = parse_float(get("score"), column=cols["score"], lo=0, hi=1, what="score")
    count: int | None = 1
    if get("count"):
        count = parse_count(get("count"), column=cols["count"])
    individual = get("individual")
    if individual.upper() in ("NA", "NAN", "NONE"):
        individual = ""
    return {
        "kind": kind,
        "individual": individual,
        "score": score,
        "count": count,
        "sex": choice(get("sex"), SEXES, column=cols.get("sex", "sex"), what="sex", aliases=SEX_ALIASES),
        "life_stage": choice(
            get("life_stage"),
            LIFE_STAGES,
            column=cols.get("life_stage", "life_stage"),
            what="life stage",
            aliases=STAGE_ALIASES,
        ),
        "behavior": get("behavior"),
    }
