"""Camera-trap readers: every source format into one :class:`~skywatch.camtrap.events.DetectionTable`.

- :func:`read_camtrap_dp_table`: Camtrap DP 1.0.x packages;
- :func:`read_megadetector`: MegaDetector batch output (format 1.x) + a station table;
- :func:`read_reid_csv`: plain re-ID CSVs and camtrapR record tables + a station table;
- :func:`read_coco`: Wildbook/COCO exports + a station table;
- :func:`read_stations`: station tables (also camtrapR camera tables with problem periods);
- :func:`read_detections`: any of these, the format detected from the file or folder.

Every reader takes ``on_error``: "raise" (default) stops at the first bad row with a
:class:`~skywatch.errors.CamtrapError` naming file, row and column; "skip" leaves the row out and records it
in ``DetectionTable.skipped``.

**Large inputs** stream: CSVs are read in chunks of 20,000 rows and MegaDetector output one image at a time,
and events are kept as compact columns (categorical text, ``datetime64[us, UTC]`` times, float64 scores) as
they arrive, so memory follows the events kept rather than the file's text (10^6 rows: about 0.3 GB for a
re-ID CSV or MegaDetector output, 0.5 GB for a Camtrap DP package, against 1.1-2.6 GB when the files were
read whole; see ``benchmarks/camtrap_scale.py``). COCO exports and station tables are read whole.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Literal

from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.readers._common import OnError, parse_timezone
from skywatch.camtrap.readers._jsonstream import JsonObjectStream
from skywatch.camtrap.readers.camtrapdp import read_camtrap_dp_table
from skywatch.camtrap.readers.coco import read_coco
from skywatch.camtrap.readers.megadetector import DEFAULT_MIN_CONF, read_megadetector
from skywatch.camtrap.readers.reid_csv import read_reid_csv
from skywatch.camtrap.readers.stations import StationTable, read_stations
from skywatch.errors import CamtrapError

__all__ = [
    "FORMATS",
    "Format",
    "OnError",
    "StationTable",
    "detect_format",
    "parse_timezone",
    "read_camtrap_dp_table",
    "read_coco",
    "read_detections",
    "read_megadetector",
    "read_reid_csv",
    "read_stations",
]

Format = Literal["camtrap-dp", "megadetector", "reid-csv", "coco"]
FORMATS: tuple[Format, ...] = ("camtrap-dp", "megadetector", "reid-csv", "coco")


def detect_format(src: Path) -> Format:
    """Guess the format of ``src``: a package folder or ``datapackage.json`` is Camtrap DP, a ``.csv`` is a
    re-ID CSV, a ``.json`` with ``detection_categories`` is MegaDetector output and one with ``annotations`` +
    ``categories`` is COCO.

    Raises:
        CamtrapError: ``src`` is none of these.
    """
    if src.is_dir():
        if (src / "datapackage.json").is_file() or (
            (src / "deployments.csv").is_file() and (src / "observations.csv").is_file()
        ):
            return "camtrap-dp"
        raise CamtrapError(f"{str(src)!r} is a folder without datapackage.json: not a Camtrap DP package")
    if not src.is_file():
        raise CamtrapError(f"{str(src)!r} not found")
    if src.name == "datapackage.json":
        return "camtrap-dp"
    suffix = src.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "reid-csv"
    if suffix == ".json":
        keys: set[str] = set()
        with JsonObjectStream(src) as doc:  # key by key: a 10^6-image file is not loaded to be recognised
            for key in doc.names():
                keys.add(key)
                if {"detection_categories", "images"} <= keys:
                    return "megadetector"
        if {"images", "annotations", "categories"} <= keys:
            return "coco"
        if "resources" in keys:
            return "camtrap-dp"
        raise CamtrapError(
            f"{str(src)!r} is neither MegaDetector output (detection_categories + images) nor COCO "
            "(images + annotations + categories); give the format explicitly"
        )
    raise CamtrapError(f"cannot tell the format of {str(src)!r} from its name; give the format explicitly")


def read_detections(
    src: Path,
    *,
    format: Format | Literal["auto"] = "auto",
    stations: StationTable | Path | None = None,
    epsg: int | None = None,
    timezone: str | tzinfo | None = None,
    min_conf: float = DEFAULT_MIN_CONF,
    station_pattern: str | None = None,
    max_distance_m: float = 100.0,
    on_error: OnError = "raise",
) -> DetectionTable:
    """Read ``src`` in ``format`` (detected with :func:`detect_format` when "auto").

    ``stations`` is needed by every format but Camtrap DP (which carries its deployments); ``min_conf`` and
    ``station_pattern`` apply to MegaDetector, ``max_distance_m`` to re-ID CSV and COCO GPS matching.

    Raises:
        CamtrapError: unknown format, a missing station table, or whatever the format's reader raises.
    """
    fmt = detect_format(src) if format == "auto" else format
    if fmt == "camtrap-dp":
        return read_camtrap_dp_table(src, on_error=on_error)
    if fmt not in FORMATS:
        raise CamtrapError(f"unknown format {fmt!r}; choose one of {list(FORMATS)}")
    if stations is None:
        raise CamtrapError(f"{fmt} input needs a station table (stations=..., --stations CSV)")
    if fmt == "megadetector":
        return read_megadetector(
            src,
            stations=stations,
            station_pattern=station_pattern,
            epsg=epsg,
            timezone=timezone,
            min_conf=min_conf,
            on_error=on_error,
        )
    if fmt == "reid-csv":
        return read_reid_csv(
            src, stations=stations, epsg=epsg, timezone=timezone, max_distance_m=max_distance_m, on_error=on_error
        )
    return read_coco(
        src, stations=stations, epsg=epsg, timezone=timezone, max_distance_m=max_distance_m, on_error=on_error
    )
