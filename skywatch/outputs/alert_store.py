"""The alert store: a GeoPackage (layer ``alerts``, EPSG:4326) that remembers alerts across runs.

Re-running never duplicates an alert, and a disturbance seen on consecutive acquisitions stays one incident:

- A new detection joins an open alert (status new or ongoing) of the same type within ``merge_m`` (500 m)
  whose last sighting is 1 to ``max_gap_days`` (20 days: four Sentinel-2 revisits, so a cloudy pass or two
  do not split an incident) before the run date; detections of one date stay separate alerts. The alert keeps
  its ID, its geometry grows to the union, ``last_seen`` moves on and its status becomes ``ongoing``.
  Otherwise the detection is a ``new`` alert.
- The same run loaded twice changes nothing: each alert remembers the detection IDs it is made of (``members``).
- An open alert that this run's coverage (the AOI searched) includes but that was not detected again is
  ``resolved``. Alerts outside the coverage keep their status.
- ``pushed`` records whether the current version reached the webhook; a failed push leaves it 0, so the next
  run sends it again (nothing is lost when the receiver is down).

One writer at a time: the store is read, updated in memory and written back atomically (temp file, rename).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from skywatch.aoi import utm_epsg
from skywatch.detect.vectorize import valid_polygonal
from skywatch.errors import OutputError
from skywatch.outputs.alerts import geojson_geometry
from skywatch.outputs.geopackage import write_geopackage

__all__ = ["CONFIDENCE_FLOOR", "STATUSES", "StoreUpdate", "mark_pushed", "query_store", "read_store", "update_store"]

STATUSES = ("new", "ongoing", "resolved")
CONFIDENCE_FLOOR = {"low": 0, "nominal": 50, "high": 80}  # the confidence_pct where each class starts
_COLUMNS = ["alert_id", "type", "status", "first_seen", "last_seen", "resolved_on", "detections", "confidence",
            "confidence_pct", "pushed", "members", "properties"]  # fmt: skip
LAYER = "alerts"


@dataclass(frozen=True, kw_only=True)
class StoreUpdate:
    """What one run did to the store, and its alerts as they now stand (RFC 7946 FeatureCollection)."""

    new: list[str]
    ongoing: list[str]
    resolved: list[str]
    unchanged: list[str]
    dropped_outside: int
    collection: dict[str, Any] = field(default_factory=dict)


def read_store(path: Path) -> gpd.GeoDataFrame:
    """The stored alerts (an empty frame when ``path`` does not exist yet).

    Raises:
        OutputError: the file exists but is not an alert store.
    """
    if not path.exists():
        return gpd.GeoDataFrame({c: [] for c in _COLUMNS}, geometry=[], crs="EPSG:4326")
    try:
        frame = pyogrio.read_dataframe(path, layer=LAYER)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and others
        raise OutputError(
            f"{str(path)!r} is not a skywatch alert store (GeoPackage with an 'alerts' layer): {exc}"
        ) from exc
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise OutputError(f"{str(path)!r} lacks alert-store column(s) {missing}")
    for col in ("resolved_on",):
        frame[col] = frame[col].fillna("")
    return frame


def _metric(frame: gpd.GeoDataFrame, epsg: int) -> gpd.GeoSeries:
    return frame.geometry.to_crs(epsg)


def update_store(
    path: Path,
    collection: dict[str, Any],
    *,
    run_date: date,
    coverage: BaseGeometry | None = None,
    merge_m: float = 500.0,
    max_gap_days: int = 20,
) -> StoreUpdate:
    """Fold one run's alerts (an alerts.geojson FeatureCollection) into the store at ``path``.

    Args:
        collection: The run's FeatureCollection (WGS84).
        run_date: The acquisition date the run's detections stand for.
        coverage: The area the run searched (WGS84); features outside it are dropped and counted, and only open
            alerts inside it can be resolved. None: everything.
        merge_m, max_gap_days: When a detection continues an open alert (see the module docstring).

    Raises:
        OutputError: the store cannot be read or written.
    """
    store = read_store(path)
    feats = list(collection.get("features", []))
    dropped = 0
    if coverage is not None:
        keep = [f for f in feats if shape(f["geometry"]).intersects(coverage)]
        dropped, feats = len(feats) - len(keep), keep
    today = run_date.isoformat()
    rows = store.to_dict("records")
    touched: dict[int, str] = {}  # row index -> what happened this run
    for feat in feats:
        geom = shape(feat["geometry"])
        props = dict(feat["properties"])
        epsg = utm_epsg(geom.centroid.x, geom.centroid.y)
        here = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(epsg).iloc[0]
        best, best_d = None, None
        for i, row in enumerate(rows):
            if props["id"] in json.loads(row["members"]):  # this very detection, loaded before
                best, best_d = i, -1.0
                break
        for i, row in enumerate(rows if best is None else []):
            if row["type"] != props["type"] or row["status"] == "resolved":
                continue
            gap = (run_date - date.fromisoformat(row["last_seen"])).days
            if not 1 <= gap <= max_gap_days:
                continue
            d = gpd.GeoSeries([row["geometry"]], crs="EPSG:4326").to_crs(epsg).iloc[0].distance(here)
            if d <= merge_m and (best_d is None or d < best_d):
                best, best_d = i, d
        if best is None:
            rows.append({
                "alert_id": props["id"], "type": props["type"], "status": "new", "first_seen": today,
                "last_seen": today, "resolved_on": "", "detections": 1, "confidence": props.get("confidence", ""),
                "confidence_pct": props.get("confidence_pct", 0), "pushed": 0, "members": json.dumps([props["id"]]),
                "properties": json.dumps(props, ensure_ascii=False), "geometry": geom,
            })  # fmt: skip
            touched[len(rows) - 1] = "new"
            continue
        row = rows[best]
        same_run = props["id"] in json.loads(row["members"])
        if not same_run:
            row["members"] = json.dumps([*json.loads(row["members"]), props["id"]])
        merged = valid_polygonal(unary_union([row["geometry"], geom])) if not row["geometry"].equals(geom) else geom
        changed = not merged.equals(row["geometry"])
        row["geometry"] = merged
        if not same_run:
            row["detections"] = int(row["detections"]) + 1
            row["status"] = "ongoing"
            row["last_seen"] = today
        if not same_run or changed:
            old = json.loads(row["properties"])
            props["id"] = row["alert_id"]
            props["confidence_pct"] = max(int(old.get("confidence_pct", 0)), int(props.get("confidence_pct", 0)))
            row["confidence_pct"] = props["confidence_pct"]
            row["confidence"] = props.get("confidence", row["confidence"])
            row["properties"] = json.dumps(props, ensure_ascii=False)
            row["pushed"] = 0
        touched.setdefault(best, "ongoing" if not same_run else "unchanged")
    resolved = []
    for i, row in enumerate(rows):
        if i in touched or row["status"] == "resolved" or row["last_seen"] >= today:
            continue
        if coverage is None or row["geometry"].intersects(coverage):
            row["status"], row["resolved_on"], row["pushed"] = "resolved", today, 0
            resolved.append(row["alert_id"])
    frame = gpd.GeoDataFrame(rows or {c: [] for c in _COLUMNS}, geometry="geometry" if rows else [], crs="EPSG:4326")
    write_geopackage(path, {LAYER: frame})
    ids = {k: [rows[i]["alert_id"] for i, v in touched.items() if v == k] for k in ("new", "ongoing", "unchanged")}
    seen = [rows[i] for i in touched]
    return StoreUpdate(new=ids["new"], ongoing=ids["ongoing"], resolved=resolved, unchanged=ids["unchanged"],
                       dropped_outside=dropped, collection=_collection(seen))  # fmt: skip


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    props = json.loads(row["properties"])
    props.update({"id": row["alert_id"], "status": row["status"], "first_seen": row["first_seen"],
                  "last_seen": row["last_seen"], "detections": int(row["detections"])})  # fmt: skip
    if row.get("resolved_on"):
        props["resolved_on"] = row["resolved_on"]
    return {
        "type": "Feature",
        "id": row["alert_id"],
        "properties": props,
        "geometry": geojson_geometry(row["geometry"]),
    }


def _collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    feats = sorted((_feature(r) for r in rows), key=lambda f: (f["properties"]["type"], f["id"]))
    return {"type": "FeatureCollection", "features": feats}


def query_store(
    path: Path,
    *,
    since: date | None = None,
    min_confidence: int = 0,
    types: list[str] | None = None,
    statuses: list[str] | None = None,
    unpushed_only: bool = False,
) -> dict[str, Any]:
    """Stored alerts last seen on or after ``since``, with ``confidence_pct >= min_confidence``, of ``types`` and
    ``statuses`` (None: all), as a FeatureCollection."""
    store = read_store(path)
    if not path.exists():
        raise OutputError(f"alert store {str(path)!r} does not exist yet; create it with --add ALERTS.geojson")
    sel = pd.Series(True, index=store.index)
    if since is not None:
        sel &= store["last_seen"] >= since.isoformat()
    sel &= store["confidence_pct"].astype(int) >= min_confidence
    if types:
        sel &= store["type"].isin(types)
    if statuses:
        sel &= store["status"].isin(statuses)
    if unpushed_only:
        sel &= store["pushed"].astype(int) == 0
    return _collection(store[sel].to_dict("records"))


def mark_pushed(path: Path, ids: list[str]) -> None:
    """Record that these alerts' current versions reached the webhook."""
    store = read_store(path)
    store.loc[store["alert_id"].isin(ids), "pushed"] = 1
    write_geopackage(path, {LAYER: store})
