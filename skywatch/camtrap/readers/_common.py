"""Pieces every reader shares: column aliases, time parsing, the raise-or-skip policy, station matching.

Row numbers follow a spreadsheet user's count: in a CSV the header is row 1 and the first data row is row 2;
in a JSON file the row is the 1-based position in the array the reader walks (``images`` for MegaDetector,
``annotations`` for COCO).
"""

from __future__ import annotations

import csv
import json
import math
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal
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
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT_COLUMNS = ("station", "deployment", "kind", "species", "individual", "sex", "life_stage", "behavior")
_NO_COUNT = -1
MAX_COUNT = 2**31 - 1  # the largest count an event may have
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


_CSV_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error, OverflowError)


def _csv_error(path: Path, exc: Exception) -> CamtrapError:
    text = str(exc).strip() or type(exc).__name__
    return CamtrapError(f"{str(path)!r} is not a readable CSV file: {text}")


def _open_csv(path: Path, **options: Any) -> Any:
    """``pd.read_csv(path, ...)`` with every cell as text, its errors as CamtrapError (a frame, or with
    ``chunksize`` a reader of frames).

    Raises:
        CamtrapError: the file is missing, a folder, unreadable or not CSV.
    """
    if "\x00" in str(path):
        raise CamtrapError(f"{str(path)!r} is not a usable file name (it holds a NUL character)")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=False, **options)
    except FileNotFoundError as exc:
        raise CamtrapError(f"{str(path)!r} not found") from exc
    except IsADirectoryError as exc:
        raise CamtrapError(f"{str(path)!r} is a folder, not a CSV file") from exc
    except OSError as exc:
        raise CamtrapError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from exc
    except _CSV_ERRORS as exc:
        raise _csv_error(path, exc) from exc


