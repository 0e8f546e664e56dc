"""Sampling effort and the statistics built on it, from a :class:`~skywatch.camtrap.events.DetectionTable`.

Every function here is pure: a table (or an events frame) in, a DataFrame or a number out. Conventions:

- **Effort** of a station is the length of the *union* of its deployment spans, in days. A camera that stopped
  and restarted is two deployments (Camtrap DP records interruptions that way), so the malfunction gap is not
  counted; two cameras running at the same time at one station count once (the station is the sampling unit,
  camtrapR's ``cameraOperation`` with ``camerasIndependent = FALSE``). Without overlaps this is the plain sum of
  deployment spans.
- **Occasions** are consecutive windows of ``occasion_days`` days; occasion ``k`` (0-based) covers
  ``[start + k * occasion_days, start + (k + 1) * occasion_days)``. ``start`` defaults to the earliest deployment
  start floored to midnight **UTC**; pass a tz-aware ``start`` (e.g. ``"2025-06-01T12:00+10:00"``) to align
  occasions with local days or noons. ``n_occasions`` defaults to as many as reach the last deployment end.
- **Independence** (REFERENCE.md): a detection opens a new event when it is at least ``gap_minutes`` after the
  previous one of the same group (station and species by default). camtrapR's record tables call this
  ``minDeltaTime`` and offer two references in ``deltaTimeComparedTo``: ``"lastIndependentRecord"`` (the
  default here, ``compare_to="last_independent"``: a long visit with frequent triggers yields one event every
  ``gap_minutes``) and ``"lastRecord"`` (``compare_to="last_record"``: a visit is one event until a pause of
  ``gap_minutes``). Exactly ``gap_minutes`` apart is independent.
- **Relative abundance index** RAI = 100 x independent events / trap-days; **naive occupancy** = stations with
  at least one detection / stations that operated (trap-days > 0).
- **Events outside effort**: a detection whose timestamp lies outside every deployment span of its station
  (ends inclusive) cannot be set against effort. The statistics raise :class:`~skywatch.errors.CamtrapError`
  naming the event's ``source``; :func:`within_effort` with ``on_error="skip"`` moves such events into the
  table's ``skipped`` list instead, so they are reported, never dropped silently. Only the events a function
  uses are checked (a leopard summary is not stopped by a mistimed wild-boar record).
- **Individuals**: capture histories use identified events only (``individual != ""``) and leave out dependent
  young (``life_stage`` "juvenile" by default), which travel with their mother and are not independent
  detections.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from skywatch.camtrap.events import DetectionTable, Skipped
from skywatch.errors import CamtrapError

__all__ = [
    "TOTAL",
    "CompareTo",
    "OnError",
    "capture_counts",
    "capture_histories",
    "detection_history",
    "identified_events",
    "independent_events",
    "individual_sex",
    "naive_occupancy",
    "occasions",
    "operation_matrix",
    "relative_abundance",
    "trap_days",
    "within_effort",
]

TOTAL = "(all stations)"
"""The ``station`` value of the per-species total rows of :func:`relative_abundance`."""

CompareTo = Literal["last_independent", "last_record"]
OnError = Literal["raise", "skip"]

_NS_PER_DAY = 86_400 * 10**9
_DEPENDENT_YOUNG = ("juvenile",)
_SOURCE_ROW = re.compile(r"^(?P<file>.*?)(?:\s+(?:row|line)\s+|:)(?P<row>\d+)$")


# -- effort ------------------------------------------------------------------------------------------------------


def trap_days(table: DetectionTable, *, by: Literal["station", "deployment"] = "station") -> pd.DataFrame:
    """Trap-days per station (default) or per deployment.

    Args:
        table: Stations, deployments and events.
        by: ``"station"``: one row per station (every station of the stations or deployments table, sorted), with
            ``deployments`` (count), ``start`` (first start), ``end`` (last end), ``trap_days`` (length of the
            union of its deployment spans) and ``gap_days`` (days between first start and last end when no camera
            ran, e.g. a malfunction). ``"deployment"``: one row per deployment with ``deployment``, ``station``,
            ``start``, ``end`` and ``trap_days`` = (end - start) in days.

    Raises:
        CamtrapError: a deployment without dates or ending before it starts, or an unknown ``by``.
    """
    dep = table.deployments
    spans = _station_spans(dep)
    if by == "deployment":
        days = (_ns(dep["end"]) - _ns(dep["start"])) / _NS_PER_DAY
        out = dep[["deployment", "station", "start", "end"]].assign(trap_days=days)
        return out.sort_values(["station", "start", "deployment"], kind="stable").reset_index(drop=True)
    if by != "station":
        raise CamtrapError(f"trap_days: by={by!r} is not one of 'station', 'deployment'")
    stations = _all_stations(table)
    counts = dep.groupby("station").size()
    first = dep.groupby("station")["start"].min()
    last = dep.groupby("station")["end"].max()
    days = np.array([_span_days(spans.get(s)) for s in stations])
    out = pd.DataFrame(
        {
            "station": stations,
            "deployments": counts.reindex(stations, fill_value=0).to_numpy().astype(int),
            "start": first.reindex(stations).to_numpy(),
            "end": last.reindex(stations).to_numpy(),
            "trap_days": days,
        }
    )
    span = (out["end"] - out["start"]) / pd.Timedelta(days=1)
    out["gap_days"] = (span - out["trap_days"]).fillna(0.0).clip(lower=0.0)
    return out


def occasions(
    table: DetectionTable,
    *,
    start: pd.Timestamp | str | None = None,
    occasion_days: float = 1.0,
    n_occasions: int | None = None,
) -> pd.DataFrame:
    """The sampling occasions: ``occasion`` (0-based), ``start`` and ``end`` (UTC, end exclusive).

    See the module docstring for the defaults of ``start`` and ``n_occasions``.

    Raises:
        CamtrapError: ``start`` without a time zone, ``occasion_days`` or ``n_occasions`` not positive, no
            deployments, or ``start`` after every deployment end.
    """
    t0, length, n = _occasion_grid(table, start, occasion_days, n_occasions)
    starts = t0 + length * np.arange(n, dtype=np.int64)
    return pd.DataFrame(
        {
            "occasion": np.arange(n),
            "start": pd.to_datetime(starts, unit="ns", utc=True),
            "end": pd.to_datetime(starts + length, unit="ns", utc=True),
        }
    )


def operation_matrix(
    table: DetectionTable,
    *,
    start: pd.Timestamp | str | None = None,
    occasion_days: float = 1.0,
    n_occasions: int | None = None,
) -> pd.DataFrame:
    """Station x occasion: the fraction (0-1) of each occasion during which the station had a camera running.

    The idea of camtrapR's ``cameraOperation``, as fractions rather than 0/1 so partial days count as partial
    effort. Index ``station`` (every station, sorted), columns ``occasion`` 0..n-1; occasions as in
    :func:`occasions`.

    Raises:
        CamtrapError: as :func:`occasions` and :func:`trap_days`.
    """
    t0, length, n = _occasion_grid(table, start, occasion_days, n_occasions)
    return _operation(table, t0, length, n)


# -- events ------------------------------------------------------------------------------------------------------


def within_effort(table: DetectionTable, *, on_error: OnError = "raise") -> DetectionTable:
    """Check that every event falls inside a deployment span of its station (ends inclusive).

    Args:
        table: The table to check.
        on_error: ``"raise"``: raise on the first offending events. ``"skip"``: return a table without them, each
            added to ``skipped`` with its source and the reason.

    Returns:
        ``table`` itself when every event is inside effort, else the table without the offending events.

    Raises:
        CamtrapError: with ``on_error="raise"``, naming the offending events' ``source``; or an unknown
            ``on_error``.
    """
    if on_error not in ("raise", "skip"):
        raise CamtrapError(f"on_error={on_error!r} is not one of 'raise', 'skip'")
    ev = table.events
    outside = _outside_effort(ev, _station_spans(table.deployments))
    if not outside.any():
        return table
    if on_error == "raise":
        raise CamtrapError(_outside_message(ev[outside]))
    extra = [_skipped(row) for row in ev[outside].itertuples(index=False)]
    return dataclasses.replace(table, events=ev[~outside], skipped=[*table.skipped, *extra])


def independent_events(
    events: pd.DataFrame,
    *,
    gap_minutes: float = 30.0,
    by: Sequence[str] = ("station", "species"),
    compare_to: CompareTo = "last_independent",
) -> pd.DataFrame:
    """Thin detections to independent events within each ``by`` group.

    A detection starts a new event when it is at least ``gap_minutes`` after the last *independent* detection
    of its group (``compare_to="last_independent"``, camtrapR ``deltaTimeComparedTo = "lastIndependentRecord"``)
    or after the previous detection of any kind in its group (``"last_record"``, camtrapR ``"lastRecord"``).
    Rows are used as given: filter by ``kind``/``species`` first (e.g. ``table.species(name)``). Use
    ``by=("station", "species", "individual")`` for events per individual (unidentified rows, individual "",
    then form one group per station and species).

    Args:
        events: Rows with a tz-aware ``timestamp`` and the ``by`` columns.
        gap_minutes: Minimum time between independent events, in minutes (>= 0).
        by: Columns that define a group.
        compare_to: ``"last_independent"`` (default) or ``"last_record"``.

    Returns:
        The first row of each event (original index kept), sorted by ``by`` and time, with a column ``records``:
        how many rows the event gathers.

    Raises:
        CamtrapError: a missing column, a negative gap or an unknown ``compare_to``.
    """
    group = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*group, "timestamp"] if c not in events.columns]
    if missing:
        raise CamtrapError(f"independent_events: events lack column(s) {missing}")
    if not gap_minutes >= 0:
        raise CamtrapError(f"independent_events: gap_minutes={gap_minutes} must be >= 0")
    if compare_to not in ("last_independent", "last_record"):
        raise CamtrapError(f"compare_to={compare_to!r} is not one of 'last_independent', 'last_record'")
    ev = events.sort_values([*group, "timestamp"], kind="stable")
    if ev.empty:
        return ev.assign(records=pd.Series(dtype="int64"))
    t = _ns(ev["timestamp"])
    keys = ev.groupby(group, sort=False, dropna=False).ngroup().to_numpy()
    first = np.r_[True, keys[1:] != keys[:-1]]
    gap = round(gap_minutes * 60e9)
    if compare_to == "last_record":
        kept = first | (np.diff(t, prepend=t[0]) >= gap)
    else:
        kept = np.zeros(len(t), dtype=bool)
        last = 0
        for i in range(len(t)):
            if first[i] or t[i] - last >= gap:
                kept[i] = True
                last = int(t[i])
    records = np.bincount(np.cumsum(kept) - 1)
    return ev[kept].assign(records=records.astype("int64"))


def identified_events(
    table: DetectionTable, species: str, *, exclude_life_stages: Iterable[str] = _DEPENDENT_YOUNG
) -> pd.DataFrame:
    """Animal events of ``species`` with an individual ID, without the ``exclude_life_stages`` (case-insensitive)."""
    ev = table.species(species)
    drop = {s.lower() for s in exclude_life_stages}
    stage = ev["life_stage"].fillna("").astype(str).str.lower()
    return ev[(ev["individual"].fillna("").astype(str) != "") & ~stage.isin(drop)]


def individual_sex(events: pd.DataFrame) -> pd.Series:
    """Sex of each individual (index ``individual``): its most frequent non-empty ``sex``, lower case, else "".

    Ties go to the alphabetically first value; conflicting records are a data problem worth checking.
    """
    ids = sorted(set(events["individual"].astype(str)) - {""})
    sex = events.assign(sex=events["sex"].fillna("").astype(str).str.strip().str.lower())
    sex = sex[(sex["sex"] != "") & (sex["individual"] != "")]
    counts = sex.groupby(["individual", "sex"]).size().reset_index(name="n")
    best = counts.sort_values(["individual", "n", "sex"], ascending=[True, False, True]).drop_duplicates("individual")
    return best.set_index("individual")["sex"].reindex(ids, fill_value="").rename_axis("individual")


# -- statistics --------------------------------------------------------------------------------------------------


def relative_abundance(
    table: DetectionTable,
    species: str | Iterable[str] | None = None,
    *,
    gap_minutes: float = 30.0,
    compare_to: CompareTo = "last_independent",
) -> pd.DataFrame:
    """Independent events and RAI per station and species, plus a total row per species.

    Args:
        table: Stations, deployments and events.
        species: One name, several, or ``None`` for every animal species with a name in the events.
        gap_minutes: Independence interval (see :func:`independent_events`).
        compare_to: Independence reference (see :func:`independent_events`).

    Returns:
        Columns ``station``, ``species``, ``trap_days``, ``events``, ``rai`` (100 x events / trap-days, NaN
        where trap-days is 0): every station x species, sorted by species then station, each species followed by
        a row with ``station`` = :data:`TOTAL` holding its summed events and trap-days.

    Raises:
        CamtrapError: events of these species outside effort (see :func:`within_effort`), bad arguments.
    """
    ev = table.events[table.events["kind"] == "animal"]
    if species is None:
        names = sorted(set(ev["species"].astype(str)) - {""})
    else:
        names = [species] if isinstance(species, str) else list(dict.fromkeys(species))
    ev = ev[ev["species"].isin(names)]
    _require_in_effort(ev, table)
    td = trap_days(table)
    counts = independent_events(ev, gap_minutes=gap_minutes, compare_to=compare_to).groupby(["species", "station"])
    index = pd.MultiIndex.from_product([names, td["station"]], names=["species", "station"])
    n = counts.size().reindex(index, fill_value=0).to_numpy().astype(int)
    out = pd.DataFrame(
        {
            "station": np.tile(td["station"].to_numpy(), len(names)),
            "species": np.repeat(names, len(td)),
            "trap_days": np.tile(td["trap_days"].to_numpy(), len(names)),
            "events": n,
        }
    )
    totals = out.groupby("species", sort=False)[["trap_days", "events"]].sum().reset_index().assign(station=TOTAL)
    out = pd.concat([out, totals[out.columns]], ignore_index=True)
    order = {name: i for i, name in enumerate(names)}
    out = out.assign(_s=out["species"].map(order), _t=out["station"] == TOTAL)
    out = out.sort_values(["_s", "_t"], kind="stable").drop(columns=["_s", "_t"]).reset_index(drop=True)
    out["events"] = out["events"].astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rai"] = np.where(out["trap_days"] > 0, 100.0 * out["events"] / out["trap_days"], np.nan)
    return out


def naive_occupancy(table: DetectionTable, species: str) -> float:
    """Stations with at least one animal event of ``species`` / stations that operated (trap-days > 0).

    Raises:
        CamtrapError: no station operated, or events of ``species`` outside effort.
    """
    ev = table.species(species)
    _require_in_effort(ev, table)
    td = trap_days(table)
    operating = set(td.loc[td["trap_days"] > 0, "station"])
    if not operating:
        raise CamtrapError("naive occupancy: no station has any trap-days (check deploymentStart/deploymentEnd)")
    return len(operating & set(ev["station"])) / len(operating)


def detection_history(
    table: DetectionTable,
    species: str,
    *,
    occasion_days: float,
    start: pd.Timestamp | str | None = None,
    n_occasions: int | None = None,
) -> pd.DataFrame:
    """Station x occasion detection history of ``species`` for occupancy models.

    Values are floats: 1.0 detected, 0.0 operating (operation fraction > 0) but not detected, NaN when no camera
    ran during the whole occasion. Index and columns match :func:`operation_matrix` called with the same
    ``start``, ``occasion_days`` and ``n_occasions``, which is the effort to pass alongside (e.g. as an
    observation covariate). Detections before the first or after the last occasion are outside the history.

    Raises:
        CamtrapError: as :func:`operation_matrix`, or events of ``species`` outside effort.
    """
    t0, length, n = _occasion_grid(table, start, occasion_days, n_occasions)
    effort = _operation(table, t0, length, n)
    ev = table.species(species)
    _require_in_effort(ev, table)
    hist = np.where(effort.to_numpy() > 0, 0.0, np.nan)
    k = (_ns(ev["timestamp"]) - t0) // length
    inside = (k >= 0) & (k < n)
    rows = effort.index.get_indexer(ev["station"].to_numpy()[inside])
    hist[rows, k[inside]] = 1.0
    return pd.DataFrame(hist, index=effort.index, columns=effort.columns)


def capture_histories(
    table: DetectionTable,
    species: str,
    *,
    occasion_days: float,
    start: pd.Timestamp | str | None = None,
    n_occasions: int | None = None,
    exclude_life_stages: Iterable[str] = _DEPENDENT_YOUNG,
) -> pd.DataFrame:
    """Capture histories of identified individuals of ``species`` for spatial capture-recapture (long format).

    Proximity-detector style: at most one row per individual x occasion x station, however often the animal was
    photographed there in that occasion. Unidentified events and ``exclude_life_stages`` are left out.

    Returns:
        Columns ``individual``, ``occasion`` (0-based int), ``station``, ``timestamp`` (first detection in the
        cell) and ``detections`` (rows gathered), sorted by individual, occasion and time.

    Raises:
        CamtrapError: as :func:`operation_matrix`, or such events outside effort.
    """
    t0, length, n = _occasion_grid(table, start, occasion_days, n_occasions)
    ev = identified_events(table, species, exclude_life_stages=exclude_life_stages)
    _require_in_effort(ev, table)
    k = (_ns(ev["timestamp"]) - t0) // length
    inside = (k >= 0) & (k < n)
    cells = pd.DataFrame(
        {
            "individual": ev["individual"].to_numpy()[inside],
            "occasion": k[inside].astype("int64"),
            "station": ev["station"].to_numpy()[inside],
            "timestamp": ev["timestamp"].to_numpy()[inside],
        }
    )
    cells["timestamp"] = pd.to_datetime(cells["timestamp"], utc=True)
    out = cells.groupby(["individual", "occasion", "station"], as_index=False).agg(
        timestamp=("timestamp", "min"), detections=("timestamp", "size")
    )
    out["detections"] = out["detections"].astype("int64")
    return out.sort_values(["individual", "occasion", "timestamp", "station"]).reset_index(drop=True)


def capture_counts(
    table: DetectionTable,
    species: str,
    *,
    occasion_days: float,
    start: pd.Timestamp | str | None = None,
    n_occasions: int | None = None,
    exclude_life_stages: Iterable[str] = _DEPENDENT_YOUNG,
) -> pd.DataFrame:
    """Per individual: ``sex``, ``detections`` (events), ``captures`` (capture-history rows), ``stations`` and
    ``occasions`` (distinct), ``first`` and ``last`` detection; from :func:`capture_histories` (same arguments).

    Raises:
        CamtrapError: as :func:`capture_histories`.
    """
    caps = capture_histories(
        table,
        species,
        occasion_days=occasion_days,
        start=start,
        n_occasions=n_occasions,
        exclude_life_stages=exclude_life_stages,
    )
    out = caps.groupby("individual").agg(
        detections=("detections", "sum"),
        captures=("station", "size"),
        stations=("station", "nunique"),
        occasions=("occasion", "nunique"),
        first=("timestamp", "min"),
        last=("timestamp", "max"),
    )
    sex = individual_sex(identified_events(table, species, exclude_life_stages=exclude_life_stages))
    out.insert(0, "sex", sex.reindex(out.index, fill_value="").to_numpy())
    for col in ("detections", "captures", "stations", "occasions"):
        out[col] = out[col].astype("int64")
    return out.reset_index()


# -- Camtrap DP adapter ------------------------------------------------------------------------------------------


def _whole(text: pd.Series) -> pd.Series:
    """Whole numbers as nullable ``Int64`` (<NA> where empty or not a whole number)."""
    values = pd.to_numeric(text, errors="coerce")
    return values.where(values == values.round()).astype("Int64").reset_index(drop=True)


def _ns(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Nanoseconds since the epoch (int64) of tz-aware timestamps."""
    return np.asarray(pd.DatetimeIndex(values).as_unit("ns").asi8, dtype=np.int64)


