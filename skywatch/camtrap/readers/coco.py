"""Wildbook / COCO-style re-ID exports joined to a station table.

The JSON holds ``images`` (``id``, ``file_name``, ``datetime`` or ``date_captured``, and either a
``station``/``location`` field or ``gps_lat_captured`` + ``gps_lon_captured``), ``annotations`` (``id``,
``image_id``, ``category_id``, ``bbox``, ``name`` = the individual, optional ``viewpoint`` and ``score``) and
``categories`` (``id``, ``name`` = the species).

- **Rows** are annotations: the row number is the 1-based position in ``annotations``.
- **Individual**: the annotation's ``name``; empty or Wildbook's ``"____"`` means not identified.
- **Station**: the image's ``station`` or ``location`` field; else the nearest station of the station table
  within ``max_distance_m`` of the image GPS (Wildbook writes -1, -1 for unknown GPS, read as missing).
- **Time**: ``datetime``, else ``date_captured`` (COCO's ``2024-06-03 03:12:44``); naive times need
  ``timezone``.
- **Kind**: a category named person/human is human, vehicle is vehicle, anything else animal; ``viewpoint``
  and ``bbox`` are not kept.

**Memory**: the JSON is read whole (annotations point into ``images`` and ``categories`` in any order), so
this reader suits Wildbook exports of up to some 10^5 annotations; events are kept as compact columns.
"""

from __future__ import annotations

import math
from datetime import tzinfo
from pathlib import Path
from typing import Any

from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.readers._common import (
    BadRow,
    DeploymentIndex,
    EventColumns,
    OnError,
    RowPolicy,
    load_json,
    nearest_station,
    parse_float,
    parse_time,
    parse_timezone,
    source_label,
)
from skywatch.camtrap.readers.stations import StationTable, station_table
from skywatch.errors import CamtrapError

__all__ = ["UNIDENTIFIED_NAMES", "read_coco"]

UNIDENTIFIED_NAMES = ("", "____", "unknown", "unidentified")
_KIND = {"person": "human", "human": "human", "vehicle": "vehicle"}


def read_coco(
    path: Path,
    *,
    stations: StationTable | Path,
    epsg: int | None = None,
    timezone: str | tzinfo | None = None,
    max_distance_m: float = 100.0,
    on_error: OnError = "raise",
) -> DetectionTable:
    """Read a Wildbook/COCO export (see the module docstring for the rules).

    Args:
        path: the ``.json`` file.
        stations: a :class:`StationTable` or the path of a station table CSV.
        epsg: CRS of projected station coordinates (station table CSV only).
        timezone: applied to naive image times (and station table dates).
        max_distance_m: how far an image's GPS position may be from its station.
        on_error: "raise" stops at the first bad annotation; "skip" leaves it out and records it in ``skipped``.

    Raises:
        CamtrapError: not a COCO file (no images/annotations/categories, repeated IDs), or a bad annotation
            (naming file, row and field) with ``on_error="raise"``.
    """
    file = str(path)
    doc = _load(path)
    images = _by_id(doc["images"], "images", file)
    categories = {k: str(v.get("name", "")) for k, v in _by_id(doc["categories"], "categories", file).items()}
    table = station_table(stations, epsg=epsg, timezone=timezone, on_error=on_error)
    tz = parse_timezone(timezone)
    index = DeploymentIndex.of(table.deployments)
    policy = RowPolicy(on_error)
    events = EventColumns()
    for i, ann in enumerate(doc["annotations"]):
        row = i + 1
        try:
            events.add(_annotation(ann, images, categories, table, tz, index, max_distance_m, source_label(path, row)))
        except BadRow as bad:
            policy.bad(file, row, bad.column, bad.reason)
    return DetectionTable(
        stations=table.stations,
        deployments=table.deployments,
        events=events.frame(),
        skipped=[*table.skipped, *policy.skipped],
        metadata={"format": "coco", "source": file, "stations_source": table.source},
    )


def _load(path: Path) -> dict[str, Any]:
    doc = load_json(path)
    if not isinstance(doc, dict):
        raise CamtrapError(f"{str(path)!r} is not a COCO file (a JSON object)")
    for key in ("images", "annotations", "categories"):
        if not isinstance(doc.get(key), list):
            raise CamtrapError(f"{str(path)!r} is not a COCO file: it has no {key!r} list")
    return doc


def _by_id(items: list[Any], what: str, file: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for k, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            raise CamtrapError(f"{file} {what}[{k}] has no 'id'")
        key = str(item["id"])
        if key in out:
            raise CamtrapError(f"{file} {what}[{k}] repeats id {item['id']!r}")
        out[key] = item
    return out


def _annotation(
    ann: Any,
    images: dict[str, dict[str, Any]],
    categories: dict[str, str],
    table: StationTable,
    tz: tzinfo | None,
    index: DeploymentIndex,
    max_distance_m: float,
    source: str,
) -> dict[str, object]:
    if not isinstance(ann, dict):
        raise BadRow("annotation", "annotation is not an object")
    image = images.get(str(ann.get("image_id")))
    if image is None:
        raise BadRow("image_id", f"image_id {ann.get('image_id')!r} is not in images")
    category = str(ann.get("category_id"))
    if category not in categories:
        raise BadRow("category_id", f"category_id {ann.get('category_id')!r} is not in categories")
    species = categories[category]
    station, station_field = _station(image, table, max_distance_m)
    time_field = "datetime" if image.get("datetime") not in (None, "") else "date_captured"
    if image.get(time_field) in (None, ""):
        raise BadRow("date_captured", f"image {image['id']!r} has neither 'datetime' nor 'date_captured'")
    when = parse_time(str(image[time_field]), tz, column=time_field)
    deployment = index.find(station, when, station_column=station_field, time_column=time_field)
    name = ann.get("name")
    individual = "" if name is None or str(name).strip().lower() in UNIDENTIFIED_NAMES else str(name).strip()
    score = math.nan
    if ann.get("score") is not None:
        score = parse_float(str(ann["score"]), column="score", lo=0, hi=1, what="score")
    kind = _KIND.get(species.lower(), "animal")
    return {
        "station": station,
        "deployment": deployment,
        "timestamp": when,
        "kind": kind,
        "species": species if kind == "animal" else "",
        "individual": individual,
        "score": score,
        "count": 1,
        "source": source,
    }


def _station(image: dict[str, Any], table: StationTable, max_distance_m: float) -> tuple[str, str]:
    """The image's station and the field it came from."""
    for key in ("station", "location"):
        value = image.get(key)
        if value not in (None, ""):
            return str(value).strip(), key
    lat, lon = image.get("gps_lat_captured"), image.get("gps_lon_captured")
    if lat in (None, "") or lon in (None, "") or (_num(lat) == -1 and _num(lon) == -1):
        raise BadRow("station", f"image {image['id']!r} has no station/location field and no GPS position")
    la = parse_float(str(lat), column="gps_lat_captured", lo=-90, hi=90, what="latitude")
    lo = parse_float(str(lon), column="gps_lon_captured", lo=-180, hi=180, what="longitude")
    station = nearest_station(table.stations, lo, la, max_distance_m=max_distance_m, column="gps_lat_captured")
    return station, "gps_lat_captured"


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
