"""Station tables: where each camera stood and when it ran, split into deployments by problem periods.

Accepted columns (case, spaces and underscores do not matter):

- ``station`` (also ``Station``, ``locationID``, ``location``, ``site``);
- ``longitude`` + ``latitude`` in WGS84 degrees, or projected ``utm_x`` + ``utm_y`` (also ``x``/``y``,
  ``easting``/``northing``) in the CRS given by ``epsg`` (camtrapR's camera table);
- ``start`` + ``end`` (also camtrapR's ``Setup_date`` + ``Retrieval_date``, Camtrap DP's
  ``deploymentStart`` + ``deploymentEnd``);
- optional problem periods ``problem1_from`` + ``problem1_to``, ``problem2_from`` ... (camtrapR's
  ``Problem1_from``/``Problem1_to``): the camera did not record then, so the row becomes one deployment per
  working stretch (a station with a malfunction is two deployments, as Camtrap DP records it).

Times are ISO 8601 (``2024-05-01T09:30:00+10:00``) or dates (``2024-05-01`` or day-first ``01/05/2024``).
Naive values take the ``timezone`` argument. **Dates without a time of day** follow one rule: a date means the
start of that day (00:00 local time), except the retrieval/end date, which means the end of that day (24:00).
So the setup and retrieval days count as whole days of effort (camtrapR before 2.1 counted them as 1 day;
camtrapR 2.1+ assumes noon, half days), and a problem period runs from 00:00 on its ``from`` day to 24:00 on
its ``to`` day (camtrapR documents ``Problem1_to`` as the last day of the malfunction). Give date-times to be
exact.

A station may appear on several rows (several deployment periods); rows of one station more than 50 m apart
are an error (a camera that moved is a new detector).
Deployment IDs are ``<station>-<n>``, numbered per station in time order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from skywatch.camtrap.events import Skipped
from skywatch.camtrap.readers._common import (
    BadRow,
    OnError,
    RowPolicy,
    deployments_frame,
    find_columns,
    missing_column,
    norm,
    parse_float,
    parse_time,
    parse_timezone,
    read_csv,
    same_place,
    stations_frame,
)
from skywatch.errors import CamtrapError

if TYPE_CHECKING:
    from pyproj import Transformer

__all__ = ["STATION_ALIASES", "StationTable", "read_stations", "station_table"]

STATION_ALIASES: dict[str, tuple[str, ...]] = {
    "station": ("station", "station_id", "locationID", "location", "site"),
    "longitude": ("longitude", "lon", "lng", "long", "decimalLongitude"),
    "latitude": ("latitude", "lat", "decimalLatitude"),
    "x": ("utm_x", "x", "easting"),
    "y": ("utm_y", "y", "northing"),
    "start": ("start", "Setup_date", "setup", "deploymentStart", "start_date"),
    "end": ("end", "Retrieval_date", "retrieval", "deploymentEnd", "end_date"),
}
_PROBLEM = re.compile(r"^problem(\d{1,9})(from|to)$")


@dataclass(frozen=True, kw_only=True)
class StationTable:
    """Stations (``station``, ``longitude``, ``latitude``) and their deployments (``deployment``, ``station``,
    ``start``, ``end`` as UTC timestamps), plus the rows left out on request."""

    stations: pd.DataFrame
    deployments: pd.DataFrame
    skipped: list[Skipped] = field(default_factory=list)
    source: str = ""


def read_stations(
    path: Path,
    *,
    epsg: int | None = None,
    timezone: str | tzinfo | None = None,
    on_error: OnError = "raise",
) -> StationTable:
    """Read a station table (see the module docstring for the columns and the date rule).

    Args:
        path: the CSV file.
        epsg: CRS of projected ``utm_x``/``utm_y`` columns (e.g. 32652 for UTM 52N); unused with lon/lat.
        timezone: applied to naive times and dates, a UTC offset (``+10:00``) or IANA name.
        on_error: "raise" stops at the first bad row; "skip" leaves it out and records it in ``skipped``.

    Raises:
        CamtrapError: a required column is missing, projected coordinates come without ``epsg``, a bad row
            (naming file, row and column) with ``on_error="raise"``, or no usable row at all.
    """
    file = str(path)
    frame = read_csv(path)
    cols = find_columns(frame.columns, STATION_ALIASES)
    policy = RowPolicy(on_error)
    tz = parse_timezone(timezone)
    for need in ("station", "start", "end"):
        if need not in cols:
            raise missing_column(file, list(frame.columns), need, STATION_ALIASES[need])
    transform = None
    if not {"longitude", "latitude"} <= cols.keys():
        if not {"x", "y"} <= cols.keys():
            raise missing_column(file, list(frame.columns), "longitude", ("latitude", "or utm_x + utm_y with epsg"))
        if epsg is None:
            raise CamtrapError(
                f"{file} has projected coordinates ({cols['x']}, {cols['y']}): pass their EPSG code "
                "(epsg=32652 / --epsg 32652 for UTM zone 52N)"
            )
        transform = _to_wgs84(epsg)
    problems = _problem_columns(frame.columns)

    stations: dict[str, tuple[float, float]] = {}
    spans: list[tuple[str, datetime, datetime]] = []
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2
        try:
            station, lon, lat, pieces = _row(rec, cols, problems, tz, transform)
            if station in stations and not same_place(stations[station], (lon, lat)):
                where = f"{stations[station]} on an earlier row and ({lon:.6f}, {lat:.6f}) here"
                column = cols["longitude"] if transform is None else cols["x"]
                raise BadRow(column, f"station {station!r} is at {where}: a moved camera is a new station ID")
        except BadRow as bad:
            policy.bad(file, row, bad.column, bad.reason)
            continue
        stations.setdefault(station, (lon, lat))
        spans.extend((station, a, b) for a, b in pieces)
    if not stations:
        skipped = f" ({len(policy.skipped)} skipped)" if policy.skipped else ""
        raise CamtrapError(f"{file} has no usable station row{skipped}")
    spans.sort(key=lambda s: (s[0], s[1]))
    counter: dict[str, int] = {}
    dep_rows = []
    for station, a, b in spans:
        counter[station] = counter.get(station, 0) + 1
        dep_rows.append({"deployment": f"{station}-{counter[station]}", "station": station, "start": a, "end": b})
    st_rows = [{"station": s, "longitude": lon, "latitude": lat} for s, (lon, lat) in stations.items()]
    return StationTable(
        stations=stations_frame(st_rows), deployments=deployments_frame(dep_rows), skipped=policy.skipped, source=file
    )


def _to_wgs84(epsg: int) -> Transformer:
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    except CRSError as exc:
        raise CamtrapError(f"EPSG:{epsg} is not a known coordinate reference system: {exc}") from exc


def _problem_columns(columns: pd.Index) -> list[tuple[str, str, str]]:
    """(number, from column, to column) for each ProblemN pair, in number order."""
    found: dict[int, dict[str, str]] = {}
    for col in columns:
        m = _PROBLEM.match(norm(col))
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = col
    pairs = []
    for n in sorted(found):
        sides = found[n]
        if set(sides) != {"from", "to"}:
            raise CamtrapError(f"problem period {n} needs both Problem{n}_from and Problem{n}_to columns")
        pairs.append((str(n), sides["from"], sides["to"]))
    return pairs


def _row(
    rec: dict[str, str],
    cols: dict[str, str],
    problems: list[tuple[str, str, str]],
    tz: tzinfo | None,
    transform: Transformer | None,
) -> tuple[str, float, float, list[tuple[datetime, datetime]]]:
    station = rec[cols["station"]].strip()
    if not station:
        raise BadRow(cols["station"], "station ID is empty")
    if transform is None:
        lon = parse_float(rec[cols["longitude"]], column=cols["longitude"], lo=-180, hi=180, what="longitude")
        lat = parse_float(rec[cols["latitude"]], column=cols["latitude"], lo=-90, hi=90, what="latitude")
    else:
        x = parse_float(rec[cols["x"]], column=cols["x"], lo=-1e8, hi=1e8, what="x")
        y = parse_float(rec[cols["y"]], column=cols["y"], lo=-1e8, hi=1e8, what="y")
        lon, lat = transform.transform(x, y)
        if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
            raise BadRow(cols["x"], f"({x}, {y}) cannot be projected to longitude/latitude")
    start = parse_time(rec[cols["start"]], tz, column=cols["start"], allow_date=True)
    end = parse_time(rec[cols["end"]], tz, column=cols["end"], allow_date=True, end_of_day=True)
    if end <= start:
        raise BadRow(cols["end"], f"{rec[cols['end']]!r} is not after {cols['start']} {rec[cols['start']]!r}")
    gaps = []
    for n, c_from, c_to in problems:
        t_from, t_to = rec[c_from].strip(), rec[c_to].strip()
        if not t_from and not t_to:
            continue
        if not (t_from and t_to):
            raise BadRow(c_to if t_from else c_from, f"problem period {n} needs both its start and its end")
        a = parse_time(t_from, tz, column=c_from, allow_date=True)
        b = parse_time(t_to, tz, column=c_to, allow_date=True, end_of_day=True)
        if b < a:
            raise BadRow(c_to, f"{t_to!r} is before {c_from} {t_from!r}")
        gaps.append((a, b))
    pieces = _subtract((start, end), gaps)
    if not pieces:
        raise BadRow(problems[0][1], "the problem periods cover the whole operating period (no effort left)")
    return station, float(lon), float(lat), pieces


def _subtract(
    span: tuple[datetime, datetime], gaps: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """``span`` minus the union of ``gaps``: the working stretches, each of positive length."""
    pieces = []
    cursor, end = span
    for a, b in sorted(gaps):
        if a > cursor:
            pieces.append((cursor, min(a, end)))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if b > a]


def station_table(
    stations: StationTable | Path,
    *,
    epsg: int | None = None,
    timezone: str | tzinfo | None = None,
    on_error: OnError = "raise",
) -> StationTable:
    """``stations`` itself, or the table read from that CSV path with :func:`read_stations`.

    Raises:
        CamtrapError: as :func:`read_stations`.
    """
    if isinstance(stations, StationTable):
        return stations
    return read_stations(Path(stations), epsg=epsg, timezone=timezone, on_error=on_error)
