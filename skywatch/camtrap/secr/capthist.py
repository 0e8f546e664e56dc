"""Capture histories for SECR: detectors with their usage, and each animal's detections by occasion.

Reads secr's text formats (Efford, R package secr, ``read.capthist``): a capture file with rows
``Session ID Occasion X Y`` ("XY" format) or ``Session ID Occasion DetectorID`` ("trapID" format), and a detector
file with rows ``ID X Y``; ``#`` starts a comment. Detector types follow secr: ``multi`` (an animal is caught at
most once per occasion; competing detectors share one hazard) and ``proximity`` (an animal may be detected at
several detectors per occasion, at most once at each). Single-catch traps are analysed as multi-catch, as secr
does (its ``captdata`` example is fitted that way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import gammaln

from skywatch.errors import CamtrapError

__all__ = ["DETECTORS", "CaptureHistory", "read_secr_text"]

DETECTORS = ("multi", "proximity")


@dataclass(frozen=True, kw_only=True, eq=False)  # arrays inside: identity equality; cached properties per object
class CaptureHistory:
    """Detections of identified animals at detectors over occasions.

    Attributes:
        detector_ids: Detector (trap, camera station) IDs, length K.
        xy: Detector coordinates in metres, shape (K, 2).
        usage: Effort of each detector on each occasion, shape (K, S): 1 = ran the whole occasion, 0 = off;
            fractions scale the detection hazard (secr's ``usage``).
        detector: ``multi`` or ``proximity``.
        animal_ids: Animal IDs, length n.
        animal: Per detection, the index into ``animal_ids``.
        occasion: Per detection, the occasion (0-based).
        trap: Per detection, the index into ``detector_ids``.
        merged: Detections merged into another on the way in (repeats in one animal x occasion x detector cell;
            for multi-catch, later detections of an animal on an occasion it was already caught), for summaries.
    """

    detector_ids: tuple[str, ...]
    xy: np.ndarray
    usage: np.ndarray
    detector: str
    animal_ids: tuple[str, ...]
    animal: np.ndarray
    occasion: np.ndarray
    trap: np.ndarray
    merged: int = 0

    def __post_init__(self) -> None:
        k, s = self.usage.shape
        if self.detector not in DETECTORS:
            raise CamtrapError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        if self.xy.shape != (k, 2) or len(self.detector_ids) != k:
            raise CamtrapError(f"{len(self.detector_ids)} detectors, {self.xy.shape} coordinates, usage {k} x {s}")
        if len(self.animal):
            if self.occasion.min() < 0 or self.occasion.max() >= s:
                raise CamtrapError(f"an occasion lies outside 1..{s}")
            if (self.usage[self.trap, self.occasion] <= 0).any():
                bad = int(np.argmax(self.usage[self.trap, self.occasion] <= 0))
                who, where = self.animal_ids[self.animal[bad]], self.detector_ids[self.trap[bad]]
                raise CamtrapError(
                    f"animal {who!r} was detected at {where!r} on occasion {self.occasion[bad] + 1}, "
                    "when that detector was not in use"
                )
        if self.detector == "multi" and len(self.animal):
            pairs = pd.DataFrame({"a": self.animal, "s": self.occasion})
            if pairs.duplicated().any():
                raise CamtrapError("a multi-catch history has an animal caught twice on one occasion; use proximity")

    @cached_property
    def indicator(self) -> sparse.csr_matrix:
        """(n, C) sparse 0/1: which animal each detection belongs to (sums detection terms per animal)."""
        c = len(self.animal)
        return sparse.csr_matrix((np.ones(c), (self.animal, np.arange(c))), shape=(self.n, c))

    @cached_property
    def effort_pairs(self) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix]:
        """The distinct (detector, usage) pairs of the detections: their detector indices (P,), usages (P,) and
        an (n, P) sparse count of each animal's detections at each pair.

        A proximity detection's term depends on the centre only through ``h_k(x) * u_ks``, so the likelihood needs
        one (M, P) array instead of one column per detection (M, C): cameras mostly run whole occasions, so P is
        about the number of stations while C grows with the survey's length."""
        keys = np.column_stack([self.trap.astype(float), self.usage[self.trap, self.occasion]])
        pairs, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        counts = sparse.csr_matrix((np.ones(len(inverse)), (self.animal, inverse)), shape=(self.n, len(pairs)))
        return pairs[:, 0].astype(int), pairs[:, 1], counts

    @cached_property
    def log_multinomial(self) -> float:
        """Sum over distinct histories of log(n_w!), the multinomial coefficient's denominator."""
        histories: dict[tuple[tuple[int, int], ...], int] = {}
        for i in range(self.n):
            sel = self.animal == i
            key = tuple(sorted(zip(self.occasion[sel].tolist(), self.trap[sel].tolist(), strict=True)))
            histories[key] = histories.get(key, 0) + 1
        return float(sum(gammaln(c + 1) for c in histories.values()))

    @property
    def n(self) -> int:
        """Number of animals detected."""
        return len(self.animal_ids)

    @property
    def occasions(self) -> int:
        """Number of occasions S."""
        return int(self.usage.shape[1])

    def summary(self) -> dict[str, int]:
        """n animals, detections, detectors used and occasions (secr's summary counts)."""
        return {
            "animals": self.n,
            "detections": len(self.animal),
            "detectors": len(self.detector_ids),
            "detectors_used": len(np.unique(self.trap)),
            "occasions": self.occasions,
        }

    def rpsv(self) -> float:
        """Root pooled spatial variance of detection locations (secr ``RPSV(..., CC = TRUE)``), metres:
        a quick scale of movement, used as the starting value for sigma."""
        num, den = 0.0, 0
        for i in range(self.n):
            pts = self.xy[self.trap[self.animal == i]]
            if len(pts) > 1:
                num += float(((pts - pts.mean(axis=0)) ** 2).sum())
                den += len(pts) - 1
        return float(np.sqrt(num / (2 * den))) if den else float("nan")

    def movement_scale(self) -> float:
        """A first guess at sigma: the RPSV, or, when no animal was recaptured at another detector (RPSV 0 or
        undefined), the mean nearest-neighbour spacing of the detectors."""
        rpsv = self.rpsv()
        return rpsv if np.isfinite(rpsv) and rpsv > 0 else _nn_spacing(self.xy)


def _nn_spacing(xy: np.ndarray) -> float:
    """Mean distance from each detector to its nearest neighbour (metres)."""
    if len(xy) < 2:
        return float("nan")
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
    np.fill_diagonal(d, np.inf)
    return float(d.min(axis=1).mean())


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number in the file, tokens) of each non-comment line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CamtrapError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((number, line.split()))
    return out


