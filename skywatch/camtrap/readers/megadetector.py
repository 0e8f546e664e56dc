"""MegaDetector batch output (format 1.x) joined to a station table.

The format is the one described at https://lila.science/megadetector-output-format: ``info.format_version``,
``detection_categories`` (usually ``{"1": "animal", "2": "person", "3": "vehicle"}``), optional
``classification_categories``, and ``images[]`` with ``file``, ``detections[]`` (``category``, ``conf``,
``bbox``, optional ``classifications`` as ``[[category, conf], ...]`` in descending confidence) and
``failure`` for images that could not be processed.

- **Rows** are images: the row number is the image's 1-based position in ``images``; a bad image (failure,
  no station, no time, a malformed detection) is one bad row.
- **Station**: by default the first folder of ``file`` (``LL01/100RECNX/IMG_0001.JPG`` -> ``LL01``). Give
  ``station_pattern``, a regular expression with a named group ``station`` searched in ``file`` (forward
  slashes), for other layouts, e.g. ``r"cameras/(?P<station>[^/]+)/"``.
- **Time**: the image's ``datetime`` field (ISO 8601 or EXIF ``2024:06:01 21:13:05``; files that lack it need
  it added, e.g. from EXIF). Naive times need ``timezone``.
- **Threshold**: detections with ``conf >= min_conf`` become events. The default 0.2 is the
  ``typical_detection_threshold`` the format's example states for MDv5 (its ``conservative_detection_threshold``
  is 0.05); the format document advises checking your own data before trusting either.
- **Kind**: category ``animal`` -> animal, ``person``/``human`` -> human, ``vehicle`` -> vehicle; the format
  says other categories count as no detection. **Species** is the top classification's label when present
  (and ``score`` its confidence), else "" (and ``score`` the detection confidence).

Images with no detection above the threshold produce no event; they are counted in ``metadata``
(``images_blank``), as are detections below the threshold or of other categories.

**Memory**: the file is read as a stream (:mod:`skywatch.camtrap.readers._jsonstream`), one image at a time,
and events become compact columns as they arrive, so 10^6 images need no 10^6 Python objects at once. When
``images`` comes before ``info``/``detection_categories`` in the file (or ``classification_categories``
follows it), the file is read twice. A single image entry larger than 64 MiB of text is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any

import pandas as pd

from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.readers._common import (
    BadRow,
    DeploymentIndex,
    EventColumns,
    OnError,
    RowPolicy,
    parse_time,
    parse_timezone,
    source_label,
)
from skywatch.camtrap.readers._jsonstream import JsonObjectStream
from skywatch.camtrap.readers.stations import StationTable, station_table
from skywatch.errors import CamtrapError

__all__ = ["DEFAULT_MIN_CONF", "read_megadetector"]

DEFAULT_MIN_CONF = 0.2
_KIND = {"animal": "animal", "animals": "animal", "person": "human", "human": "human", "vehicle": "vehicle"}


def read_megadetector(
    path: Path,
    *,
    stations: StationTable | Path,
    station_pattern: str | None = None,
    epsg: int | None = None,
    timezone: str | tzinfo | None = None,
    min_conf: float = DEFAULT_MIN_CONF,
    on_error: OnError = "raise",
) -> DetectionTable:
    """Read a MegaDetector batch output file (see the module docstring for the rules).

    Args:
        path: the ``.json`` results file.
        stations: a :class:`StationTable` or the path of a station table CSV.
        station_pattern: regular expression with a named group ``station``, searched in each image's ``file``;
            default: the first path component is the station.
        epsg: CRS of projected station coordinates (station table CSV only).
        timezone: applied to naive image times (and station table dates).
        min_conf: smallest detection confidence kept, 0-1.
        on_error: "raise" stops at the first bad image; "skip" leaves it out and records it in ``skipped``.

    Raises:
        CamtrapError: not a MegaDetector 1.x file, a bad pattern or threshold, or a bad image (naming file,
            row and field) with ``on_error="raise"``.
    """
    file = str(path)
    if not 0.0 <= min_conf <= 1.0:
        raise CamtrapError(f"min_conf {min_conf} is outside 0-1")
    pattern = _pattern(station_pattern)
    tz = parse_timezone(timezone)
    read: _Images | None = None
    meta: dict[str, Any] = {}
    with JsonObjectStream(path) as doc:
        for key in doc.names():
            if key != "images":
                meta[key] = doc.value()
                continue
            if "images" in meta:
                raise CamtrapError(f"{file!r} has two 'images' lists; keep one")
            if not doc.is_array():
                break  # reported below, as for a file without images
            meta["images"] = True
            if {"info", "detection_categories"} <= meta.keys():  # the usual order: the header first, one pass
                read = _Images(path, _header(path, meta), pattern, tz, min_conf)
                read.walk(doc.elements(), stations, epsg=epsg, timezone=timezone, on_error=on_error)
    header = _header(path, meta)
    if read is None or read.header != header:  # images came before the header (or it changed after them)
        read = _Images(path, header, pattern, tz, min_conf)
        with JsonObjectStream(path) as doc:
            for key in doc.names():
                if key == "images":
                    read.walk(doc.elements(), stations, epsg=epsg, timezone=timezone, on_error=on_error)
    info = header["info"]
    return DetectionTable(
        stations=read.table.stations,
        deployments=read.table.deployments,
        events=read.events.frame(),
        skipped=[*read.table.skipped, *read.policy.skipped],
        metadata={
            "format": "megadetector",
            "source": file,
            "stations_source": read.table.source,
            "format_version": info.get("format_version"),
            "detector": info.get("detector"),
            "min_conf": min_conf,
            **read.counts,
        },
    )


class _Images:
    """Reads the ``images`` array one image at a time into compact event columns."""

    def __init__(
        self,
        path: Path,
        header: dict[str, Any],
        pattern: re.Pattern[str] | None,
        tz: tzinfo | None,
        min_conf: float,
    ) -> None:
        self.path = path
        self.header = header
        self.pattern = pattern
        self.tz = tz
        self.min_conf = min_conf
        self.events = EventColumns()
        self.counts = {"images": 0, "images_blank": 0, "detections_below_threshold": 0, "detections_other_category": 0}
        self.table = StationTable(stations=pd.DataFrame(), deployments=pd.DataFrame())
        self.policy = RowPolicy("raise")

    def walk(
        self,
        images: Iterator[Any],
        stations: StationTable | Path,
        *,
        epsg: int | None,
        timezone: str | tzinfo | None,
        on_error: OnError,
    ) -> None:
        """Read the station table, then every image of ``images``.

        Raises:
            CamtrapError: a bad station table, or a bad image with ``on_error="raise"``.
        """
        self.table = station_table(stations, epsg=epsg, timezone=timezone, on_error=on_error)
        self.policy = RowPolicy(on_error)
        index = DeploymentIndex.of(self.table.deployments)
        categories, classes = self.header["detection_categories"], self.header["classification_categories"]
        file = str(self.path)
        for i, image in enumerate(images):
            row = i + 1
            self.counts["images"] = row
            try:
                for event in _image(
                    image,
                    categories,
                    classes,
                    self.min_conf,
                    self.pattern,
                    self.tz,
                    index,
                    self.counts,
                    source_label(self.path, row),
                ):
                    self.events.add(event)
            except BadRow as bad:
                self.policy.bad(file, row, bad.column, bad.reason)


def _pattern(station_pattern: str | None) -> re.Pattern[str] | None:
    if station_pattern is None:
        return None
    try:
        pattern = re.compile(station_pattern)
    except re.error as exc:
        raise CamtrapError(f"station pattern {station_pattern!r} is not a regular expression: {exc}") from exc
    if "station" not in pattern.groupindex:
        raise CamtrapError(
            f"station pattern {station_pattern!r} needs a named group 'station', e.g. r'^(?P<station>[^/]+)/'"
        )
    return pattern


def _header(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The checked top-level fields (everything but ``images``): ``info``, ``detection_categories`` and
    ``classification_categories`` with text keys and values.

    Raises:
        CamtrapError: no ``images`` list, no ``detection_categories`` object, or a format version other than 1.x.
    """
    if meta.get("images") is not True:
        raise CamtrapError(f"{str(path)!r} is not MegaDetector batch output: it has no 'images' list")
    if not isinstance(meta.get("detection_categories"), dict):
        raise CamtrapError(f"{str(path)!r} is not MegaDetector batch output: it has no 'detection_categories'")
    info = meta.get("info")
    info = info if isinstance(info, dict) else {}
    version = str(info.get("format_version", ""))
    if not re.fullmatch(r"1(\.\d+)*", version):
        raise CamtrapError(
            f"{str(path)!r} has info.format_version {version or None!r}; only MegaDetector output format 1.x is read"
        )
    classes = meta.get("classification_categories") or {}
    if not isinstance(classes, dict):
        raise CamtrapError(f"{str(path)!r} has 'classification_categories' that is not an object")
    return {
        "info": info,
        "detection_categories": {str(k): str(v) for k, v in meta["detection_categories"].items()},
        "classification_categories": {str(k): str(v) for k, v in classes.items()},
    }


