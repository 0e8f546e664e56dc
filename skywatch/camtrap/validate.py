"""Validate a Camtrap DP package offline: the 1.0.2 profile, the table schemas, and what they cannot say.

1. ``datapackage.json`` against the Camtrap DP part of the vendored profile with jsonschema (its remote
   ``$ref``s, Frictionless' own package profile and the GeoJSON schema of ``spatial``, are left out; the type
   checks stay).
2. The tables with frictionless, in a temporary copy of the descriptor whose canonical schema URLs
   (``https://raw.githubusercontent.com/tdwg/camtrap-dp/<version>/<table>-table-schema.json``) point at the
   vendored 1.0.2 copies in ``skywatch/camtrap/schemas``; the user's files are only read.
3. Checks the schemas cannot express or express poorly: duplicate IDs, observations and media naming unknown
   deployments or media, ends before starts, timestamps without a time zone.

Rows count as a spreadsheet user counts them: the header is row 1. Where both frictionless and a check of
step 3 flag the same cell, only the clearer message of step 3 is kept.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from skywatch.camtrap.schema import SCHEMA_DIR
from skywatch.errors import CamtrapError

__all__ = ["Problem", "validate_package"]

_CANONICAL = re.compile(
    r"^https://raw\.githubusercontent\.com/tdwg/camtrap-dp/[^/]+/(deployments|media|observations)-table-schema\.json$"
)
_CORE = ("deployments", "media", "observations")
_TIMES = {
    "deployments": ("deploymentStart", "deploymentEnd"),
    "media": ("timestamp",),
    "observations": ("eventStart", "eventEnd", "classificationTimestamp"),
}
_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class Problem:
    """One reason a package is not valid: where (file, row, column) and what."""

    file: str
    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row if self.row is not None else '-'}:{self.column or '-'}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return asdict(self)


def validate_package(path: Path) -> list[Problem]:
    """All problems of the Camtrap DP package at ``path`` (its folder or ``datapackage.json``); [] if valid.

    Raises:
        CamtrapError: ``path`` does not exist.
    """
    if not path.exists():
        raise CamtrapError(f"{str(path)!r} not found")
    root = path if path.is_dir() else path.parent
    meta_file = root / "datapackage.json"
    meta_name = str(meta_file)
    if not meta_file.is_file():
        return [Problem(meta_name, None, "", "not found: a Camtrap DP package needs its datapackage.json")]
    try:
        descriptor = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [Problem(meta_name, None, "", f"not valid JSON: {exc}")]
    if not isinstance(descriptor, dict):
        return [Problem(meta_name, None, "", "not a Data Package descriptor (a JSON object)")]
    problems = _profile_problems(descriptor, meta_name)
    local, resource_problems = _local_resources(descriptor, root, meta_name)
    problems += resource_problems
    own = _table_problems(local)
    cells = {(p.file, p.row, p.column) for p in own}
    rows = {(p.file, p.row) for p in own}
    for p in _frictionless_problems(descriptor, local, meta_name):
        if (p.file, p.row, p.column) in cells or (not p.column and p.row is not None and (p.file, p.row) in rows):
            continue  # the same cell (or, for row-level errors, the same row) is reported more clearly already
        own.append(p)
    order = {str(file): k for k, file in enumerate(local.values())}
    return problems + sorted(own, key=lambda p: (order.get(p.file, -1), p.row or 0, p.column))


# -- 1. metadata --------------------------------------------------------------------------------------------


@cache
def _profile_schema() -> dict[str, Any]:
    profile = json.loads((SCHEMA_DIR / "camtrap-dp-profile.json").read_text(encoding="utf-8"))
    part = dict(profile["allOf"][1])  # [0] is Frictionless' own profile, a remote $ref
    part["$schema"] = profile.get("$schema", "http://json-schema.org/draft-04/schema#")
    part["$defs"] = profile.get("$defs", {})
    props = dict(part["properties"])
    spatial = dict(props["spatial"])
    spatial.pop("$ref", None)  # the remote GeoJSON schema; the object type check stays
    props["spatial"] = spatial
    part["properties"] = props
    return part


def _profile_problems(descriptor: dict[str, Any], meta_name: str) -> list[Problem]:
    import jsonschema

    schema = _profile_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    problems = []
    for err in sorted(validator.iter_errors(descriptor), key=lambda e: list(map(str, e.absolute_path))):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
        problems.append(Problem(meta_name, None, where, f"Camtrap DP profile: {err.message}"))
    return problems


# -- 2. frictionless ----------------------------------------------------------------------------------------


def _local_resources(descriptor: dict[str, Any], root: Path, meta_name: str) -> tuple[dict[str, Path], list[Problem]]:
    """The local file of each core table, and problems with the resources' paths."""
    problems = []
    local: dict[str, Path] = {}
    listed = descriptor.get("resources")
    resources: list[Any] = listed if isinstance(listed, list) else []
    by_name = {r.get("name"): (i, r) for i, r in enumerate(resources) if isinstance(r, dict)}
    for name in _CORE:
        if name not in by_name:
            problems.append(Problem(meta_name, None, "resources", f"has no {name!r} resource"))
            continue
        i, res = by_name[name]
        ref = res.get("path")
        where = f"resources[{i}].path"
        if not isinstance(ref, str) or not ref:
            problems.append(Problem(meta_name, None, where, f"resource {name!r} needs one file path"))
        elif "://" in ref:
            problems.append(Problem(meta_name, None, where, f"{ref!r} is remote; only local files are checked"))
        elif Path(ref).is_absolute() or ".." in Path(ref).parts:
            problems.append(Problem(meta_name, None, where, f"{ref!r} must be a relative path inside the package"))
        elif not (root / ref).is_file():
            problems.append(Problem(meta_name, None, where, f"{ref!r} not found next to datapackage.json"))
        else:
            local[name] = root / ref
    return local, problems