def read_secr_text(capture_file: Path, trap_file: Path, *, detector: str = "multi",
                   occasions: int | None = None) -> CaptureHistory:  # fmt: skip
    """Read secr's text formats (one session). The capture format (XY or trapID) is recognised from the first
    row; columns after X Y (or after the detector ID) are individual covariates and are not used.

    Args:
        capture_file: ``Session ID Occasion X Y`` or ``Session ID Occasion DetectorID`` rows.
        trap_file: ``ID X Y`` rows, optionally followed by a usage string of 0/1 per occasion (secr's binary
            usage, e.g. ``11101``); anything after ``/`` (covariates) is not used.
        detector: ``multi`` or ``proximity``.
        occasions: Number of occasions (default: the length of the usage strings, else the largest occasion in the
            capture file; give it when the last occasions caught nothing).

    Raises:
        CamtrapError: malformed rows (naming file and line), unknown detectors, several sessions.
    """
    ids, xy, usages = [], [], []
    for i, row in _rows(trap_file):
        try:
            ids.append(row[0])
            xy.append((float(row[1]), float(row[2])))
        except (IndexError, ValueError):
            raise CamtrapError(
                f"{str(trap_file)!r} line {i}: expected 'ID X Y [usage]', got {' '.join(row)!r}"
            ) from None
        extra = row[3] if len(row) > 3 and row[3] != "/" else None
        if extra is not None and not set(extra) <= set("01"):
            raise CamtrapError(
                f"{str(trap_file)!r} line {i} column 'usage': {extra!r} is not a 0/1 string per occasion"
            )
        usages.append(extra)
    if not ids:
        raise CamtrapError(f"{str(trap_file)!r} has no detectors")
    if len(set(ids)) != len(ids):
        raise CamtrapError(f"{str(trap_file)!r} repeats detector IDs")
    xy_arr = np.asarray(xy, dtype=float)
    index = {d: k for k, d in enumerate(ids)}
    records: list[tuple[str, int, int]] = []
    sessions = set()
    xy_format: bool | None = None  # decided on the first row; further columns are individual covariates
    for i, row in _rows(capture_file):
        where = f"{str(capture_file)!r} line {i}"
        if len(row) < 4:
            raise CamtrapError(f"{where}: expected 'Session ID Occasion X Y' or 'Session ID Occasion Detector'")
        sessions.add(row[0])
        try:
            occ = int(row[2])
        except ValueError:
            raise CamtrapError(f"{where} column 'Occasion': {row[2]!r} is not a whole number") from None
        if occ < 1:
            raise CamtrapError(f"{where} column 'Occasion': occasions count from 1, got {occ}")
        xy_given = _floats(row[3:5]) if xy_format is not False else None
        if xy_format is None:
            xy_format = xy_given is not None and row[3] not in index
        if xy_format:
            if xy_given is None:
                raise CamtrapError(f"{where}: X/Y {' '.join(row[3:5])!r} are not numbers")
            hit = np.nonzero((np.abs(xy_arr - xy_given) < 1e-6).all(axis=1))[0]
            if not len(hit):
                raise CamtrapError(f"{where}: no detector at {xy_given} in {str(trap_file)!r}")
            k = int(hit[0])
        else:
            if row[3] not in index:
                raise CamtrapError(f"{where} column 'Detector': {row[3]!r} is not in {str(trap_file)!r}")
            k = index[row[3]]
        records.append((row[1], occ - 1, k))
    if len(sessions) > 1:
        raise CamtrapError(f"{str(capture_file)!r} holds sessions {sorted(sessions)}; fit one session at a time")
    given = {len(u) for u in usages if u is not None}
    if len(given) > 1 or (given and None in usages):
        raise CamtrapError(f"{str(trap_file)!r}: usage strings must be given for every detector, all of one length")
    latest = max(r[1] for r in records) + 1 if records else 1
    s = occasions or (given.pop() if given else latest)
    if s < latest:
        raise CamtrapError(f"{str(capture_file)!r} has captures on occasion {latest}, but only {s} occasions")
    strings = [u for u in usages if u is not None]
    usage = np.array([[float(c) for c in u] for u in strings]) if strings else np.ones((len(ids), s))
    if usage.shape[1] != s:
        raise CamtrapError(f"{str(trap_file)!r}: usage covers {usage.shape[1]} occasions, not {s}")
    return from_records(records, ids, xy_arr, usage, detector=detector)


