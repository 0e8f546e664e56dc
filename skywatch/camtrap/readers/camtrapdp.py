"""Camtrap DP 1.0.x (TDWG) packages into a :class:`DetectionTable`.

Reads ``deployments.csv`` and ``observations.csv`` (paths from ``datapackage.json`` when it names them);
``media.csv`` is not needed. The station of a deployment is its ``locationID``, or its ``deploymentID`` when
``locationID`` is empty; deployments of one location more than 50 m apart are an error (a moved camera is a
new detector for SECR).

Observations may be recorded per event and again per image (``observationLevel`` "media"). With
``level="auto"`` (default) a media-level observation is left out when its event (``eventID``) also has
event-level observations (even ones skipped as bad), because it repeats them; events described only per image keep
their media-level observations, one row each. The number folded away is in ``metadata["media_observations_folded"]``.
``level="event"``/``"media"`` keep only that level, ``"all"`` keeps every observation.

``observations.csv`` is read in chunks and each observation becomes compact columns as it arrives, so memory
follows the observations kept (plus one entry per observationID, for the duplicate check), not the file's text;
a package with media-level observations has its eventID and observationLevel columns read a second time for the
folding. ``media.csv`` is never read.
"""

from __future__ import annotations

from array import array
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from skywatch.camtrap.events import KINDS, DetectionTable
from skywatch.camtrap.readers._common import (
    LIFE_STAGES,
    SEXES,
    BadRow,
    CsvRows,
    EventColumns,
    OnError,
    RowPolicy,
    choice,
    deployments_frame,
    load_json,
    missing_column,
    parse_count,
    parse_float,
    parse_time,
    read_csv,
    same_place,
    source_label,
    stations_frame,
)
from skywatch.errors import CamtrapError

__all__ = ["read_camtrap_dp_table"]

Level = Literal["auto", "event", "media", "all"]

_DEPLOYMENT_COLUMNS = ("deploymentID", "latitude", "longitude", "deploymentStart", "deploymentEnd")
_OBSERVATION_COLUMNS = ("observationID", "deploymentID", "eventStart", "observationType")
_USED_COLUMNS = (*_OBSERVATION_COLUMNS, "eventID", "observationLevel", "count", "classificationProbability",
                 "scientificName", "individualID", "sex", "lifeStage", "behavior")  # fmt: skip


def read_camtrap_dp_table(path: Path, *, on_error: OnError = "raise", level: Level = "auto") -> DetectionTable:
    """Read the Camtrap DP package at ``path`` (its folder or its ``datapackage.json``).

    Args:
        path: package folder, or its ``datapackage.json``.
        on_error: "raise" stops at the first bad row; "skip" leaves bad rows out and lists them in ``skipped``
            (observations of a skipped deployment are skipped too).
        level: which observation levels to keep (see the module docstring).

    Raises:
        CamtrapError: missing files or required columns, or a bad row (naming file, row and column) with
            ``on_error="raise"``: empty or duplicate IDs, timestamps without a time zone, a deployment ending
            before it starts or without coordinates, observations naming an unknown deploymentID, values
            outside the Camtrap DP vocabularies.
    """
    if level not in ("auto", "event", "media", "all"):
        raise CamtrapError(f"level must be 'auto', 'event', 'media' or 'all', not {level!r}")
    root = path if path.is_dir() else path.parent
    metadata, files = _descriptor(root)
    policy = RowPolicy(on_error)
    stations, deployments, dep_station, skipped_deps = _deployments(files["deployments"], policy)
    events, folded = _observations(files["observations"], dep_station, skipped_deps, policy, level)
    return DetectionTable(
        stations=stations_frame(stations),
        deployments=deployments_frame(deployments),
        events=events,
        skipped=policy.skipped,
        metadata={
            "format": "camtrap-dp",
            "source": str(root),
            "package": metadata,
            "media_observations_folded": folded,
        },
    )


