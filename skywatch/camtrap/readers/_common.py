"""Pieces every reader shares: column aliases, time parsing, the raise-or-skip policy, station matching.

Row numbers follow a spreadsheet user's count: in a CSV the header is row 1 and the first data row is row 2;
in a JSON file the row is the 1-based position in the array the reader walks (``images`` for MegaDetector,
``annotations`` for COCO).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from skywatch.camtrap.events import DEPLOYMENT_COLUMNS, EVENT_COLUMNS, KINDS, STATION_COLUMNS, Skipped
from skywatch.errors import CamtrapError

OnError = Literal["raise", "skip"]

SEXES = ("female", "male")
LIFE_STAGES = ("adult", "subadult", "juvenile")

_EXIF = re.compile(r"^(\d{4}):(\d{2}):(\d{2})([ T].*)$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](.*))?$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$")


class BadRow(Exception):  # noqa: N818 - a signal inside readers, never seen by users
    """One cell of one row is unusable; the reader turns it into a CamtrapError or a Skipped."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class RowPolicy:
    """Applies ``on_error``: raise a CamtrapError naming file, row and column, or record a Skipped."""

    def __init__(self, on_error: OnError) -> None:
        if on_error not in ("raise", "skip"):
            raise CamtrapError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.on_error = on_error
        self.skipped: list[Skipped] = []

    def bad(self, file: str, row: int, column: str, reason: str) -> None:
        """Handle one bad row."""
        item = Skipped(file=file, row=row, column=column, reason=reason)
        if self.on_error == "raise":
            raise CamtrapError(f"{item}; fix the row or pass on_error='skip' (--skip-bad-rows) to leave it out")
        self.skipped.append(item)


def norm(name: str) -> str:
    """Lower-case ``name`` without separators, so ``Setup_date`` and ``setup date`` compare equal."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def find_columns(columns: Iterable[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Map each canonical name to the first column of ``columns`` matching one of its aliases."""
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(norm(col), col)
    found = {}
    for canonical, names in aliases.items():
        for alias in names:
            if norm(alias) in by_norm:
                found[canonical] = by_norm[norm(alias)]
                break
    return found


