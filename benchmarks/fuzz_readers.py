"""A short coverage-guided fuzzing run (atheris, libFuzzer) of the readers of untrusted files.

    .venv/bin/python benchmarks/fuzz_readers.py [--seconds 10] [--targets reid,megadetector,...] [--out DIR]

Also ``make fuzz`` (60 s per target). Not part of ``make test``: it runs for a fixed time, not to a verdict.

Each target turns the fuzzer's bytes into a file and calls one reader on it. The first byte picks how: even,
the other bytes are the file as they are; odd, they steer a mutation of one of the target's seeds that keeps its
syntax (a JSON or YAML tree with values replaced by values of any type, deleted or added keys; a CSV with cells
set to awkward values, rows repeated, columns dropped), which reaches the checks behind the parser far more often
than flipped bytes do. The targets:

- ``reid``: :func:`~skywatch.camtrap.readers.read_reid_csv` (station table fixed, valid);
- ``stations``: :func:`~skywatch.camtrap.readers.read_stations`;
- ``camtrap-dp``: :func:`~skywatch.camtrap.readers.read_camtrap_dp_table`, the first byte also choosing which of
  ``datapackage.json``, ``deployments.csv`` or ``observations.csv`` the input replaces in a small valid package;
- ``megadetector``, ``coco``: :func:`~skywatch.camtrap.readers.read_megadetector` and
  :func:`~skywatch.camtrap.readers.read_coco` (station table fixed);
- ``detect``: :func:`~skywatch.camtrap.readers.detect_format` on a ``.json`` file;
- ``json-stream``: the streaming JSON reader against ``json.loads`` (same values, or an error where it fails);
- ``job``: :func:`skywatch.jobs.config.load_job` (YAML job files), read only;
- ``aoi``: :func:`skywatch.aoi.load_aoi` (GeoJSON), read only.

The seeds are the repository's own examples (``tests/data/camtrap``, ``cli/jobs``, ``aoi``). A **finding** is any
exception that is not a :class:`~skywatch.errors.SkywatchError` (the documented errors: ``CamtrapError``,
``DataError``, ``AOIError``), a wrong answer of ``json-stream``, a run over ``--input-timeout`` seconds, or an
input that makes the process exceed ``--rss-limit-mb``. Each distinct finding (exception type and the innermost
skywatch line) is saved with its traceback under ``--out`` (default: a new temporary folder) and the fuzzer goes
on. Per target the script prints runs, execs/s and findings; it exits 1 if any target had a finding.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "camtrap"
TARGETS = ("reid", "stations", "camtrap-dp", "megadetector", "coco", "detect", "json-stream", "job", "aoi")
DP_FILES = ("datapackage.json", "deployments.csv", "observations.csv")
_SEED_LINES = 25  # the example package's tables, cut to this many lines: fast seeds that still cover every path


# -- seeds ---------------------------------------------------------------------------------------------------------


def _head(path: Path, lines: int = _SEED_LINES) -> bytes:
    """A CSV's first lines, or a JSON file without its whitespace (small seeds fuzz faster)."""
    if path.suffix == ".json":
        return json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":")).encode()
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


# tokens libFuzzer splices into inputs (its -dict): the formats' keys and the values that steer the readers
_TOKENS = {
    "csv": ["station", "timestamp", "species", "individual", "score", "count", "sex", "life_stage", "kind",
            "longitude", "latitude", "utm_x", "utm_y", "start", "end", "Problem1_from", "Problem1_to",
            "deploymentID", "locationID", "deploymentStart", "deploymentEnd", "observationID", "eventID",
            "eventStart", "observationType", "observationLevel", "classificationProbability", "lifeStage",
            "event", "media", "animal", "blank", "female", "male", "adult", "LL01", "NaN", "inf", "-1",
            "2024-05-14T21:13:05+10:00", "2024:06:01 21:13:05", "01/06/2024", "Z", "+10:00", "\"", ",", "\n"],
    "json": ["info", "format_version", "1.4", "detection_categories", "classification_categories", "images",
             "file", "datetime", "detections", "category", "conf", "bbox", "classifications", "failure",
             "annotations", "categories", "image_id", "category_id", "name", "id", "date_captured",
             "gps_lat_captured", "gps_lon_captured", "location", "resources", "path", "profile", "null",
             "true", "NaN", "-Infinity", "1e999", "\\u0000", "\\ud800", "[", "]", "{", "}", ":", ","],
    "yaml": ["aoi", "windows", "before", "after", "provider", "local", "path", "detect", "tasks", "fire",
             "clearcut", "roads", "fusion", "camtrap", "outputs", "dir", "alerts", "store", "compute",
             "!!python/object", "&a", "*a", "<<", "- ", ": ", "\n  ", "2025-09-01/2025-09-10"],
    "geojson": ["type", "FeatureCollection", "Feature", "features", "geometry", "Polygon", "MultiPolygon",
                "GeometryCollection", "coordinates", "crs", "properties", "name", "EPSG:32652",
                "urn:ogc:def:crs:EPSG::4326", "[131.0, 43.0]", "1e308", "NaN", "-180", "90"],
}  # fmt: skip
_DICT = {"reid": "csv", "stations": "csv", "camtrap-dp": "csv", "megadetector": "json", "coco": "json",
         "detect": "json", "json-stream": "json", "job": "yaml", "aoi": "geojson"}  # fmt: skip


