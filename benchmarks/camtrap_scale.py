"""Camera-trap readers at 10^5 and 10^6 rows: peak RSS and wall time, each case in its own process.

    .venv/bin/python benchmarks/camtrap_scale.py [--rows 100000,1000000] [--cases reid,camtrap-dp,...] [--keep DIR]

Inputs are SYNTHETIC and generated into a temporary folder (``--keep DIR`` writes them there instead): 50
stations of one deployment each, and per size

- ``reid.csv``: a re-ID CSV (station, aware ISO 8601 time one minute apart, species, individual, score, sex);
- ``pkg/``: a Camtrap DP package whose ``observations.csv`` and ``media.csv`` have that many rows each;
- ``md.json``: MegaDetector batch output (format 1.4) with that many images of one detection each (EXIF-style
  naive times, read with ``timezone="+10:00"``).

Cases (each a fresh ``python`` process; "peak MiB" is its ``ru_maxrss`` from ``os.wait4``):

- ``python``: the interpreter with ``skywatch.camtrap.readers`` imported (the floor every case pays);
- ``naive-csv``: ``pandas.read_csv(reid.csv, dtype=str)``, the whole table as text, which is what the readers
  held before they streamed; ``naive-json``: ``json.load(md.json)``;
- ``reid``, ``camtrap-dp``, ``megadetector``: the readers into a :class:`DetectionTable`;
- ``import``: ``skywatch camtrap import reid.csv --stations stations.csv`` (read + write a Camtrap DP package);
- ``summary``: ``skywatch camtrap summary pkg --species ... --json``.

The functions ``write_*`` and :func:`measure` are also used by ``tests/robustness/test_camtrap_scale.py``.

Figures (2 cores, quiet machine; "before" = the readers that read whole files, measured with ``--code``):

    case           10^5 rows before -> after       10^6 rows before -> after
    reid           193 MiB 1.9 s -> 115 MiB 1.5 s  1125 MiB 12.6 s -> 314 MiB  9.3 s
    camtrap-dp     347 MiB 3.2 s -> 130 MiB 1.5 s  2628 MiB 27.5 s -> 412 MiB 11.6 s
    megadetector   255 MiB 2.0 s -> 112 MiB 1.8 s  1746 MiB 18.2 s -> 313 MiB 14.4 s
    summary        486 MiB 4.6 s -> 269 MiB 2.7 s  2794 MiB 27.2 s -> 552 MiB 13.6 s
    import         383 MiB 7.2 s -> 371 MiB 5.6 s  1694 MiB 43.5 s -> 1591 MiB 47.6 s (the package writer)
    (python 88 MiB; naive-csv 113 -> 292 MiB; naive-json 213 -> 1350 MiB)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
N_STATIONS = 50
SPECIES = ("Panthera pardus orientalis", "Panthera tigris altaica", "Capreolus pygargus", "Sus scrofa")
START = datetime(2024, 1, 1, tzinfo=UTC)
_TZ = "+10:00"
CASES = ("python", "naive-csv", "naive-json", "reid", "camtrap-dp", "megadetector", "import", "summary")

CHILD = r"""
import json, sys, time
from pathlib import Path
case, src, out, species, on_error = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
t = time.perf_counter()
import skywatch.camtrap.readers as r
n, table = None, None
if case == "naive-csv":
    import pandas as pd
    n = len(pd.read_csv(src / "reid.csv", dtype=str, keep_default_na=False))
elif case == "naive-json":
    n = len(json.loads((src / "md.json").read_text(encoding="utf-8"))["images"])
elif case == "reid":
    table = r.read_reid_csv(src / "reid.csv", stations=src / "stations.csv", on_error=on_error)
elif case == "camtrap-dp":
    table = r.read_camtrap_dp_table(src / "pkg", on_error=on_error)
elif case == "megadetector":
    table = r.read_megadetector(src / "md.json", stations=src / "stations.csv", timezone="+10:00", on_error=on_error)
elif case in ("import", "summary"):
    from skywatch.cli.main import main
    args = {
        "import": ["camtrap", "import", str(src / "reid.csv"), "--stations", str(src / "stations.csv"),
                   "--out", str(out), "--overwrite"] + (["--skip-bad-rows"] if on_error == "skip" else []),
        "summary": ["camtrap", "summary", str(src / "pkg"), "--species", species, "--json", "--on-error", on_error],
    }[case]
    sys.argv = ["skywatch", *args]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
if table is not None:
    n = len(table.events)