def _all_stations(table: DetectionTable) -> list[str]:
    return sorted(set(table.stations["station"].astype(str)) | set(table.deployments["station"].astype(str)))


def _station_spans(deployments: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per station, the union of its deployment spans as sorted, disjoint (start, end) ns rows."""
    if deployments["start"].isna().any() or deployments["end"].isna().any():
        bad = deployments[deployments["start"].isna() | deployments["end"].isna()]["deployment"].tolist()
        raise CamtrapError(f"deployment(s) {bad[:5]} lack a start or end: effort needs both dates")
    start, end = _ns(deployments["start"]), _ns(deployments["end"])
    if (end < start).any():
        i = int(np.flatnonzero(end < start)[0])
        row = deployments.iloc[i]
        raise CamtrapError(
            f"deployment {row['deployment']!r} ends ({row['end']}) before it starts ({row['start']}): "
            "fix deploymentStart/deploymentEnd"
        )
    station = deployments["station"].astype(str).to_numpy()
    spans: dict[str, np.ndarray] = {}
    for name in np.unique(station):
        sel = station == name
        order = np.argsort(start[sel], kind="stable")
        merged: list[list[int]] = []
        for a, b in zip(start[sel][order], end[sel][order], strict=True):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], int(b))
            else:
                merged.append([int(a), int(b)])
        spans[str(name)] = np.array(merged, dtype=np.int64).reshape(-1, 2)
    return spans


def _span_days(spans: np.ndarray | None) -> float:
    return 0.0 if spans is None else float((spans[:, 1] - spans[:, 0]).sum()) / _NS_PER_DAY


def _occasion_grid(
    table: DetectionTable, start: pd.Timestamp | str | None, occasion_days: float, n_occasions: int | None
) -> tuple[int, int, int]:
    """(first occasion start in ns, occasion length in ns, number of occasions)."""
    if not occasion_days > 0:
        raise CamtrapError(f"occasion_days={occasion_days} must be > 0")
    length = round(occasion_days * _NS_PER_DAY)
    dep = table.deployments
    if dep.empty or dep["start"].isna().all():
        raise CamtrapError("no deployments with dates: occasions need at least one deployment")
    if start is None:
        t0 = pd.Timestamp(dep["start"].min()).floor("D")
    else:
        try:
            t0 = pd.Timestamp(start)
        except (ValueError, TypeError):
            raise CamtrapError(
                f"occasion start {start!r} is not a date and time: give e.g. '2025-06-01T00:00:00+10:00'"
            ) from None
        if t0.tzinfo is None:
            raise CamtrapError(
                f"occasion start {start!r} has no time zone: give e.g. '2025-06-01T00:00:00+10:00' "
                "or a tz-aware pd.Timestamp"
            )
    t0_ns = int(pd.DatetimeIndex([t0]).as_unit("ns").asi8[0])
    if n_occasions is None:
        last = int(_ns(dep["end"].dropna()).max())
        n = -(-(last - t0_ns) // length)
        if n <= 0:
            raise CamtrapError(f"occasion start {t0} is after every deployment end: choose an earlier start")
    else:
        n = int(n_occasions)
        if n <= 0:
            raise CamtrapError(f"n_occasions={n_occasions} must be >= 1")
    return t0_ns, length, n


def _operation(table: DetectionTable, t0: int, length: int, n: int) -> pd.DataFrame:
    spans = _station_spans(table.deployments)
    stations = _all_stations(table)
    occ_start = t0 + length * np.arange(n, dtype=np.int64)
    occ_end = occ_start + length
    frac = np.zeros((len(stations), n))
    for i, name in enumerate(stations):
        sp = spans.get(name)
        if sp is None:
            continue
        overlap = np.minimum(sp[:, 1:2], occ_end[None, :]) - np.maximum(sp[:, 0:1], occ_start[None, :])
        frac[i] = np.clip(overlap, 0, None).sum(axis=0) / length
    return pd.DataFrame(
        np.clip(frac, 0.0, 1.0),
        index=pd.Index(stations, name="station"),
        columns=pd.RangeIndex(n, name="occasion"),
    )


def _outside_effort(events: pd.DataFrame, spans: dict[str, np.ndarray]) -> np.ndarray:
    """Boolean mask of events outside every deployment span of their station (or without a timestamp)."""
    outside = np.ones(len(events), dtype=bool)
    if not len(events):
        return outside
    valid = events["timestamp"].notna().to_numpy()
    t = np.where(valid, _ns(events["timestamp"].where(valid, pd.Timestamp(0, tz="UTC"))), 0)
    station = events["station"].astype(str).to_numpy()
    for name in np.unique(station):
        sp = spans.get(str(name))
        if sp is None:
            continue
        sel = np.flatnonzero(station == name)
        k = np.searchsorted(sp[:, 0], t[sel], side="right") - 1
        inside = (k >= 0) & (t[sel] <= sp[np.maximum(k, 0), 1])
        outside[sel] = ~inside
    return outside | ~valid


def _require_in_effort(events: pd.DataFrame, table: DetectionTable) -> None:
    outside = _outside_effort(events, _station_spans(table.deployments))
    if outside.any():
        raise CamtrapError(_outside_message(events[outside]))


def _outside_message(bad: pd.DataFrame) -> str:
    examples = "; ".join(
        f"{r.source} ({r.kind} {r.species or ''} at station {r.station!r}, {r.timestamp})".replace("  ", " ")
        for r in bad.head(3).itertuples(index=False)
    )
    return (
        f"{len(bad)} event(s) fall outside every deployment of their station, e.g. {examples}: fix the deployment "
        "dates or the timestamps, or leave such records out (CLI: --skip-bad-rows)"
    )


def _skipped(row: object) -> Skipped:
    source = str(getattr(row, "source", ""))
    m = _SOURCE_ROW.match(source)
    file, line = (m["file"], int(m["row"])) if m else (source, 0)
    reason = (
        f"{getattr(row, 'kind', '')} {getattr(row, 'species', '')} at {getattr(row, 'timestamp', '')} is outside "
        f"every deployment of station {getattr(row, 'station', '')!r}"
    )
    return Skipped(file=file, row=line, column="timestamp", reason=" ".join(reason.split()))