def _frictionless_problems(descriptor: dict[str, Any], local: dict[str, Path], meta_name: str) -> list[Problem]:
    if set(local) != set(_CORE):
        return []  # the missing tables are reported already; foreign keys could not be checked
    from frictionless import Package, system

    doc = dict(descriptor)
    doc.pop("profile", None)  # checked above with jsonschema (its $ref needs the network)
    resources = []
    for res in descriptor.get("resources", []):
        if not isinstance(res, dict):
            continue
        name = res.get("name")
        if name in _CORE:
            res = {**res, "path": str(local[name].resolve()), "schema": str(SCHEMA_DIR / f"{name}-table-schema.json")}
            resources.append(res)
        elif "data" in res and not isinstance(res.get("schema"), str):
            resources.append(res)  # inline extension tables; file-based ones are not Camtrap DP's concern
    doc["resources"] = resources
    with tempfile.TemporaryDirectory(prefix="skywatch-validate-") as tmp:
        copy = Path(tmp) / "datapackage.json"
        copy.write_text(json.dumps(doc), encoding="utf-8")
        try:
            with system.use_context(trusted=True):
                report = Package(str(copy)).validate()
        except Exception as exc:  # frictionless raises its own errors for broken descriptors
            return [Problem(meta_name, None, "", f"frictionless could not open the package: {exc}")]
    problems = [Problem(meta_name, None, "", f"{e.type}: {e.message}") for e in report.errors]
    files = {name: str(p) for name, p in local.items()}
    for task in report.tasks:
        file = files.get(task.name, meta_name)
        for err in task.errors:
            row = getattr(err, "row_number", None)
            if row is None and getattr(err, "row_numbers", None):
                row = 1  # a header (label) error
            column = getattr(err, "field_name", None) or (getattr(err, "field_names", None) or [""])[0]
            cell = getattr(err, "cell", None)
            value = f"value {cell!r}: " if cell not in (None, "") else ""
            problems.append(Problem(file, row, column or "", f"{err.type}: {value}{err.note or err.message}"))
    return problems


# -- 3. checks the schemas cannot do ------------------------------------------------------------------------


def _table_problems(local: dict[str, Path]) -> list[Problem]:
    frames: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name, table_file in local.items():
        try:
            frames[name] = pd.read_csv(table_file, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(table_file), None, "", f"not a readable CSV file: {exc}"))
    ids = {"deployments": "deploymentID", "media": "mediaID", "observations": "observationID"}
    known: dict[str, set[str]] = {}
    for name, frame in frames.items():
        file = str(local[name])
        key = ids[name]
        if key not in frame.columns:
            problems.append(Problem(file, 1, key, f"required column {key!r} is missing"))
            continue
        known[name] = set(frame[key])
        first: dict[str, int] = {}
        for i, value in enumerate(frame[key]):
            if value in first:
                problems.append(Problem(file, i + 2, key, f"duplicate {key} {value!r} (first on row {first[value]})"))
            elif value:
                first[value] = i + 2
    for name in ("media", "observations"):
        frame = frames.get(name)
        if frame is None:
            continue
        file = str(local[name])
        refs = [("deploymentID", "deployments")] + ([("mediaID", "media")] if name == "observations" else [])
        for column, target in refs:
            if column not in frame.columns or target not in known:
                continue
            for i, value in enumerate(frame[column]):
                if value and value not in known[target]:
                    problems.append(Problem(file, i + 2, column, f"{column} {value!r} is not in {target}.csv"))
    for name, frame in frames.items():
        problems += _time_problems(str(local[name]), frame, _TIMES[name])
    return problems


def _time_problems(file: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> list[Problem]:
    problems = []
    parsed: dict[str, list[datetime | None]] = {}
    for column in columns:
        if column not in frame.columns:
            continue
        values: list[datetime | None] = []
        for i, text in enumerate(frame[column]):
            value = None
            if text:
                if not _ZONE.search(text):
                    problems.append(
                        Problem(
                            file,
                            i + 2,
                            column,
                            f"timestamp {text!r} has no time zone (write e.g. 2024-06-01T21:13:05+10:00 or ...Z)",
                        )
                    )
                else:
                    try:
                        value = datetime.fromisoformat(text)
                    except ValueError:
                        problems.append(Problem(file, i + 2, column, f"{text!r} is not an ISO 8601 date-time"))
            values.append(value)
        parsed[column] = values
    for start, end in (("deploymentStart", "deploymentEnd"), ("eventStart", "eventEnd")):
        if start in parsed and end in parsed:
            for i, (a, b) in enumerate(zip(parsed[start], parsed[end], strict=True)):
                if a is not None and b is not None and b < a:
                    problems.append(
                        Problem(file, i + 2, end, f"{end} {b.isoformat()} is before {start} {a.isoformat()}")
                    )
    return problems