skipped = [str(s) for s in table.skipped[:3]] if table is not None else []
print(json.dumps({"n": n, "skipped": skipped, "seconds": time.perf_counter() - t}))
"""


def _stamp(i: int) -> str:
    """Row ``i``'s time: one minute apart, written in +10:00."""
    t = START + timedelta(minutes=i) + timedelta(hours=10)
    return f"{t:%Y-%m-%dT%H:%M:%S}{_TZ}"


def _station(i: int) -> str:
    return f"ST{i % N_STATIONS:03d}"


def write_stations(path: Path) -> Path:
    """A station table: N_STATIONS stations, each running 2023-12-01 to 2026-12-31 (enough for 10^6 minutes)."""
    lines = ["station,longitude,latitude,start,end"]
    span = f"2023-12-01T00:00:00{_TZ},2026-12-31T00:00:00{_TZ}"
    for s in range(N_STATIONS):
        lines.append(f"ST{s:03d},{131.0 + s * 0.01:.4f},{43.0 + s * 0.005:.4f},{span}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_reid(path: Path, rows: int, *, bad_row: int | None = None) -> Path:
    """A re-ID CSV of ``rows`` data rows; ``bad_row`` (CSV row number, header = 1) gets a time without a zone."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("station,timestamp,species,individual,score,sex\n")
        for i in range(rows):
            stamp = _stamp(i)
            if bad_row is not None and i + 2 == bad_row:
                stamp = stamp[: -len(_TZ)]
            ind = f"PPO-{i % 37:02d}" if i % 3 == 0 else ""
            fh.write(f"{_station(i)},{stamp},{SPECIES[i % 4]},{ind},0.{i % 90 + 10},{'fm'[i % 2]}\n")
    return path


_OBS = (
    "observationID,deploymentID,mediaID,eventID,eventStart,eventEnd,observationLevel,observationType,"
    "cameraSetupType,scientificName,count,lifeStage,sex,behavior,individualID,individualPositionRadius,"
    "individualPositionAngle,individualSpeed,bboxX,bboxY,bboxWidth,bboxHeight,classificationMethod,"
    "classifiedBy,classificationTimestamp,classificationProbability,observationTags,observationComments"
)
_MEDIA = (
    "mediaID,deploymentID,captureMethod,timestamp,filePath,filePublic,fileName,fileMediatype,exifData,"
    "favorite,mediaComments"
)


def write_camtrap_dp(folder: Path, rows: int, *, bad_row: int | None = None) -> Path:
    """A Camtrap DP package with ``rows`` event-level observations and ``rows`` media; ``bad_row`` (CSV row
    number of observations.csv) names an unknown deployment."""
    folder.mkdir(parents=True, exist_ok=True)
    deps = ["deploymentID,locationID,latitude,longitude,deploymentStart,deploymentEnd"]
    for s in range(N_STATIONS):
        deps.append(
            f"D{s:03d},ST{s:03d},{43.0 + s * 0.005:.4f},{131.0 + s * 0.01:.4f},2023-12-01T00:00:00Z,"
            "2026-12-31T00:00:00Z"
        )
    (folder / "deployments.csv").write_text("\n".join(deps) + "\n", encoding="utf-8")
    with (
        (folder / "observations.csv").open("w", encoding="utf-8", newline="") as obs,
        (folder / "media.csv").open("w", encoding="utf-8", newline="") as media,
    ):
        obs.write(_OBS + "\n")
        media.write(_MEDIA + "\n")
        for i in range(rows):
            dep = f"D{i % N_STATIONS:03d}"
            t = f"{START + timedelta(minutes=i):%Y-%m-%dT%H:%M:%S}Z"
            if bad_row is not None and i + 2 == bad_row:
                dep = "D999"
            ind = f"PPO-{i % 37:02d}" if i % 3 == 0 else ""
            obs.write(
                f"o{i:07d},{dep},m{i:07d},e{i:07d},{t},{t},event,animal,,{SPECIES[i % 4]},1,adult,"
                f"{('female', 'male')[i % 2]},,{ind},,,,,,,,machine,MegaDetector,{t},0.{i % 90 + 10},,\n"
            )
            media.write(
                f"m{i:07d},{dep},activityDetection,{t},https://example.org/m{i:07d}.jpg,false,"
                f"IMG_{i:07d}.JPG,image/jpeg,,,\n"
            )
    package = {
        "profile": "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/camtrap-dp-profile.json",
        "name": "synthetic-scale",
        "title": "SYNTHETIC scale test",
        "resources": [{"name": n, "path": f"{n}.csv"} for n in ("deployments", "media", "observations")],
    }
    (folder / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    return folder


def write_megadetector(path: Path, images: int, *, bad_row: int | None = None) -> Path:
    """MegaDetector output with ``images`` images of one animal detection each; ``bad_row`` (1-based image)
    has a confidence of 1.5."""
    with path.open("w", encoding="utf-8") as fh:
        head = {
            "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
            "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
            "classification_categories": {str(k): name for k, name in enumerate(SPECIES)},
        }
        fh.write(json.dumps(head)[:-1] + ', "images": [\n')
        for i in range(images):
            conf = 1.5 if bad_row is not None and i + 1 == bad_row else 0.9
            t = START + timedelta(minutes=i) + timedelta(hours=10)
            fh.write(
                f'{"," if i else ""}{{"file": "{_station(i)}/100RECNX/IMG_{i:07d}.JPG", "datetime": '
                f'"{t:%Y:%m:%d %H:%M:%S}", "detections": [{{"category": "1", "conf": {conf}, '
                f'"bbox": [0.1, 0.2, 0.3, 0.4], "classifications": [["{i % 4}", 0.8]]}}]}}\n'
            )
        fh.write("]}\n")
    return path


def write_inputs(folder: Path, rows: int, *, bad_row: int | None = None) -> Path:
    """Every input above into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_stations(folder / "stations.csv")
    write_reid(folder / "reid.csv", rows, bad_row=bad_row)
    write_camtrap_dp(folder / "pkg", rows, bad_row=bad_row)
    write_megadetector(folder / "md.json", rows, bad_row=bad_row)
    return folder


@dataclass(frozen=True)
class Run:
    """One case in its own process: exit code, wall seconds, peak RSS, events read, the first skipped rows."""

    code: int
    seconds: float
    peak_mib: float
    n: int | None
    skipped: list[str]
    stderr: str


def measure(
    case: str,
    src: Path,
    *,
    on_error: str = "raise",
    out: Path | None = None,
    timeout: float = 600,
    code: Path = REPO,
) -> Run:
    """Run ``case`` (one of :data:`CASES`) on the inputs in ``src`` in a fresh process, importing skywatch from
    the folder ``code``; its peak RSS comes from ``os.wait4`` (``ru_maxrss``, KiB on Linux)."""
    out = out or src / "out"
    args = [sys.executable, "-c", CHILD, case, str(src), str(out), SPECIES[0], on_error]
    env = {**os.environ, "PYTHONPATH": str(code)}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
        proc = subprocess.Popen(args, stdout=so, stderr=se, cwd=src, env=env)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for a reaped child
        seconds = time.perf_counter() - start
        so.seek(0)
        se.seek(0)
        stdout, stderr = so.read().decode(errors="replace"), se.read().decode(errors="replace")
    doc = json.loads(stdout.strip().splitlines()[-1]) if proc.returncode == 0 and stdout.strip() else {}
    return Run(proc.returncode, seconds, usage.ru_maxrss / 1024.0, doc.get("n"), doc.get("skipped", []), stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated sizes (default 10^5, 10^6)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {','.join(CASES)}")
    parser.add_argument("--keep", type=Path, help="write the inputs here and keep them")
    parser.add_argument(
        "--code",
        type=Path,
        default=REPO,
        help="folder holding the skywatch package to measure (default: this checkout); e.g. "
        "`git archive HEAD skywatch | tar -x -C DIR` for the figures before a change",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.rows.split(",")]
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}")
    results: dict[tuple[str, int], Run] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for rows in sizes:
            src = root / f"rows-{rows}"
            t = time.perf_counter()
            if not (src / "md.json").exists():
                write_inputs(src, rows)
            print(f"inputs of {rows} rows written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            for case in cases:
                run = measure(case, src, code=args.code)
                results[case, rows] = run
                status = "" if run.code == 0 else f"  FAILED (exit {run.code}): {run.stderr.strip()[-300:]}"
                print(f"{case:>13} {rows:>9} rows {run.seconds:7.1f} s {run.peak_mib:8.0f} MiB  n={run.n}{status}")
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        print(f"peak RSS growth {lo} -> {hi} rows (x{hi / lo:g} rows):")
        for case in cases:
            a, b = results[case, lo], results[case, hi]
            print(
                f"{case:>13}: {a.peak_mib:.0f} -> {b.peak_mib:.0f} MiB (x{b.peak_mib / a.peak_mib:.1f}), "
                f"{a.seconds:.1f} -> {b.seconds:.1f} s"
            )
    return 0 if all(r.code == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
