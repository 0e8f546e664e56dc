"""Bad camera-trap inputs through `skywatch camtrap import|validate`: exit 1 with one line naming the problem, and
no Camtrap DP package left behind."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.robustness.conftest import Probe

DATA = Path(__file__).resolve().parents[1] / "data" / "camtrap"
EXAMPLE = DATA / "camtrap-dp-example"
STATIONS = "station,longitude,latitude,start,end\nLL01,131.4512,43.1021,2024-05-01,2024-07-31\n"
REID = "station,timestamp,species,individual\nLL01,2024-05-14T21:13:05+10:00,Panthera pardus orientalis,PPO-F03\n"


def _drop(text: str, column: str) -> str:
    rows = [r.split(",") for r in text.strip().splitlines()]
    i = rows[0].index(column)
    return "\n".join(",".join(r[:i] + r[i + 1 :]) for r in rows) + "\n"


def _set(text: str, column: str, value: str) -> str:
    rows = [r.split(",") for r in text.strip().splitlines()]
    rows[1][rows[0].index(column)] = value
    return "\n".join(",".join(r) for r in rows) + "\n"


# name -> (re-ID CSV bytes, station table bytes, extra args, words in the error line)
CSV_CASES: dict[str, tuple[str | bytes, str | bytes, list[str], str]] = {
    "re-ID: no timestamp column": (_drop(REID, "timestamp"), STATIONS, [], "'timestamp'.*missing"),
    "re-ID: no species column": (_drop(REID, "species"), STATIONS, [], "'species'.*missing"),
    "re-ID: no station nor lon/lat": (_drop(REID, "station"), STATIONS, [], "'station'.*missing"),
    "stations: no station column": (REID, _drop(STATIONS, "station"), [], "'station'.*missing"),
    "stations: no latitude": (REID, _drop(STATIONS, "latitude"), [], "latitude|coordinates"),
    "stations: no start": (REID, _drop(STATIONS, "start"), [], "'start'.*missing"),
    "stations: no end": (REID, _drop(STATIONS, "end"), [], "'end'.*missing"),
    "re-ID: latin-1 bytes": (REID.replace("PPO-F03", "Pard\xe9").encode("latin-1"), STATIONS, [],
                             "not a readable CSV"),
    "stations: latin-1 bytes": (REID, STATIONS.replace("LL01,", "LL01,").encode() + "LL\xe902,131.5,43.2,2024-05-01,"
                                "2024-07-31\n".encode("latin-1"), [], "not a readable CSV"),
    "re-ID: time without zone, no --timezone": (_set(REID, "timestamp", "2024-05-14 21:13:05"), STATIONS,
                                                ["--timezone", "+10:00"], "no time zone"),
    "re-ID: unknown station": (_set(REID, "station", "LL99"), STATIONS, [], "'LL99' is not in the station table"),
    "re-ID: NaN longitude": ("station,timestamp,species,longitude,latitude\n,2024-05-14T21:13:05+10:00,x,nan,43.1\n",
                             STATIONS, [], "longitude 'nan' is outside"),
    "re-ID: score 1.5": (REID.replace("individual", "score").replace("PPO-F03", "1.5"), STATIONS, [],
                         "score '1.5' is outside"),
    "re-ID: time outside the deployment": (_set(REID, "timestamp", "2023-01-01T00:00:00+10:00"), STATIONS, [],
                                           "outside every operating period"),
    "re-ID: not a date": (_set(REID, "timestamp", "yesterday"), STATIONS, [], "not a date-time"),
    "stations: NaN latitude": (REID, _set(STATIONS, "latitude", "NaN"), [], "latitude"),
    "stations: end before start": (REID, _set(STATIONS, "end", "2024-04-01"), [], "is not after"),
    "stations: empty file": (REID, b"", [], "not a readable CSV|missing"),
    "re-ID: binary garbage": (bytes(range(256)) * 4, STATIONS, [], "not a readable CSV|missing"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_reid_csv(probe: Probe, tmp_path: Path, case: str) -> None:
    reid, stations, _extra, words = CSV_CASES[case]
    (tmp_path / "reid.csv").write_bytes(reid if isinstance(reid, bytes) else reid.encode())
    (tmp_path / "stations.csv").write_bytes(stations if isinstance(stations, bytes) else stations.encode())
    out_dir = tmp_path / "pkg"
    probe.guard(out_dir)
    # the naive-time case passes --timezone only for the station table's dates: drop it to see the error
    tz = [] if "no --timezone" in case else ["--timezone", "+10:00"]
    out = probe.run(["camtrap", "import", tmp_path / "reid.csv", "--format", "reid-csv", "--stations",
                     tmp_path / "stations.csv", *tz, "--out", out_dir])  # fmt: skip
    import re

    line = probe.expect_failure(out)
    assert re.search(words, line), line


def _dp_edit(file: str, edit: Callable[[str], str | bytes]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        pkg = tmp / "src"
        shutil.copytree(EXAMPLE, pkg)
        new = edit((pkg / file).read_text(encoding="utf-8"))
        (pkg / file).write_bytes(new if isinstance(new, bytes) else new.encode())
        return pkg

    return make


def _drop_first_col(name: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        lines = text.splitlines()
        i = lines[0].split(",").index(name)
        # quoted cells may hold commas: rename the header cell instead of cutting columns
        head = lines[0].split(",")
        head[i] = f"x_{name}"
        return "\n".join([",".join(head), *lines[1:]]) + "\n"

    return edit


DP_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    **{f"deployments.csv: no {c}": (_dp_edit("deployments.csv", _drop_first_col(c)), f"{c}.*missing")
       for c in ("deploymentID", "latitude", "longitude", "deploymentStart", "deploymentEnd")},
    **{f"observations.csv: no {c}": (_dp_edit("observations.csv", _drop_first_col(c)), f"{c}.*missing")
       for c in ("observationID", "deploymentID", "eventStart", "observationType")},
    "datapackage.json: not JSON": (_dp_edit("datapackage.json", lambda t: t[: len(t) // 2]), "not valid JSON"),
    "datapackage.json: a list": (_dp_edit("datapackage.json", lambda t: "[]"), "not a Data Package"),
    "deployments.csv: latin-1 bytes": (_dp_edit("deployments.csv", lambda t: t.encode() + b"\xe9\xff,\n"),
                                       "not a readable CSV"),
    "observations.csv: naive eventStart": (
        _dp_edit("observations.csv", lambda t: _csv_cell(t, "eventStart", "2020-05-30T02:57:37")),
        "no time zone"),
    "deployments.csv: NaN latitude": (_dp_edit("deployments.csv", lambda t: _csv_cell(t, "latitude", "NaN")),
                                      "latitude"),
}  # fmt: skip


def _csv_cell(text: str, column: str, value: str) -> str:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    rows[1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("case", list(DP_CASES))
def test_bad_camtrap_dp_import(probe: Probe, tmp_path: Path, case: str) -> None:
    make, words = DP_CASES[case]
    src = make(tmp_path)
    out_dir = tmp_path / "pkg"
    probe.guard(out_dir)
    out = probe.run(["camtrap", "import", src, "--out", out_dir])
    import re

    line = probe.expect_failure(out)
    assert re.search(words, line), line


MD = json.loads((DATA / "megadetector.json").read_text(encoding="utf-8"))
MD_CASES: dict[str, tuple[str | bytes, str]] = {
    "truncated JSON": (json.dumps(MD)[:300], "JSON|MegaDetector"),
    "no images": (json.dumps({k: v for k, v in MD.items() if k != "images"}), "images|MegaDetector"),
    "images is a dict": (json.dumps({**MD, "images": {"a": 1}}), "images|MegaDetector"),
    "conf is text": (json.dumps({**MD, "images": [{**MD["images"][0], "detections": [
        {**MD["images"][0]["detections"][0], "conf": "high"}]}]}), "conf"),
    "no detection_categories": (json.dumps({k: v for k, v in MD.items() if k != "detection_categories"}),
                                "detection_categories"),
    "latin-1 bytes": (json.dumps(MD).replace("hand-made", "caf\xe9").encode("latin-1"), "JSON|UTF-8|utf-8"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MD_CASES))
def test_bad_megadetector_import(probe: Probe, tmp_path: Path, case: str) -> None:
    doc, words = MD_CASES[case]
    src = tmp_path / "md.json"
    src.write_bytes(doc if isinstance(doc, bytes) else doc.encode())
    out_dir = tmp_path / "pkg"
    probe.guard(out_dir)
    out = probe.run(["camtrap", "import", src, "--format", "megadetector", "--stations", DATA / "stations.csv",
                     "--timezone", "Asia/Vladivostok", "--out", out_dir])  # fmt: skip
    import re

    line = probe.expect_failure(out)
    assert re.search(words, line), line


def test_import_keeps_an_existing_package(probe: Probe, tmp_path: Path) -> None:
    out_dir = tmp_path / "pkg"
    shutil.copytree(EXAMPLE, out_dir)
    probe.guard(out_dir)
    (tmp_path / "reid.csv").write_text(_drop(REID, "species"))
    (tmp_path / "stations.csv").write_text(STATIONS)
    out = probe.run(["camtrap", "import", tmp_path / "reid.csv", "--stations", tmp_path / "stations.csv",
                     "--timezone", "+10:00", "--out", out_dir, "--overwrite"], subprocess_run=True)  # fmt: skip
    assert "species" in probe.expect_failure(out)


def test_validate_a_folder_that_is_no_package(probe: Probe, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = probe.run(["camtrap", "validate", tmp_path / "empty"], subprocess_run=True)
    assert out.code == 1 and "Traceback" not in out.stderr, out.stderr[-800:]