def missing_column(file: str, columns: Sequence[str], wanted: str, aliases: Sequence[str] = ()) -> CamtrapError:
    """The error for a required column that is absent (reported at row 1, the header)."""
    also = f" (or one of {list(aliases)})" if aliases else ""
    return CamtrapError(
        f"{file} row 1 column {wanted!r}: required column is missing{also}; the header has {list(columns)}"
    )


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text cells ("" for empty), with readable errors.

    Raises:
        CamtrapError: the file is missing or not CSV.
    """
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=False)
    except FileNotFoundError as exc:
        raise CamtrapError(f"{str(path)!r} not found") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CamtrapError(f"{str(path)!r} is not a readable CSV file: {exc}") from exc


def parse_timezone(value: str | tzinfo | None) -> tzinfo | None:
    """A UTC offset (``+10:00``, ``-0330``, ``UTC``, ``Z``) or an IANA name (``Asia/Vladivostok``).

    Raises:
        CamtrapError: ``value`` is neither.
    """
    if value is None or isinstance(value, tzinfo):
        return value
    text = value.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    m = _OFFSET.match(text)
    if m:
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hours > 23 or minutes > 59:
            raise CamtrapError(f"time zone {value!r} is not a valid UTC offset (write e.g. +10:00)")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise CamtrapError(
            f"time zone {value!r} is neither a UTC offset like '+10:00' nor an IANA name like 'Asia/Vladivostok'"
        ) from None


def _naive_hint(text: str) -> str:
    return (
        f"time {text!r} has no time zone; write it with an offset (e.g. 2024-06-01T21:13:05+10:00) "
        "or pass a time zone (timezone='+10:00' or 'Asia/Vladivostok', --timezone)"
    )


def parse_time(
    text: str, tz: tzinfo | None, *, column: str, allow_date: bool = False, end_of_day: bool = False
) -> datetime:
    """Parse one timestamp into an aware UTC datetime.

    Accepts ISO 8601 (``2024-06-01T21:13:05+10:00``, ``...Z``, ``2024-06-01 21:13:05``), EXIF style
    (``2024:06:01 21:13:05``) and, with ``allow_date``, a date alone as ``2024-06-01`` or ``01/06/2024``
    (day first, as camtrapR station tables write it). A date alone means 00:00 local time, or 24:00 (the next
    midnight) with ``end_of_day``. Naive times take ``tz``; without it they are an error.

    Raises:
        BadRow: unreadable, a date where a time is needed, or naive without ``tz``.
    """
    s = text.strip()
    if not s:
        raise BadRow(column, "is empty")
    date_only = False
    m = _DMY.match(s)
    if m:
        day, month, year, rest = m.groups()
        s = f"{year}-{int(month):02d}-{int(day):02d}" + (f"T{rest}" if rest else "")
        date_only = rest is None
    else:
        m = _EXIF.match(s)
        if m:
            s = f"{m.group(1)}-{m.group(2)}-{m.group(3)}{m.group(4)}"
        date_only = len(s) == 10 and s[4] == "-"
    if date_only and not allow_date:
        raise BadRow(column, f"time {text!r} is a date without a time of day")
    try:
        value = datetime.fromisoformat(s)
    except ValueError:
        raise BadRow(column, f"{text!r} is not a date-time (write ISO 8601, e.g. 2024-06-01T21:13:05+10:00)") from None
    if date_only and end_of_day:
        value += timedelta(days=1)
    if value.tzinfo is None:
        if tz is None:
            raise BadRow(column, _naive_hint(text))
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def utc_series(values: Sequence[datetime]) -> pd.Series:
    """Aware datetimes as a ``datetime64[ns, UTC]`` series (also when empty)."""
    return pd.Series(pd.DatetimeIndex(list(values), tz="UTC") if values else pd.DatetimeIndex([], tz="UTC"))


def parse_float(text: str, *, column: str, lo: float, hi: float, what: str) -> float:
    """A number within [lo, hi].

    Raises:
        BadRow: not a number or out of range.
    """
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise BadRow(column, f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise BadRow(column, f"{what} {text!r} is outside [{lo:g}, {hi:g}]")
    return value


def choice(
    text: str, allowed: Sequence[str], *, column: str, what: str, aliases: Mapping[str, str] | None = None
) -> str:
    """``text`` normalised into one of ``allowed`` ("" stays "").

    Raises:
        BadRow: any other value.
    """
    s = text.strip()
    if not s:
        return ""
    key = s.lower()
    key = (aliases or {}).get(key, key)
    if key not in allowed:
        raise BadRow(column, f"{what} {text!r} is not one of {list(allowed)}")
    return key


SEX_ALIASES = {"f": "female", "m": "male", "unknown": "", "u": "", "na": ""}
STAGE_ALIASES = {
    "ad": "adult",
    "sub": "subadult",
    "sub-adult": "subadult",
    "juv": "juvenile",
    "cub": "juvenile",
    "unknown": "",
    "na": "",
}


def distance_m(lon1: float, lat1: float, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - math.radians(lon1)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6_371_008.8 * np.arcsin(np.sqrt(a)), dtype=float)


def nearest_station(stations: pd.DataFrame, lon: float, lat: float, *, max_distance_m: float, column: str) -> str:
    """The station within ``max_distance_m`` of (lon, lat), the closest one if several.

    Raises:
        BadRow: none is that close.
    """
    if stations.empty:
        raise BadRow(column, "the station table is empty")
    d = distance_m(lon, lat, stations["longitude"].to_numpy(float), stations["latitude"].to_numpy(float))
    i = int(np.argmin(d))
    if d[i] > max_distance_m:
        raise BadRow(
            column,
            f"no station within {max_distance_m:g} m of ({lon:.6f}, {lat:.6f}); the nearest, "
            f"{stations['station'].iloc[i]!r}, is {d[i]:.0f} m away (add the station or raise the tolerance)",
        )
    return str(stations["station"].iloc[i])


@dataclass(frozen=True)
class DeploymentIndex:
    """Finds the deployment that was running at a station at a time."""

    spans: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]]

    @classmethod
    def of(cls, deployments: pd.DataFrame) -> DeploymentIndex:
        """Index a deployments table (columns of :data:`DEPLOYMENT_COLUMNS`)."""
        spans: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]] = {}
        for dep, station, start, end in deployments[list(DEPLOYMENT_COLUMNS)].itertuples(index=False):
            spans.setdefault(str(station), []).append((str(dep), start, end))
        for items in spans.values():
            items.sort(key=lambda s: s[1])
        return cls(spans=spans)

    def find(self, station: str, when: datetime, *, station_column: str, time_column: str) -> str:
        """The deployment of ``station`` whose [start, end] holds ``when``.

        Raises:
            BadRow: unknown station (in ``station_column``) or no deployment running then (``time_column``).
        """
        items = self.spans.get(station)
        if items is None:
            known = sorted(self.spans)
            raise BadRow(
                station_column,
                f"station {station!r} is not in the station table (it has {known[:8]}{'...' * (len(known) > 8)})",
            )
        t = pd.Timestamp(when)
        for dep, start, end in items:
            if start <= t <= end:
                return dep
        periods = ", ".join(f"{s:%Y-%m-%d %H:%M}-{e:%Y-%m-%d %H:%M}" for _, s, e in items)
        raise BadRow(
            time_column,
            f"{t:%Y-%m-%d %H:%M:%S} UTC is outside every operating period of station {station!r} ({periods} UTC)",
        )


def stations_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """The ``stations`` table from dict rows."""
    if not rows:
        return pd.DataFrame(
            {"station": pd.Series(dtype=str), "longitude": pd.Series(dtype=float), "latitude": pd.Series(dtype=float)}
        )
    frame = pd.DataFrame(list(rows))[list(STATION_COLUMNS)]
    return frame.astype({"station": str, "longitude": float, "latitude": float})


def deployments_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """The ``deployments`` table from dict rows whose ``start``/``end`` are aware datetimes."""
    return pd.DataFrame(
        {
            "deployment": pd.Series([str(r["deployment"]) for r in rows], dtype=str),
            "station": pd.Series([str(r["station"]) for r in rows], dtype=str),
            "start": utc_series([r["start"] for r in rows]),  # type: ignore[misc]
            "end": utc_series([r["end"] for r in rows]),  # type: ignore[misc]
        }
    )


def events_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """The ``events`` table from dict rows (missing optional keys take their empty value)."""
    text = ("station", "deployment", "kind", "species", "individual", "sex", "life_stage", "behavior", "source")
    frame = pd.DataFrame({c: pd.Series([str(r.get(c, "")) for r in rows], dtype=str) for c in text})
    frame["timestamp"] = utc_series([r["timestamp"] for r in rows])  # type: ignore[misc]
    frame["score"] = pd.Series([r.get("score", math.nan) for r in rows], dtype=float)
    frame["count"] = pd.Series([r.get("count") for r in rows], dtype="Int64")
    bad = set(frame["kind"]) - set(KINDS)
    if bad:
        raise CamtrapError(f"internal: event kinds {sorted(bad)} are not Camtrap DP observation types {KINDS}")
    return frame[list(EVENT_COLUMNS)]


def source_label(path: Path, row: int) -> str:
    """``name:row``, the ``source`` of an event."""
    return f"{path.name}:{row}"


MOVED_M = 50.0  # two rows of one station further apart than this are two places: an error, not a silent pick


def same_place(first: tuple[float, float], other: tuple[float, float]) -> bool:
    """Whether two (lon, lat) positions of one station agree within :data:`MOVED_M` metres."""
    return bool(distance_m(first[0], first[1], np.array([other[0]]), np.array([other[1]]))[0] <= MOVED_M)