def _no_index(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` if pandas read every cell into a column; rows longer than the header make pandas turn their
    first cells into an index and shift every other cell one column to the right, which must not pass silently.

    Raises:
        CamtrapError: the rows have more cells than the header has names.
    """
    if not isinstance(frame.index, pd.RangeIndex):
        raise CamtrapError(
            f"{str(path)!r} row 2 has more cells than the header has column names ({len(frame.columns)}): "
            "add the missing names to the header, or remove the extra cells (a trailing comma?)"
        )
    return frame


def read_csv(path: Path) -> pd.DataFrame:
    """A small CSV (station and deployment tables) whole, as text cells ("" for empty), with readable errors.

    Raises:
        CamtrapError: the file is missing or not CSV.
    """
    frame: pd.DataFrame = _open_csv(path)
    return _no_index(path, frame)


CHUNK_ROWS = 20_000


class CsvRows:
    """A CSV read in chunks of ``chunk_rows`` rows, as text cells ("" for empty); use as a context manager.

    ``columns`` is the header; :meth:`rows` gives ``(row, record)`` with the row number a spreadsheet shows
    (the header is row 1) and a dict of the cells of the wanted columns. Only one chunk of text is held at a
    time, so memory does not grow with the file.

    Raises:
        CamtrapError: the file is missing, unreadable or not CSV.
    """

    def __init__(self, path: Path, *, chunk_rows: int = CHUNK_ROWS) -> None:
        self.path = path
        self._reader: Any = _open_csv(path, chunksize=chunk_rows)
        try:
            self._first: pd.DataFrame | None = self._next()
        except CamtrapError:
            self._reader.close()
            raise
        self.columns: list[str] = [str(c) for c in (self._first.columns if self._first is not None else [])]

    def __enter__(self) -> CsvRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self._reader.close()

    def _next(self) -> pd.DataFrame | None:
        try:
            chunk: pd.DataFrame | None = next(self._reader, None)
        except _CSV_ERRORS as exc:
            raise _csv_error(self.path, exc) from exc
        return None if chunk is None else _no_index(self.path, chunk)

    def rows(self, keep: Iterable[str] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
        """``(row number, {column: cell})`` for each data row, cells of the ``keep`` columns only if given.

        Raises:
            CamtrapError: the file turns out not to be CSV further down (bad quoting, encoding).
        """
        wanted = set(self.columns if keep is None else keep)
        picks = [(i, c) for i, c in enumerate(self.columns) if c in wanted]
        names = [c for _, c in picks]
        chunk, self._first = self._first, None
        row = 2
        while chunk is not None:
            cells = [chunk.iloc[:, i].to_numpy(dtype=object) for i, _ in picks]
            del chunk
            for values in zip(*cells, strict=True):
                yield row, dict(zip(names, values, strict=True))
                row += 1
            del cells
            chunk = self._next()


def load_json(path: Path) -> Any:
    """A small JSON file (a package descriptor, a COCO export) decoded whole, its errors as CamtrapError.

    Raises:
        CamtrapError: missing, unreadable, not UTF-8, not JSON, nested too deeply or holding a number Python
            refuses (an integer of more than 4300 digits).
    """
    if "\x00" in str(path):
        raise CamtrapError(f"{str(path)!r} is not a usable file name (it holds a NUL character)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CamtrapError(f"{str(path)!r} not found") from exc
    except OSError as exc:
        raise CamtrapError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from exc
    except RecursionError:
        raise CamtrapError(f"{str(path)!r} is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int_max_str_digits
        raise CamtrapError(f"{str(path)!r} is not valid JSON: {exc}") from exc


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
    if value.tzinfo is None:
        if tz is None:
            raise BadRow(column, _naive_hint(text))
        value = value.replace(tzinfo=tz)
    try:
        if date_only and end_of_day:
            value += timedelta(days=1)
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 as an end date, ...
        raise BadRow(column, f"time {text!r} is outside the years 1-9999 once in UTC") from None


def utc_series(values: Sequence[datetime]) -> pd.Series:
    """Aware datetimes as a ``datetime64[us, UTC]`` series (also when empty)."""
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


def parse_count(text: str, *, column: str) -> int:
    """A count of individuals: a whole number from 1 to :data:`MAX_COUNT`.

    Raises:
        BadRow: not a whole number, below 1, or implausibly large.
    """
    try:
        count = int(text)
    except ValueError:  # also more than 4300 digits
        raise BadRow(column, f"count {text[:40]!r} is not a whole number") from None
    if count < 1:
        raise BadRow(column, f"count {count} is below 1")
    if count > MAX_COUNT:
        raise BadRow(column, f"count {count} is too large (at most {MAX_COUNT})")
    return count


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


def _ns(value: datetime) -> int:
    """Nanoseconds since 1970 of an aware datetime or pd.Timestamp, exact (a Python int, any year)."""
    return ((value - _EPOCH) // _MICROSECOND) * 1000 + int(getattr(value, "nanosecond", 0))


@dataclass(frozen=True)
class DeploymentIndex:
    """Finds the deployment that was running at a station at a time."""

    spans: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]]
    _bounds: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, deployments: pd.DataFrame) -> DeploymentIndex:
        """Index a deployments table (columns of :data:`DEPLOYMENT_COLUMNS`)."""
        spans: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]] = {}
        for dep, station, start, end in deployments[list(DEPLOYMENT_COLUMNS)].itertuples(index=False):
            spans.setdefault(str(station), []).append((str(dep), start, end))
        for items in spans.values():
            items.sort(key=lambda s: s[1])
        bounds = {  # the same spans in integer nanoseconds, compared per row (50x faster than Timestamps)
            station: [(dep, _ns(a), _ns(b)) for dep, a, b in items if not (pd.isna(a) or pd.isna(b))]
            for station, items in spans.items()
        }
        return cls(spans=spans, _bounds=bounds)

    def find(self, station: str, when: datetime, *, station_column: str, time_column: str) -> str:
        """The deployment of ``station`` whose [start, end] holds ``when``.

        Raises:
            BadRow: unknown station (in ``station_column``) or no deployment running then (``time_column``).
        """
        items = self._bounds.get(station)
        if items is None:
            known = sorted(self.spans)
            raise BadRow(
                station_column,
                f"station {station!r} is not in the station table (it has {known[:8]}{'...' * (len(known) > 8)})",
            )
        t = _ns(when)
        for dep, start, end in items:
            if start <= t <= end:
                return dep
        periods = ", ".join(f"{s:%Y-%m-%d %H:%M}-{e:%Y-%m-%d %H:%M}" for _, s, e in self.spans[station])
        raise BadRow(
            time_column,
            f"{pd.Timestamp(when):%Y-%m-%d %H:%M:%S} UTC is outside every operating period of station {station!r} "
            f"({periods} UTC)",
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


class EventColumns:
    """Events gathered row by row into compact columns, so a table of 10^6 events is not 10^6 dicts.

    Text columns are kept as category codes (each distinct value stored once), times as int64 microseconds,
    scores as float64 and counts as int64; only ``source`` (unique per row) stays one string per event.
    :meth:`frame` turns them into the ``events`` table: categoricals (categories sorted, so sorting and
    grouping order is that of the text), ``datetime64[us, UTC]``, ``float64``, ``Int64`` and ``str``.
    """

    def __init__(self) -> None:
        self._codes = {c: array("i") for c in _TEXT_COLUMNS}
        self._index: dict[str, dict[str, int]] = {c: {} for c in _TEXT_COLUMNS}
        self._us = array("q")
        self._score = array("d")
        self._count = array("q")
        self._source: list[str] = []
        self._text = [(c, self._index[c], self._codes[c]) for c in _TEXT_COLUMNS]

    def __len__(self) -> int:
        return len(self._source)

    def add(self, event: Mapping[str, object]) -> None:
        """Append one event: a mapping with ``timestamp`` (aware datetime), ``kind`` and any of the other
        event columns (missing text is "", a missing ``score`` NaN, a missing ``count`` NA)."""
        kind = event.get("kind", "")
        if kind not in KINDS:
            raise CamtrapError(f"internal: event kind {kind!r} is not a Camtrap DP observation type {KINDS}")
        when = event["timestamp"]
        if not isinstance(when, datetime) or when.tzinfo is None:
            raise CamtrapError(f"internal: event time {when!r} is not an aware datetime")
        count = event.get("count")
        if count is not None and not (isinstance(count, int) and 0 <= count <= MAX_COUNT):
            raise CamtrapError(f"internal: event count {count!r} is not a whole number in 0-{MAX_COUNT}")
        for col, index, codes in self._text:
            value = event.get(col, "")
            text = value if isinstance(value, str) else str(value)
            code = index.get(text)
            if code is None:
                code = index[text] = len(index)
            codes.append(code)
        self._us.append((when - _EPOCH) // _MICROSECOND)
        score = event.get("score", math.nan)
        self._score.append(float(score) if isinstance(score, int | float) else math.nan)
        self._count.append(_NO_COUNT if count is None else count)
        self._source.append(str(event.get("source", "")))

    def frame(self, keep: np.ndarray | None = None) -> pd.DataFrame:
        """The ``events`` table, only the rows where the boolean array ``keep`` is true if given."""
        n = len(self)
        mask = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
        if mask.shape != (n,):
            raise CamtrapError(f"internal: keep mask has shape {mask.shape}, not ({n},)")
        cols: dict[str, object] = {}
        for col in _TEXT_COLUMNS:
            values = np.array(list(self._index[col]), dtype=object)
            codes = np.frombuffer(self._codes[col], dtype=np.int32)[mask] if n else np.zeros(0, np.int32)
            used = np.unique(codes)
            order = used[np.argsort(values[used], kind="stable")] if len(used) else used  # text order
            remap = np.full(len(values), -1, dtype=np.int32)
            remap[order] = np.arange(len(order), dtype=np.int32)
            categories = pd.Index(values[order].tolist(), dtype="str")
            cols[col] = pd.Categorical.from_codes(remap[codes], dtype=pd.CategoricalDtype(categories))
        us = np.frombuffer(self._us, dtype=np.int64)[mask] if n else np.zeros(0, np.int64)
        cols["timestamp"] = pd.DatetimeIndex(us.view("datetime64[us]")).tz_localize("UTC")
        cols["score"] = np.frombuffer(self._score, dtype=np.float64)[mask] if n else np.zeros(0)
        counts = np.frombuffer(self._count, dtype=np.int64)[mask] if n else np.zeros(0, np.int64)
        cols["count"] = pd.arrays.IntegerArray(counts.copy(), counts == _NO_COUNT)
        sources = self._source if keep is None else [s for s, k in zip(self._source, mask, strict=True) if k]
        cols["source"] = pd.array(sources, dtype="str")
        return pd.DataFrame(cols)[list(EVENT_COLUMNS)]


def source_label(path: Path, row: int) -> str:
    """``name:row``, the ``source`` of an event."""
    return f"{path.name}:{row}"


MOVED_M = 50.0  # two rows of one station further apart than this are two places: an error, not a silent pick


def same_place(first: tuple[float, float], other: tuple[float, float]) -> bool:
    """Whether two (lon, lat) positions of one station agree within :data:`MOVED_M` metres."""
    return bool(distance_m(first[0], first[1], np.array([other[0]]), np.array([other[1]]))[0] <= MOVED_M)
