"""Write a :class:`DetectionTable` as a Camtrap DP 1.0.2 package.

The package has ``datapackage.json`` (naming the canonical schema URLs
``https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/...``), ``deployments.csv``, ``media.csv`` (header
only: the table keeps no media) and ``observations.csv``, each with every schema column in schema order.
Every event becomes one event-level observation with its own ``eventID``; ``eventStart`` = ``eventEnd`` = the
event time, in UTC (``Z``), to the second. ``observationType`` is the event's kind, ``classificationProbability``
its score, ``observationComments`` the file and row it came from.

Metadata the table cannot know is taken from the source package when it was Camtrap DP (contributors,
licences, project, taxonomic details), otherwise filled with placeholders to edit before publishing
(contributor "skywatch camtrap import", ``samplingDesign`` from ``sampling_design``, no licences).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from skywatch import __version__
from skywatch.camtrap.events import KINDS, DetectionTable
from skywatch.camtrap.schema import table_fields
from skywatch.errors import CamtrapError
from skywatch.outputs.atomic import atomic_dir

__all__ = ["CAMTRAP_DP_BASE", "SAMPLING_DESIGNS", "write_camtrap_dp"]

CAMTRAP_DP_BASE = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2"
SAMPLING_DESIGNS = ("simpleRandom", "systematicRandom", "clusteredRandom", "experimental", "targeted", "opportunistic")
_TABLES = ("deployments", "media", "observations")
_SEXES = ("", "female", "male")
_STAGES = ("", "adult", "subadult", "juvenile")
# Events written per step: an observations chunk of this many rows as strings is some tens of MB.
OBSERVATION_CHUNK = 50_000


def write_camtrap_dp(
    table: DetectionTable,
    out: Path,
    *,
    title: str,
    synthetic: bool = False,
    overwrite: bool = False,
    description: str = "",
    sampling_design: str = "targeted",
    contributors: Sequence[Mapping[str, str]] | None = None,
) -> Path:
    """Write ``table`` into the folder ``out`` as a Camtrap DP 1.0.2 package, atomically.

    Args:
        table: stations, deployments and events.
        out: the package folder to create.
        title: the package title.
        synthetic: mark the package as synthetic (``"synthetic": true``, "SYNTHETIC" in title and description).
        overwrite: replace ``out`` if it exists.
        description: package description (default: where the data came from).
        sampling_design: ``project.samplingDesign`` when the source does not give one (Camtrap DP vocabulary:
            simpleRandom, systematicRandom, clusteredRandom, experimental, targeted, opportunistic).
        contributors: ``contributors`` entries (``title``, ``role``...); default: the source package's.

    Returns:
        ``out``.

    Raises:
        CamtrapError: the table cannot be expressed in Camtrap DP (unknown deployment or station, values
            outside its vocabularies, a deployment ending before it starts).
        OutputError: ``out`` exists without ``overwrite``, or cannot be written.
    """
    if sampling_design not in SAMPLING_DESIGNS:
        raise CamtrapError(f"sampling design {sampling_design!r} is not one of {list(SAMPLING_DESIGNS)}")
    deployments = _deployments(table)
    media = pd.DataFrame(columns=list(table_fields("media")))
    package = _package(
        table,
        title=title,
        synthetic=synthetic,
        description=description,
        sampling_design=sampling_design,
        contributors=contributors,
    )
    with atomic_dir(out, overwrite=overwrite) as tmp:
        for name, frame in (("deployments", deployments), ("media", media)):
            frame.reindex(columns=list(table_fields(name))).to_csv(
                tmp / f"{name}.csv", index=False, lineterminator="\n", na_rep=""
            )
        for i, chunk in enumerate(_observations(table)):  # chunk by chunk: memory stays bounded by OBSERVATION_CHUNK
            chunk.to_csv(tmp / "observations.csv", mode="w" if i == 0 else "a", header=i == 0, index=False,
                         lineterminator="\n", na_rep="")  # fmt: skip
        (tmp / "datapackage.json").write_text(
            json.dumps(package, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return out


def _stamp(t: pd.Timestamp) -> str:
    return f"{t.tz_convert('UTC'):%Y-%m-%dT%H:%M:%S}Z"


def _deployments(table: DetectionTable) -> pd.DataFrame:
    dep = table.deployments
    dup = dep["deployment"][dep["deployment"].duplicated()]
    if len(dup):
        raise CamtrapError(f"deployment ID {dup.iloc[0]!r} appears twice in the table")
    coords = table.stations.drop_duplicates("station").set_index("station")
    rows = []
    for d in dep.itertuples(index=False):
        if d.station not in coords.index:
            raise CamtrapError(f"deployment {d.deployment!r} names station {d.station!r}, which has no coordinates")
        if d.end < d.start:
            raise CamtrapError(f"deployment {d.deployment!r} ends ({d.end}) before it starts ({d.start})")
        lon, lat = float(coords.at[d.station, "longitude"]), float(coords.at[d.station, "latitude"])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise CamtrapError(f"station {d.station!r} has coordinates ({lon}, {lat}) outside WGS84 ranges")
        rows.append(
            {
                "deploymentID": d.deployment,
                "locationID": d.station,
                "locationName": d.station,
                "latitude": str(round(lat, 6)),
                "longitude": str(round(lon, 6)),
                "deploymentStart": _stamp(d.start.floor("s")),
                "deploymentEnd": _stamp(d.end.ceil("s")),
            }
        )
    return pd.DataFrame(rows, columns=list(table_fields("deployments")))


def _observations(table: DetectionTable) -> Iterator[pd.DataFrame]:
    """The observations table, :data:`OBSERVATION_CHUNK` events at a time (vectorised; the first bad event is
    named with its number and source).

    Raises:
        CamtrapError: an event outside Camtrap DP's terms (see :func:`_check_event`).
    """
    ev = table.events
    known = set(table.deployments["deployment"])
    width = max(6, len(str(len(ev))))
    columns = list(table_fields("observations"))
    if len(ev) == 0:
        yield pd.DataFrame(columns=columns)
        return
    for start in range(0, len(ev), OBSERVATION_CHUNK):
        part = ev.iloc[start : start + OBSERVATION_CHUNK]
        score = part["score"].astype(float)
        count = pd.to_numeric(part["count"], errors="coerce")
        bad = (
            ~part["deployment"].isin(known)
            | ~part["kind"].isin(KINDS)
            | ~part["sex"].isin(_SEXES)
            | ~part["life_stage"].isin(_STAGES)
            | (score.notna() & ((score < 0) | (score > 1)))
            | (count.notna() & (count < 1))
        ).to_numpy()
        if bad.any():
            first = int(bad.argmax())
            _check_event(start + first + 1, part.iloc[first], known)
        n = pd.Series(range(start + 1, start + len(part) + 1), index=part.index)
        numbers = n.astype(str).str.zfill(width)
        stamp = part["timestamp"].dt.floor("s").dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        source = part["source"].astype(str).where(part["source"].notna(), "")
        yield pd.DataFrame(
            {
                "observationID": "obs" + numbers,
                "deploymentID": part["deployment"],
                "mediaID": "",
                "eventID": "event" + numbers,
                "eventStart": stamp,
                "eventEnd": stamp,
                "observationLevel": "event",
                "observationType": part["kind"],
                "scientificName": part["species"],
                "count": count.map(lambda c: "" if pd.isna(c) else str(int(c))),
                "lifeStage": part["life_stage"],
                "sex": part["sex"],
                "behavior": part["behavior"],
                "individualID": part["individual"],
                "classificationProbability": score.map(lambda v: "" if math.isnan(v) else f"{v:.6g}"),
                "observationComments": ("from " + source).where(source != "", ""),
            }
        ).reindex(columns=columns)


def _check_event(n: int, e: pd.Series, known: set[Any]) -> None:
    """Raise for event number ``n``, whose row failed a vectorised check: the first of its problems.

    Raises:
        CamtrapError: unknown deployment, kind outside Camtrap DP's observationType, sex or life stage outside
            its terms, a score outside 0-1 or a count below 1.
    """
    where = f"event {n} ({e['source']})" if e["source"] else f"event {n}"
    if e["deployment"] not in known:
        raise CamtrapError(f"{where} names deployment {e['deployment']!r}, which is not in the table")
    if e["kind"] not in KINDS:
        raise CamtrapError(f"{where} has kind {e['kind']!r}, not a Camtrap DP observationType {list(KINDS)}")
    if e["sex"] not in _SEXES or e["life_stage"] not in _STAGES:
        raise CamtrapError(f"{where} has sex {e['sex']!r} / life stage {e['life_stage']!r} outside Camtrap DP's terms")
    score = float(e["score"])
    if not math.isnan(score) and not 0 <= score <= 1:
        raise CamtrapError(f"{where} has score {score}, outside 0-1")
    raise CamtrapError(f"{where} has count {int(e['count'])}, below 1")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "camtrap-package"


def _package(
    table: DetectionTable,
    *,
    title: str,
    synthetic: bool,
    description: str,
    sampling_design: str,
    contributors: Sequence[Mapping[str, str]] | None,
) -> dict[str, Any]:
    src = table.metadata.get("package")
    source: dict[str, Any] = src if isinstance(src, dict) else {}
    origin = Path(str(table.metadata.get("source", ""))).name
    fmt = table.metadata.get("format", "")
    if not description:
        description = f"Imported by skywatch {__version__}" + (f" from {origin} ({fmt})" if origin else "") + "."
    if synthetic:
        title = title if "SYNTHETIC" in title else f"{title} (SYNTHETIC)"
        description = description if "SYNTHETIC" in description else f"SYNTHETIC data. {description}"
    individuals = bool((table.events["individual"] != "").any())
    project = dict(source.get("project") or {})
    project.setdefault("title", title)
    project.setdefault("samplingDesign", sampling_design)
    project.setdefault("captureMethod", ["activityDetection"])
    project["individualAnimals"] = individuals
    project["observationLevel"] = ["event"]
    if synthetic:
        project["description"] = f"SYNTHETIC. {project.get('description', '')}".strip()
    package: dict[str, Any] = {
        "profile": f"{CAMTRAP_DP_BASE}/camtrap-dp-profile.json",
        "name": _slug(title),
        "created": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
        "title": title,
        "description": description,
    }
    if synthetic:
        package["synthetic"] = True
    package["contributors"] = (
        [dict(c) for c in contributors]
        if contributors is not None
        else (source.get("contributors") or [{"title": "skywatch camtrap import", "role": "contributor"}])
    )
    if source.get("licenses"):
        package["licenses"] = source["licenses"]
    package["sources"] = [{"title": "skywatch", "version": __version__}]
    package["project"] = project
    package["spatial"] = _spatial(table.stations)
    package["temporal"] = _temporal(table.deployments)
    package["taxonomic"] = _taxonomic(table, source.get("taxonomic") or [])
    package["resources"] = [
        {
            "name": name,
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": f"{CAMTRAP_DP_BASE}/{name}-table-schema.json",
        }
        for name in _TABLES
    ]
    return package


def _spatial(stations: pd.DataFrame) -> dict[str, Any]:
    if stations.empty:
        raise CamtrapError("the table has no stations: a Camtrap DP package needs at least one deployment")
    lon, lat = stations["longitude"].astype(float), stations["latitude"].astype(float)
    west, east, south, north = (round(float(v), 6) for v in (lon.min(), lon.max(), lat.min(), lat.max()))
    if west == east and south == north:
        return {"type": "Point", "coordinates": [west, south]}
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _temporal(deployments: pd.DataFrame) -> dict[str, str]:
    return {"start": f"{deployments['start'].min():%Y-%m-%d}", "end": f"{deployments['end'].max():%Y-%m-%d}"}


def _taxonomic(table: DetectionTable, known: list[Any]) -> list[dict[str, Any]]:
    ev = table.events
    names = sorted(set(ev.loc[(ev["kind"] == "animal") & (ev["species"] != ""), "species"]))
    by_name = {t["scientificName"]: t for t in known if isinstance(t, dict) and "scientificName" in t}
    return [dict(by_name.get(name, {"scientificName": name})) for name in names]
