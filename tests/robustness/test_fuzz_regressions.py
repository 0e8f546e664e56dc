"""Inputs that crashed the readers with something other than a skywatch error, found by fuzzing
(``benchmarks/fuzz_readers.py``: the key error of a moved lon/lat station, dates that overflow once in UTC,
``resources``/``info``/``classification_categories`` of the wrong type) and by reading the code it pointed at
(deep nesting, 5000-digit integers, huge counts, rows longer than the header). Each now raises a
:class:`~skywatch.errors.CamtrapError` that names the problem, or is read correctly; the files are minimised
by hand from the fuzzer's inputs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.readers import (
    StationTable,
    detect_format,
    read_camtrap_dp_table,
    read_coco,
    read_megadetector,
    read_reid_csv,
    read_stations,
)
from skywatch.camtrap.readers._jsonstream import JsonObjectStream
from skywatch.errors import CamtrapError

DATA = Path(__file__).resolve().parents[1] / "data" / "camtrap"
TZ = "Asia/Vladivostok"
MD = json.loads((DATA / "megadetector.json").read_text(encoding="utf-8"))
IMAGE = MD["images"][0]
DEEP = "[" * 100_000 + "]" * 100_000
DIGITS = '{"x": ' + "1" * 5000 + "}"  # an integer over Python's 4300-digit limit for str -> int
ST_HEAD = "station,longitude,latitude,start,end"


def _stations() -> StationTable:
    return read_stations(DATA / "stations.csv", timezone=TZ)


def _package(tmp: Path, name: str, text: str) -> Path:
    pkg = tmp / "pkg"
    shutil.copytree(DATA / "camtrap-dp-example", pkg)
    (pkg / name).write_text(text, encoding="utf-8")
    return pkg


def _file(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _md(doc: dict[str, object] | str) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


def _md_image(**changes: object) -> str:
    return json.dumps({**MD, "images": [{**IMAGE, **changes}]})


# name -> (read the input written under tmp, words of the error); every one raised a builtin error before
Read = Callable[[Path], object]
CASES: dict[str, tuple[Read, str]] = {
    # Camtrap DP descriptor: TypeError, IsADirectoryError, ValueError, RecursionError
    "datapackage resources null": (
        lambda t: read_camtrap_dp_table(_package(t, "datapackage.json", '{"resources": null}')),
        "'resources' that is not a list"),
    "datapackage resource path empty": (
        lambda t: read_camtrap_dp_table(_package(t, "datapackage.json",
                                                 '{"resources": [{"name": "observations", "path": ""}]}')),
        "has path ''"),
    "datapackage resource path with NUL": (
        lambda t: read_camtrap_dp_table(_package(t, "datapackage.json",
                                                 '{"resources": [{"name": "observations", "path": "a\\u0000b"}]}')),
        "has path"),
    "datapackage nested 10^5 deep": (
        lambda t: read_camtrap_dp_table(_package(t, "datapackage.json", DEEP)), "nested too deeply"),
    "datapackage 5000-digit integer": (
        lambda t: read_camtrap_dp_table(_package(t, "datapackage.json", DIGITS)), "not valid JSON"),
    # MegaDetector: RecursionError, OverflowError, ValueError
    "megadetector nested 10^5 deep": (
        lambda t: read_megadetector(_file(t, "md.json", '{"images": ' + DEEP + "}"), stations=_stations()),
        "nested too deeply"),
    "megadetector 5000-digit integer": (
        lambda t: read_megadetector(_file(t, "md.json", DIGITS), stations=_stations()), "cannot read"),
    "megadetector classification confidence 10^400": (
        lambda t: read_megadetector(_file(t, "md.json", _md_image(detections=[
            {**IMAGE["detections"][0], "classifications": [["0", 10**400]]}])), stations=_stations(), timezone=TZ),
        r"row 1 column 'detections\[0\].classifications'"),
    "megadetector year 1 east of UTC": (
        lambda t: read_megadetector(_file(t, "md.json", _md_image(datetime="0001-01-01T00:00:00+10:00")),
                                    stations=_stations(), timezone=TZ),
        "row 1 column 'datetime'.*outside the years 1-9999"),
    "megadetector info is text": (
        lambda t: read_megadetector(_file(t, "md.json", _md({**MD, "info": "\u1300"})), stations=_stations()),
        "format_version"),
    "megadetector classification_categories is a number": (
        lambda t: read_megadetector(_file(t, "md.json", _md({**MD, "classification_categories": 1.5})),
                                    stations=_stations()),
        "classification_categories"),
    "megadetector info is a list": (
        lambda t: read_megadetector(_file(t, "md.json", _md({**MD, "info": [1]})), stations=_stations()),
        "format_version"),
    "megadetector classification_categories is a list": (
        lambda t: read_megadetector(_file(t, "md.json", _md({**MD, "classification_categories": [1]})),
                                    stations=_stations()),
        "classification_categories"),
    # COCO and format detection: RecursionError, ValueError
    "coco nested 10^5 deep": (lambda t: read_coco(_file(t, "c.json", DEEP), stations=_stations()), "nested too deeply"),
    "coco 5000-digit integer": (lambda t: read_coco(_file(t, "c.json", DIGITS), stations=_stations()),
                                "not valid JSON"),
    "coco date_captured 9999-12-31 west of UTC": (
        lambda t: read_coco(_file(t, "c.json", json.dumps({"images": [{"id": 1, "station": "LL01",
                                                                        "date_captured": "9999-12-31T23:59:59-12:00"}],
                                                            "annotations": [{"id": 1, "image_id": 1, "category_id": 1}],
                                                            "categories": [{"id": 1, "name": "x"}]})),
                            stations=_stations()),
        "row 1 column 'date_captured'.*outside the years"),
    "detect_format nested 10^5 deep": (lambda t: detect_format(_file(t, "c.json", DEEP)), "not a JSON object"),
    "detect_format 5000-digit integer": (lambda t: detect_format(_file(t, "c.json", DIGITS)), "cannot read"),
    # station tables: KeyError, OverflowError
    "stations: a lon/lat station that moved": (
        lambda t: read_stations(_file(t, "s.csv", f"{ST_HEAD}\nA,131,43,2024-05-01,2024-06-01\n"
                                                  "A,132,43,2024-06-02,2024-07-01\n"), timezone="+10:00"),
        "row 3 column 'longitude'.*moved camera"),
    "stations: problem period to 9999-12-31": (
        lambda t: read_stations(_file(t, "s.csv", "station,longitude,latitude,start,end,problem1_from,problem1_to\n"
                                                  "LL01,131.45,43.10,2024-05-01,2024-07-31,2024-05-14,9999-12-31\n"),
                                timezone="+10:00"),
        "row 2 column 'problem1_to'.*outside the years"),
    "stations: end date 9999-12-31": (
        lambda t: read_stations(_file(t, "s.csv", f"{ST_HEAD}\nA,131,43,2024-05-01,9999-12-31\n"), timezone="+10:00"),
        "row 2 column 'end'.*outside the years"),
    # re-ID CSV: OverflowError; and rows longer than the header, which were read shifted one column right
    "re-ID: year 1 east of UTC": (
        lambda t: read_reid_csv(_file(t, "r.csv", "station,timestamp,species\nLL01,0001-01-01T00:00:00+10:00,x\n"),
                                stations=_stations()),
        "row 2 column 'timestamp'.*outside the years"),
    "re-ID: rows longer than the header": (
        lambda t: read_reid_csv(_file(t, "r.csv", "station,timestamp,species\n"
                                                  "X,LL01,2024-05-14T21:13:05+10:00,Panthera pardus\n"),
                                stations=_stations()),
        "more cells than the header"),
    "re-ID: count of 10^30": (
        lambda t: read_reid_csv(_file(t, "r.csv", "station,timestamp,species,count\n"
                                                  "LL01,2024-05-14T21:13:05+10:00,x,1" + "0" * 30 + "\n"),
                                stations=_stations()),
        "row 2 column 'count'.*too large"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_fuzz_regression(tmp_path: Path, case: str) -> None:
    read, words = CASES[case]
    with pytest.raises(CamtrapError, match=words):
        read(tmp_path)


def test_a_resource_name_that_is_not_text_is_ignored(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "datapackage.json", '{"resources": [{"name": [1], "path": "x.csv"}]}')
    table = read_camtrap_dp_table(pkg)  # was TypeError: unhashable type: 'list'
    assert isinstance(table, DetectionTable) and len(table.events) == 39


@pytest.mark.parametrize(
    "doc",
    [
        '{"a": 1, "b": [1, 2, {"c": "d"}], "e": "x\\"y", "f": 12345678901234567890, "g": -1.5e-3, "a": 2}',
        '  {"images": [], "k": [[]], "n": null, "t": true, "u": "\\ud800\\u00e9"}  \n',
        "{}",
    ],
)
@pytest.mark.parametrize("window", [1, 3, 7, 1 << 20])
def test_json_stream_reads_what_json_loads_reads(tmp_path: Path, doc: str, window: int) -> None:
    path = _file(tmp_path, "d.json", doc)
    got: dict[str, object] = {}
    with JsonObjectStream(path, read_chars=window) as stream:
        for key in stream.names():
            got[key] = list(stream.elements()) if stream.is_array() else stream.value()
    assert got == json.loads(doc)


@pytest.mark.parametrize(
    "doc",
    ['{"a": 1,}', '{"a" 1}', '{"a": [1,]}', '{"a": [1 2]}', '{"a": 1} x', "[1]", '{"a": "x', '{"a": tru}', ""],
)
def test_json_stream_refuses_what_json_loads_refuses(tmp_path: Path, doc: str) -> None:
    path = _file(tmp_path, "d.json", doc)
    words = "is not a JSON object" if doc in ("[1]", "") else "is not valid JSON"
    with pytest.raises(CamtrapError, match=words), JsonObjectStream(path, read_chars=2) as stream:
        for key in stream.names():
            if stream.is_array():
                list(stream.elements())
            else:
                stream.value()
            assert key


def test_json_stream_bounds_one_value(tmp_path: Path) -> None:
    path = _file(tmp_path, "d.json", '{"images": ["' + "x" * 5000 + '"]}')
    with pytest.raises(CamtrapError, match="longer than 1,024"), JsonObjectStream(path, max_value_chars=1024,
                                                                                  read_chars=64) as stream:  # fmt: skip
        for _ in stream.names():
            list(stream.elements())