def station_of(file: str, pattern: re.Pattern[str] | None) -> str:
    """The station of an image path: the ``station`` group of ``pattern``, or the first folder.

    Raises:
        BadRow: no station can be read from ``file`` (column "file").
    """
    name = file.replace("\\", "/")
    if pattern is not None:
        m = pattern.search(name)
        if not m or not m.group("station"):
            raise BadRow("file", f"station pattern {pattern.pattern!r} does not match {file!r}")
        return m.group("station")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if len(parts) < 2:
        raise BadRow("file", f"{file!r} has no folder to name its station (give a station pattern)")
    return parts[0]


def _image(
    image: Any,
    categories: dict[str, str],
    classes: dict[str, str],
    min_conf: float,
    pattern: re.Pattern[str] | None,
    tz: tzinfo | None,
    index: DeploymentIndex,
    counts: dict[str, int],
    source: str,
) -> list[dict[str, object]]:
    if not isinstance(image, dict) or not isinstance(image.get("file"), str) or not image["file"]:
        raise BadRow("file", "image entry has no 'file'")
    file = image["file"]
    if image.get("failure"):
        raise BadRow("failure", f"MegaDetector could not process {file!r}: {image['failure']}")
    detections = image.get("detections")
    if not isinstance(detections, list):
        raise BadRow("detections", f"{file!r} has no 'detections' list and no 'failure'")
    kept = []
    for j, det in enumerate(detections):
        where = f"detections[{j}]"
        if not isinstance(det, dict):
            raise BadRow(where, "detection is not an object")
        conf = det.get("conf")
        if not isinstance(conf, int | float) or not 0.0 <= conf <= 1.0:
            raise BadRow(f"{where}.conf", f"conf {conf!r} is not a number in 0-1")
        kind = _KIND.get(categories.get(str(det.get("category")), "").lower())
        if kind is None:
            counts["detections_other_category"] += 1
        elif conf < min_conf:
            counts["detections_below_threshold"] += 1
        else:
            kept.append((j, det, kind, float(conf)))
    if not kept:
        counts["images_blank"] += 1
        return []
    station = station_of(file, pattern)
    if image.get("datetime") in (None, ""):
        raise BadRow("datetime", f"{file!r} has no 'datetime' (add capture times, e.g. from EXIF)")
    when = parse_time(str(image["datetime"]), tz, column="datetime")
    deployment = index.find(station, when, station_column="file", time_column="datetime")
    events = []
    for j, det, kind, conf in kept:
        species, score = "", conf
        if kind == "animal" and det.get("classifications"):
            species, score = _top_class(det["classifications"], classes, f"detections[{j}].classifications")
        events.append(
            {
                "station": station,
                "deployment": deployment,
                "timestamp": when,
                "kind": kind,
                "species": species,
                "score": score,
                "count": 1,
                "source": source,
            }
        )
    return events


def _top_class(classifications: Any, classes: dict[str, str], where: str) -> tuple[str, float]:
    try:
        best = max(((str(c), float(p)) for c, p in classifications), key=lambda cp: cp[1])
    except (TypeError, ValueError, OverflowError):
        raise BadRow(where, f"classifications {classifications!r} are not [category, confidence] pairs") from None
    if best[0] not in classes:
        raise BadRow(where, f"classification category {best[0]!r} is not in classification_categories")
    if not (math.isfinite(best[1]) and 0.0 <= best[1] <= 1.0):
        raise BadRow(where, f"classification confidence {best[1]!r} is not in 0-1")
    return classes[best[0]], best[1]