def _descriptor(root: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """The package metadata and the paths of its deployments and observations tables."""
    meta_file = root / "datapackage.json"
    files = {name: root / f"{name}.csv" for name in ("deployments", "observations")}
    if not meta_file.is_file():
        if all(f.is_file() for f in files.values()):
            return {}, files
        raise CamtrapError(
            f"{str(root)!r} is not a Camtrap DP package: it has neither datapackage.json nor "
            "deployments.csv + observations.csv"
        )
    metadata = load_json(meta_file)
    if not isinstance(metadata, dict):
        raise CamtrapError(f"{str(meta_file)!r} is not a Data Package descriptor (a JSON object)")
    resources = metadata.get("resources", [])
    if not isinstance(resources, list):
        raise CamtrapError(f"{str(meta_file)!r} has 'resources' that is not a list of tables")
    for res in resources:
        name = res.get("name") if isinstance(res, dict) else None
        if isinstance(name, str) and name in files and "path" in res:
            ref = res["path"]
            if not isinstance(ref, str) or "://" in ref or not ref.strip() or "\x00" in ref:
                raise CamtrapError(
                    f"{str(meta_file)!r} resource {name!r} has path {ref!r}: only one local file per table "
                    "is supported (download remote tables next to datapackage.json)"
                )
            files[name] = root / ref
    return metadata, files


def _deployments(
    file: Path, policy: RowPolicy
) -> tuple[list[dict[str, object]], list[dict[str, object]], dict[str, str], dict[str, int]]:
    frame = read_csv(file)
    for col in _DEPLOYMENT_COLUMNS:
        if col not in frame.columns:
            raise missing_column(str(file), list(frame.columns), col)
    has_location = "locationID" in frame.columns
    stations: dict[str, dict[str, object]] = {}
    positions: dict[str, tuple[float, float]] = {}
    deployments: list[dict[str, object]] = []
    dep_station: dict[str, str] = {}
    first_row: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2
        dep_id = rec["deploymentID"].strip()
        try:
            if not dep_id:
                raise BadRow("deploymentID", "deploymentID is empty")
            if dep_id in first_row:
                raise BadRow("deploymentID", f"duplicate deploymentID {dep_id!r} (first on row {first_row[dep_id]})")
            lat = _coordinate(rec, "latitude", 90)
            lon = _coordinate(rec, "longitude", 180)
            start = parse_time(rec["deploymentStart"], None, column="deploymentStart")
            end = parse_time(rec["deploymentEnd"], None, column="deploymentEnd")
            if end < start:
                raise BadRow(
                    "deploymentEnd", f"{rec['deploymentEnd']!r} is before deploymentStart {rec['deploymentStart']!r}"
                )
        except BadRow as bad:
            if dep_id and dep_id not in first_row:
                skipped.setdefault(dep_id, row)
            policy.bad(str(file), row, bad.column, bad.reason)
            continue
        station = (rec["locationID"].strip() if has_location else "") or dep_id
        known = positions.setdefault(station, (lon, lat))
        if not same_place(known, (lon, lat)):
            where = f"{known} on an earlier row and ({lon}, {lat}) here"
            policy.bad(
                str(file), row, "latitude", f"locationID {station!r} is at {where}: a moved camera needs a new ID"
            )
            skipped.setdefault(dep_id, row)
            continue
        first_row[dep_id] = row
        stations.setdefault(station, {"station": station, "longitude": lon, "latitude": lat})
        dep_station[dep_id] = station
        deployments.append({"deployment": dep_id, "station": station, "start": start, "end": end})
    return list(stations.values()), deployments, dep_station, skipped


def _coordinate(rec: dict[str, str], column: str, limit: float) -> float:
    text = rec[column].strip()
    if not text:
        raise BadRow(column, f"deployment has no coordinates ({column} is empty)")
    return parse_float(text, column=column, lo=-limit, hi=limit, what=column)


def _observations(
    file: Path, dep_station: dict[str, str], skipped_deps: dict[str, int], policy: RowPolicy, level: Level
) -> tuple[pd.DataFrame, int]:
    """The events of ``observations.csv`` (read in chunks) and how many media-level rows were folded away."""
    with CsvRows(file) as csv:
        for col in _OBSERVATION_COLUMNS:
            if col not in csv.columns:
                raise missing_column(str(file), csv.columns, col)
        seen: dict[str, str] = {}  # observationID -> its event's source ("observations.csv:ROW", shared)
        events = EventColumns()
        is_media = array("b")  # per kept row: 1 for a media-level observation
        media_keys: dict[int, str] = {}  # kept media-level rows with an eventID: position -> eventID
        for row, rec in csv.rows(keep=_USED_COLUMNS):
            source = source_label(file, row)
            try:
                obs_level, event = _observation(rec, dep_station, skipped_deps, seen, source)
            except BadRow as bad:
                policy.bad(str(file), row, bad.column, bad.reason)
                continue
            key = rec.get("eventID", "").strip()
            if obs_level == "media" and key:
                media_keys[len(events)] = key
            is_media.append(obs_level == "media")
            events.add(event)
    del seen
    media = np.frombuffer(is_media, dtype=np.int8).astype(bool) if len(is_media) else np.zeros(0, dtype=bool)
    if level == "all":
        return events.frame(), 0
    if level in ("event", "media"):
        return events.frame(media if level == "media" else ~media), 0
    keep = np.ones(len(events), dtype=bool)
    if media_keys:
        described = _described(file, set(media_keys.values()))
        for position, key in media_keys.items():
            if key in described:
                keep[position] = False
    return events.frame(keep), int((~keep).sum())


def _described(file: Path, keys: set[str]) -> set[str]:
    """Those of ``keys`` (eventIDs of media-level observations) that have event-level rows, valid or not, so
    skipping a bad event-level row never brings back its media-level rows instead. A second, narrow read of the
    file, needed only when it has media-level rows: the first pass then need not hold every eventID."""
    found: set[str] = set()
    with CsvRows(file) as csv:
        for _, rec in csv.rows(keep=("eventID", "observationLevel")):
            key = rec.get("eventID", "").strip()
            if key in keys and rec.get("observationLevel", "").strip() == "event":
                found.add(key)
    return found


def _observation(
    rec: dict[str, str], dep_station: dict[str, str], skipped_deps: dict[str, int], seen: dict[str, str], source: str
) -> tuple[str, dict[str, object]]:
    obs_id = rec["observationID"].strip()
    if not obs_id:
        raise BadRow("observationID", "observationID is empty")
    if obs_id in seen:
        first = seen[obs_id].rpartition(":")[2]
        raise BadRow("observationID", f"duplicate observationID {obs_id!r} (first on row {first})")
    dep_id = rec["deploymentID"].strip()
    if dep_id not in dep_station:
        if dep_id in skipped_deps:
            raise BadRow("deploymentID", f"deployment {dep_id!r} was skipped (deployments row {skipped_deps[dep_id]})")
        raise BadRow("deploymentID", f"deploymentID {dep_id!r} is not in deployments.csv")
    when: datetime = parse_time(rec["eventStart"], None, column="eventStart")
    kind = rec["observationType"].strip()
    if kind not in KINDS:
        raise BadRow("observationType", f"observationType {kind!r} is not one of {list(KINDS)}")
    obs_level = rec.get("observationLevel", "").strip() or "event"
    if obs_level not in ("event", "media"):
        raise BadRow("observationLevel", f"observationLevel {obs_level!r} is not 'event' or 'media'")
    count: int | None = None
    if rec.get("count", "").strip():
        count = parse_count(rec["count"], column="count")
    score = float("nan")
    if rec.get("classificationProbability", "").strip():
        score = parse_float(
            rec["classificationProbability"],
            column="classificationProbability",
            lo=0,
            hi=1,
            what="classificationProbability",
        )
    seen[obs_id] = source
    event: dict[str, object] = {
        "station": dep_station[dep_id],
        "deployment": dep_id,
        "timestamp": when,
        "kind": kind,
        "species": rec.get("scientificName", "").strip(),
        "individual": rec.get("individualID", "").strip(),
        "score": score,
        "count": count,
        "sex": choice(rec.get("sex", ""), SEXES, column="sex", what="sex"),
        "life_stage": choice(rec.get("lifeStage", ""), LIFE_STAGES, column="lifeStage", what="lifeStage"),
        "behavior": rec.get("behavior", "").strip(),
        "source": source,
    }
    return obs_level, event