def seeds(target: str) -> list[bytes]:
    """The example files of ``target`` (for ``camtrap-dp``: datapackage.json, deployments.csv, observations.csv)."""
    example = DATA / "camtrap-dp-example"
    if target == "reid":
        return [(DATA / "reid.csv").read_bytes()]
    if target == "stations":
        return [(DATA / "stations.csv").read_bytes()]
    if target == "camtrap-dp":
        return [_head(example / name) for name in DP_FILES]
    if target in ("megadetector", "detect", "json-stream"):
        return [_head(DATA / "megadetector.json"), _head(DATA / "wildbook_coco.json")]
    if target == "coco":
        return [_head(DATA / "wildbook_coco.json")]
    if target == "job":
        return [p.read_bytes() for p in sorted((REPO / "cli" / "jobs").glob("*.yaml"))]
    if target == "aoi":
        return [p.read_bytes() for p in sorted((REPO / "aoi").glob("*.geojson"))]
    raise ValueError(f"unknown target {target!r}")


def corpus_inputs(target: str) -> list[bytes]:
    """The starting corpus: each seed as it is (mode byte even) and as a start for structured mutation (odd)."""
    return [
        *(bytes([i << 1]) + seed for i, seed in enumerate(seeds(target))),
        *(bytes([(i << 1) | 1]) + bytes(range(32)) for i in range(len(seeds(target)))),
    ]


# -- structured mutation -----------------------------------------------------------------------------------------

_JSON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    7,
    0.5,
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    10**400,
    2**63,
    "",
    " ",
    "x",
    "1",
    "1.4",
    "0.9",
    "animal",
    "person",
    "LL01",
    "LL01/IMG_0001.JPG",
    "a\x00b",
    "____",
    "2024-05-14T21:13:05+10:00",
    "2024:05:14 21:13:05",
    "2024-05-14 21:13:05",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "EPSG:4326",
    "Polygon",
    "../x.csv",
    "https://x/y.csv",
]
_CSV_VALUES = [
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-1",
    "0",
    "1e999",
    "1" + "0" * 30,
    "0.5",
    "1.5",
    "LL01",
    "LL99",
    "animal",
    "media",
    "event",
    "blank",
    "female",
    "f",
    "cub",
    "NA",
    "2024-05-14T21:13:05+10:00",
    "2024-05-14 21:13:05",
    "2024:05:14 21:13:05",
    "14/05/2024",
    "31/02/2024",
    "2024-05-14",
    "0001-01-01T00:00:00+10:00",
    "9999-12-31",
    '"',
    ",",
    "\n",
    "\x00",
    "131.4512",
    "43.1021",
    "-200",
    "95",
    "2024-05-01",
    "2024-06-10",
    "2024-07-31",
]