def _floats(values: list[str]) -> tuple[float, float] | None:
    try:
        return (float(values[0]), float(values[1])) if len(values) == 2 else None
    except ValueError:
        return None


def from_records(records: Sequence[tuple[str, int, int]], detector_ids: Sequence[str], xy: np.ndarray,
                 usage: np.ndarray, *, detector: str) -> CaptureHistory:  # fmt: skip
    """A capture history from (animal ID, occasion, detector index) records (repeats within a cell collapse)."""
    frame = pd.DataFrame(records, columns=["animal", "occasion", "trap"]).drop_duplicates()
    if detector == "multi":
        frame = frame.drop_duplicates(["animal", "occasion"])  # the first detection of the occasion counts
    animals = tuple(dict.fromkeys(frame["animal"].astype(str)))
    codes = {a: i for i, a in enumerate(animals)}
    return CaptureHistory(
        detector_ids=tuple(str(d) for d in detector_ids),
        xy=np.asarray(xy, dtype=float),
        usage=np.asarray(usage, dtype=float),
        detector=detector,
        animal_ids=animals,
        animal=frame["animal"].astype(str).map(codes).to_numpy(dtype=int),
        occasion=frame["occasion"].to_numpy(dtype=int),
        trap=frame["trap"].to_numpy(dtype=int),
        merged=len(records) - len(frame),
    )
