"""Read a Camtrap DP 1.0 package (deployments and observations) into pandas tables.

A light reader for the fusion chain; schema validation with frictionless and the other formats arrive with
the camera-trap issue. Timestamps must carry a UTC offset (Camtrap DP requires ISO 8601 with a zone).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skywatch.errors import CamtrapError

__all__ = ["CamtrapPackage", "read_camtrap_dp"]

_REQUIRED = {
    "deployments": ("deploymentID", "latitude", "longitude", "deploymentStart", "deploymentEnd"),
    "observations": ("observationID", "deploymentID", "eventStart", "observationType"),
}


@dataclass(frozen=True, kw_only=True)
class CamtrapPackage:
    """The tables of a Camtrap DP package."""

    path: Path
    metadata: dict[str, object]
    deployments: pd.DataFrame
    observations: pd.DataFrame


def read_camtrap_dp(path: Path) -> CamtrapPackage:
    """Read the package at ``path`` (a folder with ``datapackage.json`` or that file).

    Raises:
        CamtrapError: missing files or columns, or timestamps without a time zone (naming file, row, column).
    """
    root = path if path.is_dir() else path.parent
    meta_file = root / "datapackage.json"
    try:
        metadata = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CamtrapError(f"{str(meta_file)!r} not found: a Camtrap DP package needs its datapackage.json") from exc
    except json.JSONDecodeError as exc:
        raise CamtrapError(f"{str(meta_file)!r} is not valid JSON: {exc}") from exc
    tables = {}
    for name, required in _REQUIRED.items():
        file = root / f"{name}.csv"
        try:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        except FileNotFoundError as exc:
            raise CamtrapError(f"{str(file)!r} not found in the Camtrap DP package") from exc
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise CamtrapError(f"{str(file)!r} lacks required column(s) {missing}")
        tables[name] = frame
    dep = tables["deployments"]
    for col in ("latitude", "longitude"):
        dep[col] = pd.to_numeric(dep[col], errors="raise")
    for col in ("deploymentStart", "deploymentEnd"):
        dep[col] = _times(dep[col], root / "deployments.csv", col)
    obs = tables["observations"]
    obs["eventStart"] = _times(obs["eventStart"], root / "observations.csv", "eventStart")
    unknown = sorted(set(obs["deploymentID"]) - set(dep["deploymentID"]))
    if unknown:
        raise CamtrapError(f"observations.csv names unknown deploymentID(s) {unknown[:5]}")
    return CamtrapPackage(path=root, metadata=metadata, deployments=dep, observations=obs)


def _times(values: pd.Series, file: Path, column: str) -> pd.Series:
    for i, v in enumerate(values):
        if not (v.endswith("Z") or (v[-6:-5] in "+-" and v[-3:-2] == ":")):
            raise CamtrapError(
                f"{str(file)!r} row {i + 2} column {column!r}: timestamp {v!r} has no time zone "
                "(write e.g. 2025-06-01T12:00:00+10:00)"
            )
    return pd.to_datetime(values, utc=True, format="ISO8601")