def _random_json(fdp: Any, keys: list[str], depth: int = 0) -> Any:
    """A JSON value of any type, drawn from ``fdp`` (atheris.FuzzedDataProvider)."""
    kind = fdp.ConsumeIntInRange(0, 4 if depth < 3 else 2)
    if kind == 0:
        return fdp.PickValueInList(_JSON_VALUES)
    if kind == 1:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 24))
    if kind == 2:
        return fdp.ConsumeFloat() if fdp.ConsumeBool() else fdp.ConsumeInt(8)
    if kind == 3:
        return [_random_json(fdp, keys, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    return {fdp.PickValueInList(keys): _random_json(fdp, keys, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))}


def _mutate_tree(doc: Any, fdp: Any, keys: list[str]) -> Any:
    """``doc`` (parsed JSON/YAML) with 1-3 nodes replaced, deleted or given a new key."""
    doc = copy.deepcopy(doc)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        holder: Any = None
        key: Any = None
        node = doc
        while isinstance(node, dict | list) and node and fdp.ConsumeProbability() < 0.8:
            names = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = names[fdp.ConsumeIntInRange(0, len(names) - 1)]
            holder, node = node, node[key]
        op = fdp.ConsumeIntInRange(0, 2)
        new = _random_json(fdp, keys)
        if holder is None:
            doc = new if op == 0 else doc
        elif op == 0:
            holder[key] = new
        elif op == 1:
            del holder[key]
        elif isinstance(node, dict):
            node[fdp.PickValueInList(keys)] = new
        elif isinstance(node, list):
            node.append(new)
    return doc


def _mutate_csv(text: str, fdp: Any) -> str:
    """``text`` (a CSV) with 1-4 cells set to awkward values, rows repeated or dropped, or a column dropped."""
    rows = list(csv.reader(io.StringIO(text))) or [[""]]
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        op = fdp.ConsumeIntInRange(0, 5)
        r = fdp.ConsumeIntInRange(0, len(rows) - 1)
        if op <= 2 and rows[r]:
            value = fdp.PickValueInList(_CSV_VALUES) if op < 2 else fdp.ConsumeUnicodeNoSurrogates(12)
            rows[r][fdp.ConsumeIntInRange(0, len(rows[r]) - 1)] = value
        elif op == 3:
            rows.append(list(rows[r]))
        elif op == 4 and len(rows) > 1:
            del rows[r]
        elif op == 5 and rows[0]:
            c = fdp.ConsumeIntInRange(0, len(rows[0]) - 1)
            rows = [row[:c] + row[c + 1 :] for row in rows]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


class Inputs:
    """Turns the fuzzer's bytes into the file a target reads (see the module docstring)."""

    def __init__(self, target: str) -> None:
        import yaml

        self.files = seeds(target)
        self.kind = _DICT[target]
        self.keys = [t for t in _TOKENS["yaml" if self.kind == "yaml" else "json"] if re.fullmatch(r"[A-Za-z_]+", t)]
        self.trees: list[Any] = []
        for seed in self.files:
            text = seed.decode("utf-8")
            if seed.lstrip()[:1] in (b"{", b"["):
                self.trees.append(json.loads(text))
            elif self.kind == "yaml":
                self.trees.append(yaml.safe_load(text))
            else:
                self.trees.append(text)  # a CSV

    def __call__(self, data: bytes) -> tuple[int, bytes]:
        """(the seed index the input derives from, the file's bytes)."""
        if not data:
            return 0, b""
        index = (data[0] >> 1) % len(self.files)
        if not data[0] & 1:
            return index, data[1:]
        import atheris
        import yaml

        fdp = atheris.FuzzedDataProvider(data[1:])
        tree = self.trees[index]
        if isinstance(tree, str):
            return index, _mutate_csv(tree, fdp).encode("utf-8")
        doc = _mutate_tree(tree, fdp, self.keys)
        if self.kind == "yaml":
            return index, yaml.safe_dump(doc).encode("utf-8")
        return index, json.dumps(doc).encode("utf-8")


# -- one target in this process ------------------------------------------------------------------------------------


class _Stats:
    """Counts runs and findings of one target and keeps them on disk (libFuzzer ends the process with exit())."""

    def __init__(self, target: str, out: Path) -> None:
        self.target = target
        self.out = out
        self.runs = 0
        self.start = time.perf_counter()
        self.findings: dict[str, dict[str, Any]] = {}
        self._saved = 0.0

    def save(self, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._saved < 1.0:
            return
        self._saved = now
        doc = {"target": self.target, "runs": self.runs, "seconds": now - self.start, "findings": self.findings}
        tmp = self.out / "stats.json.tmp"
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.replace(self.out / "stats.json")

    def finding(self, data: bytes, exc: BaseException) -> None:
        key = _signature(exc)
        entry = self.findings.setdefault(key, {"count": 0})
        entry["count"] += 1
        if entry["count"] == 1:
            digest = hashlib.sha256(data).hexdigest()[:12]
            name = f"{type(exc).__name__}-{digest}"
            (self.out / f"{name}.bin").write_bytes(data)
            text = "".join(traceback.format_exception(exc))
            (self.out / f"{name}.txt").write_text(text)
            entry.update({"input": str(self.out / f"{name}.bin"), "error": f"{type(exc).__name__}: {exc}"[:300]})
            print(f"finding in {self.target}: {key}\n{text}", file=sys.stderr)
        self.save(force=True)


def _signature(exc: BaseException) -> str:
    """Exception type and the innermost frame inside skywatch (else the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/skywatch/" in f.filename and "benchmarks" not in f.filename]
    where = (ours or frames or [None])[-1]
    place = f"{Path(where.filename).name}:{where.lineno}" if where is not None else "?"
    return f"{type(exc).__name__} at {place}"


class WrongAnswer(Exception):  # noqa: N818 - a finding of the json-stream target, not an error of skywatch
    """The streaming JSON reader disagrees with json.loads."""


def _make_target(target: str, work: Path) -> Callable[[bytes], None]:
    """The function that feeds one input to ``target``'s reader (imports happen here, under instrumentation)."""
    from skywatch.camtrap.readers import (
        detect_format,
        read_camtrap_dp_table,
        read_coco,
        read_megadetector,
        read_reid_csv,
        read_stations,
    )

    tz = "Asia/Vladivostok"
    stations = read_stations(DATA / "stations.csv", timezone=tz)
    inputs = Inputs(target)
    if target == "reid":
        f = work / "reid.csv"
        return _writing(inputs, f, lambda: read_reid_csv(f, stations=stations, timezone=tz, on_error="skip"))
    if target == "stations":
        f = work / "stations.csv"
        return _writing(inputs, f, lambda: read_stations(f, timezone=tz, on_error="skip"))
    if target == "megadetector":
        f = work / "md.json"
        return _writing(inputs, f, lambda: read_megadetector(f, stations=stations, timezone=tz, on_error="skip"))
    if target == "coco":
        f = work / "coco.json"
        return _writing(inputs, f, lambda: read_coco(f, stations=stations, timezone=tz, on_error="skip"))
    if target == "detect":
        f = work / "input.json"
        return _writing(inputs, f, lambda: detect_format(f))
    if target == "camtrap-dp":
        pkg = work / "pkg"
        example = DATA / "camtrap-dp-example"

        def one(data: bytes) -> None:
            shutil.rmtree(pkg, ignore_errors=True)
            pkg.mkdir()
            for name in DP_FILES:
                (pkg / name).write_bytes(_head(example / name))
            index, content = inputs(data)
            (pkg / DP_FILES[index]).write_bytes(content)
            read_camtrap_dp_table(pkg, on_error="skip")

        return one
    if target == "json-stream":
        from skywatch.camtrap.readers._jsonstream import JsonObjectStream

        f = work / "doc.json"

        def compare(raw: bytes) -> None:
            data = inputs(raw)[1]
            f.write_bytes(data)
            try:
                expected = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                expected = None
            got: dict[str, Any] = {}
            try:
                with JsonObjectStream(f, read_chars=7) as doc:  # a tiny window: every value crosses its edge
                    for key in doc.names():
                        got[key] = list(doc.elements()) if doc.is_array() else doc.value()
            except _expected_errors() as exc:
                if isinstance(expected, dict):
                    raise WrongAnswer(f"json.loads reads it, the stream says: {exc}") from None
                return
            if got != expected and json.dumps(got, sort_keys=True) != json.dumps(expected, sort_keys=True):
                raise WrongAnswer(f"stream read {str(got)[:200]}, json.loads {str(expected)[:200]}")

        return compare
    if target == "job":
        from skywatch.jobs.config import load_job

        f = work / "job.yaml"
        return _writing(inputs, f, lambda: load_job(f))
    if target == "aoi":
        from skywatch.aoi import load_aoi

        f = work / "aoi.geojson"
        return _writing(inputs, f, lambda: load_aoi(f))
    raise ValueError(f"unknown target {target!r}")


def _escape(token: str) -> str:
    """A token in libFuzzer's dictionary syntax (printable ASCII as is, other bytes as \\xAB)."""
    return "".join(chr(b) if 32 <= b < 127 and chr(b) not in '\\"' else f"\\x{b:02X}" for b in token.encode("utf-8"))


def _writing(inputs: Inputs, path: Path, call: Callable[[], object]) -> Callable[[bytes], None]:
    def one(data: bytes) -> None:
        path.write_bytes(inputs(data)[1])
        call()

    return one


def _expected_errors() -> tuple[type[BaseException], ...]:
    from skywatch.errors import SkywatchError

    return (SkywatchError,)


def run_target(target: str, seconds: int, out: Path, *, input_timeout: int, rss_limit_mb: int) -> None:
    """Fuzz ``target`` in this process for ``seconds`` (libFuzzer then ends the process)."""
    import warnings

    import atheris

    warnings.simplefilter("ignore")  # pandas/pyproj warnings about odd input are not findings
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus"
    corpus.mkdir(exist_ok=True)
    for i, seed in enumerate(corpus_inputs(target)):
        (corpus / f"seed-{i}").write_bytes(seed)
    tokens = out / "tokens.dict"
    tokens.write_text("".join(f'"{_escape(t)}"\n' for t in _TOKENS[_DICT[target]]))
    work = out / "work"  # inside --out: libFuzzer ends the process with exit(), so nothing could clean it up
    work.mkdir(exist_ok=True)
    with atheris.instrument_imports(include=["skywatch"]):
        one = _make_target(target, work)
    expected = _expected_errors()
    stats = _Stats(target, out)
    stats.save(force=True)

    def test_one_input(data: bytes) -> None:
        stats.runs += 1
        try:
            one(data)
        except expected:
            pass
        except Exception as exc:  # a finding: recorded, and the fuzzer goes on
            stats.finding(data, exc)
        stats.save()

    sys.setrecursionlimit(3000)
    flags = [
        f"-max_total_time={seconds}",
        f"-timeout={input_timeout}",
        f"-rss_limit_mb={rss_limit_mb}",
        "-max_len=16384",
        f"-dict={tokens}",
        f"-artifact_prefix={out}/",
        "-print_final_stats=1",
    ]
    atheris.Setup([sys.argv[0], *flags, str(corpus)], test_one_input)
    atheris.Fuzz()


# -- driver --------------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="fuzzing time per target (default 10)")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {','.join(TARGETS)}")
    parser.add_argument("--out", type=Path, help="folder for findings and corpora (default: a new temporary one)")
    parser.add_argument("--input-timeout", type=int, default=10, help="seconds one input may take (default 10)")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="memory limit of a target (default 2048)")
    parser.add_argument("--run-target", help=argparse.SUPPRESS)  # internal: fuzz one target in this process
    args = parser.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz_readers needs atheris: .venv/bin/pip install atheris (it is in the dev extra)", file=sys.stderr)
        return 2
    out: Path = args.out or Path(tempfile.mkdtemp(prefix="skywatch-fuzz-"))
    if args.run_target:
        run_target(args.run_target, args.seconds, out, input_timeout=args.input_timeout, rss_limit_mb=args.rss_limit_mb)
        return 0
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s) {sorted(unknown)}")
    print(f"fuzzing {len(targets)} target(s) for {args.seconds} s each; findings under {out}", file=sys.stderr)
    total = 0
    for target in targets:
        folder = out / target
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, __file__, "--run-target", target, "--seconds", str(args.seconds), "--out", str(folder),
               "--input-timeout", str(args.input_timeout), "--rss-limit-mb", str(args.rss_limit_mb)]  # fmt: skip
        with (folder / "fuzzer.log").open("wb") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, timeout=args.seconds + 300)
        stats_file = folder / "stats.json"
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {"runs": 0, "seconds": 0, "findings": {}}
        findings = dict(stats["findings"])
        # libFuzzer itself stops on a timeout, an out-of-memory input or a crash of the interpreter
        for artifact in sorted(folder.glob("*-*")):
            kind = artifact.name.split("-")[0]
            if kind in ("timeout", "oom", "crash", "slow-unit") and artifact.is_file():
                findings[f"{kind} ({artifact.name})"] = {"count": 1, "input": str(artifact)}
        if proc.returncode != 0 and not findings:
            findings[f"fuzzer exited {proc.returncode}"] = {"count": 1, "input": str(folder / "fuzzer.log")}
        runs, secs = int(stats["runs"]), float(stats["seconds"]) or 1.0
        done = re.search(rb"Done (\d+) runs in (\d+) second", (folder / "fuzzer.log").read_bytes())
        if done:  # libFuzzer's own count is exact; stats.json may be up to a second old
            runs, secs = int(done.group(1)), max(float(done.group(2)), 1.0)
        total += len(findings)
        print(f"{target:>13}: {runs} runs, {runs / secs:.0f} execs/s, {len(findings)} finding(s)")
        for key, entry in findings.items():
            print(f"{'':>15}{key} x{entry['count']}: {entry.get('error', '')} -> {entry['input']}")
    print(f"fuzz: {len(targets)} targets, {total} findings (inputs and tracebacks under {out})")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
