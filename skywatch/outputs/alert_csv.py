"""Alerts as CSV for fire teams' spreadsheets and dispatch systems: one row per alert, FIRMS-style columns
(latitude, longitude, acq_date, acq_time, satellite, confidence ...; REFERENCE.md), lists joined with ``;``,
written atomically."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skywatch.outputs.atomic import atomic_path

__all__ = ["CSV_COLUMNS", "alerts_csv_text", "flat_properties", "write_alerts_csv"]

CSV_COLUMNS = ("id", "type", "status", "latitude", "longitude", "acq_date", "acq_time", "detected_at", "satellite",
               "confidence", "confidence_pct", "area_ha", "length_km", "severity", "exposure_score", "exposure_rank",
               "individuals_nearby", "stations_nearby", "first_seen", "last_seen", "detections", "method", "sha256",
               "source_scenes", "label_en", "label_ru", "label_zh", "synthetic")  # fmt: skip


def flat_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """An alert's properties as flat columns (CSV, GeoPackage): lists joined with ``;``, exposure split."""
    row = {c: props.get(c, "") for c in CSV_COLUMNS}
    exposure = props.get("exposure") or {}
    row["exposure_score"] = exposure.get("score", "") if exposure.get("known", True) else ""
    row["exposure_rank"] = exposure.get("rank", "")
    for key in ("individuals_nearby", "stations_nearby", "source_scenes"):
        row[key] = ";".join(str(v) for v in props.get(key) or [])
    row["synthetic"] = "true" if props.get("synthetic") else ""
    return {k: "" if v is None else v for k, v in row.items()}


def alerts_csv_text(collection: Mapping[str, Any]) -> str:
    """The FeatureCollection's alerts as CSV text (header row, one row per alert)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for feat in collection.get("features", []):
        writer.writerow(flat_properties(feat["properties"]))
    return buf.getvalue()


def write_alerts_csv(path: Path, collection: Mapping[str, Any], *, overwrite: bool = True) -> Path:
    """Write the FeatureCollection's alerts as CSV (UTF-8, header row) at ``path``.

    Raises:
        OutputError: exists without ``overwrite`` or not writable.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(alerts_csv_text(collection), encoding="utf-8")
    return path
