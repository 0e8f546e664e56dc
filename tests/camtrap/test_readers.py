"""Readers: each format into a DetectionTable; bad rows raise naming file/row/column, or are skipped and listed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from skywatch.camtrap.events import Skipped
from skywatch.camtrap.readers import (
    detect_format,
    parse_timezone,
    read_camtrap_dp_table,
    read_coco,
    read_detections,
    read_megadetector,
    read_reid_csv,
    read_stations,
)
from skywatch.camtrap.readers._common import parse_time
from skywatch.errors import CamtrapError

DATA = Path(__file__).resolve().parents[1] / "data" / "camtrap"
EXAMPLE = DATA / "camtrap-dp-example"
STATIONS = DATA / "stations.csv"
VLADIVOSTOK = "Asia/Vladivostok"


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


# -- Camtrap DP --------------------------------------------------------------------------------------------


def test_camtrap_dp_example() -> None:
    t = read_camtrap_dp_table(EXAMPLE)
    assert t.skipped == []
    assert list(t.stations["station"]) == ["e254a13c", "2df5259b", "ff1535c0", "ce943ced"]  # locationID
    assert len(t.deployments) == 4 and t.deployments["station"].nunique() == 4
    dep = t.deployments.set_index("deployment")
    assert dep.at["00a2c20d", "start"] == _utc("2020-05-30T04:57:37+02:00")
    assert dep.at["62c200a9", "end"] == _utc("2021-04-18T22:25:00+01:00")
    # 36 event-level observations + 3 time-lapse blanks described only per image; 510 media rows folded away
    assert len(t.events) == 39 and t.metadata["media_observations_folded"] == 510
    ev = t.events
    assert ev["kind"].value_counts().to_dict() == {
        "animal": 29,
        "blank": 6,
        "unknown": 2,
        "unclassified": 1,
        "vehicle": 1,
    }
    first = ev.iloc[0]
    assert first["source"] == "observations.csv:2" and first["timestamp"] == _utc("2020-05-30T02:57:37Z")
    assert (first["species"], first["sex"], first["life_stage"], first["behavior"], first["count"]) == (
        "Anas platyrhynchos", "female", "adult", "foraging", 1
    )  # fmt: skip
    herons = ev[ev["species"] == "Ardea"]
    assert sorted(herons["score"]) == [0.89, 0.9]  # classificationProbability of the machine-classified events
    assert (ev["individual"] == "").all()  # the example identifies no individuals
    assert len(read_camtrap_dp_table(EXAMPLE / "datapackage.json", level="all").events) == 549
    assert len(read_camtrap_dp_table(EXAMPLE, level="media").events) == 513


def test_camtrap_dp_synthetic_sample(sample_dir: Path) -> None:
    pkg = sample_dir / "camtrap"
    t = read_camtrap_dp_table(pkg)
    dep = pd.read_csv(pkg / "deployments.csv")
    obs = pd.read_csv(pkg / "observations.csv", keep_default_na=False)
    assert len(t.events) == len(obs) and t.skipped == []
    assert set(t.stations["station"]) == set(dep["locationID"])
    assert (t.deployments.groupby("station").size() == 2).sum() == 1  # the station with a malfunction gap
    leopards = t.species("Panthera pardus orientalis")
    assert len(leopards) and (leopards["individual"] != "").all()
    assert {"juvenile"} <= set(t.events["life_stage"])


def _broken_copy(tmp_path: Path, file: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    pkg = tmp_path / "pkg"
    shutil.copytree(EXAMPLE, pkg)
    frame = pd.read_csv(pkg / file, dtype=str, keep_default_na=False)
    edit(frame).to_csv(pkg / file, index=False)
    return pkg


def _set(row: int, column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Set one cell; ``row`` counts as a spreadsheet does (header = row 1)."""

    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row - 2, column] = value
        return frame

    return edit


def _copy_id(row: int, from_row: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row - 2, "observationID"] = frame.loc[from_row - 2, "observationID"]
        return frame

    return edit


MALFORMED = {
    "missing column": ("observations.csv", lambda f: f.drop(columns=["eventStart"]), 1, "eventStart", "missing"),
    "no time zone": ("observations.csv", _set(2, "eventStart", "2020-05-30T02:57:37"), 2, "eventStart", "no time zone"),
    "unknown deployment": ("observations.csv", _set(13, "deploymentID", "nosuchdep"), 13, "deploymentID", "nosuchdep"),
    "duplicate ID": ("observations.csv", _copy_id(24, 2), 24, "observationID", "first on row 2"),
    "end before start": ("deployments.csv", _set(3, "deploymentEnd", "2020-07-01T00:00:00+02:00"), 3, "deploymentEnd",
                         "before deploymentStart"),
    "no coordinates": ("deployments.csv", _set(4, "latitude", ""), 4, "latitude", "no coordinates"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED))
def test_camtrap_dp_malformed_names_file_row_column(tmp_path: Path, case: str) -> None:
    file, edit, row, column, words = MALFORMED[case]
    pkg = _broken_copy(tmp_path, file, edit)
    with pytest.raises(CamtrapError) as info:
        read_camtrap_dp_table(pkg)
    message = str(info.value)
    assert f"{pkg / file} row {row} column {column!r}" in message and words in message
    if row == 1:  # a missing column cannot be skipped
        with pytest.raises(CamtrapError, match="eventStart"):
            read_camtrap_dp_table(pkg, on_error="skip")
        return
    t = read_camtrap_dp_table(pkg, on_error="skip")
    first = t.skipped[0]
    assert (first.file, first.row, first.column) == (str(pkg / file), row, column) and words in first.reason
    if file == "deployments.csv":  # the deployment's observations go too, each listed
        dep_id = pd.read_csv(pkg / file, dtype=str).loc[row - 2, "deploymentID"]
        assert dep_id not in set(t.deployments["deployment"])
        assert all("was skipped" in s.reason for s in t.skipped[1:]) and len(t.skipped) > 1
        assert dep_id not in set(t.events["deployment"])
    else:
        assert len(t.skipped) == 1 and len(t.events) == 38  # the broken event-level row, and nothing else


def test_camtrap_dp_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(CamtrapError, match="not a Camtrap DP package"):
        read_camtrap_dp_table(tmp_path)


# -- station tables ----------------------------------------------------------------------------------------


def test_station_table_problem_period_splits_deployments() -> None:
    st = read_stations(STATIONS, timezone=VLADIVOSTOK)
    dep = st.deployments.set_index("deployment")
    assert list(dep.index) == ["LL01-1", "LL02-1", "LL02-2", "LL03-1"]
    # dates alone: setup at 00:00, retrieval at 24:00 local; the problem runs from 00:00 of its from day to
    # 24:00 of its to day (its last broken day, as camtrapR documents Problem1_to); date-times are kept as given
    assert dep.at["LL01-1", "start"] == _utc("2024-05-01T00:00:00+10:00")
    assert dep.at["LL01-1", "end"] == _utc("2024-08-01T00:00:00+10:00")
    assert dep.at["LL02-1", "start"] == _utc("2024-05-01T10:30:00+10:00")
    assert dep.at["LL02-1", "end"] == _utc("2024-06-10T00:00:00+10:00")
    assert dep.at["LL02-2", "start"] == _utc("2024-06-21T00:00:00+10:00")
    assert dep.at["LL02-2", "end"] == _utc("2024-07-31T16:00:00+10:00")
    assert st.stations.set_index("station").at["LL03", "longitude"] == pytest.approx(131.512)


def test_station_table_errors(tmp_path: Path) -> None:
    with pytest.raises(CamtrapError, match=r"stations.csv row 2 column 'start'.*no time zone"):
        read_stations(STATIONS)
    bad = tmp_path / "stations.csv"
    bad.write_text(
        "Station,utm_x,utm_y,Setup_date,Retrieval_date\nA,526000,604000,02/04/2009,14/05/2009\n", encoding="utf-8"
    )
    with pytest.raises(CamtrapError, match="pass their EPSG code"):
        read_stations(bad, timezone="+08:00")
    bad.write_text("station,longitude,latitude,start,end\nA,131.4,43.1,2024-05-03,2024-05-01\nB,131.5,43.2,2024-05-01,"
                   "2024-06-01\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(CamtrapError, match=r"row 2 column 'end'.*is not after"):
        read_stations(bad, timezone="+10:00")
    st = read_stations(bad, timezone="+10:00", on_error="skip")
    assert list(st.stations["station"]) == ["B"] and [s.row for s in st.skipped] == [2]


def test_camtrapr_camera_table(shared: Path) -> None:
    src = shared / "data" / "real" / "camtrapr-leopardcat-individuals" / "camtraps.csv"
    st = read_stations(src, epsg=32650, timezone="+08:00")  # Sabah; utm_x/utm_y in UTM zone 50N
    # StationC's malfunction (Problem1_from 12/05/2009, Problem1_to 17/05 = its last day) reaches the retrieval
    # day, so one deployment remains, ending when the malfunction began
    assert st.deployments.groupby("station").size().to_dict() == {"StationA": 1, "StationB": 1, "StationC": 1}
    c = st.deployments[st.deployments["station"] == "StationC"].reset_index(drop=True)
    assert c.at[0, "end"] == _utc("2009-05-12T00:00:00+08:00")
    lon, lat = st.stations.set_index("station").loc["StationA", ["longitude", "latitude"]]
    assert 117.0 < lon < 117.5 and 5.3 < lat < 5.6


# -- MegaDetector ------------------------------------------------------------------------------------------


def test_megadetector_raises_on_the_first_bad_image() -> None:
    with pytest.raises(CamtrapError, match=r"megadetector.json row 6 column 'failure': .*Failure image access"):
        read_megadetector(DATA / "megadetector.json", stations=STATIONS, timezone=VLADIVOSTOK)


def test_megadetector_skip_mode() -> None:
    t = read_megadetector(DATA / "megadetector.json", stations=STATIONS, timezone=VLADIVOSTOK, on_error="skip")
    assert [(s.row, s.column) for s in t.skipped] == [(6, "failure"), (7, "datetime"), (8, "datetime")]
    assert "no 'datetime'" in t.skipped[1].reason and "outside every operating period" in t.skipped[2].reason
    ev = t.events
    assert list(ev["kind"]) == ["animal", "animal", "human", "vehicle", "animal"]
    assert list(ev["station"]) == ["LL01", "LL01", "LL02", "LL02", "LL03"]
    assert list(ev["species"]) == ["Panthera pardus orientalis", "", "", "", "Capreolus pygargus"]
    assert list(ev["score"]) == [0.88, 0.91, 0.85, 0.64, 0.95]  # classification conf, else detection conf
    assert ev.iloc[0]["timestamp"] == _utc("2024-05-14T21:13:05+10:00")
    assert ev.iloc[3]["timestamp"] == _utc("2024-06-03T11:02:17+10:00")  # EXIF-style datetime
    assert ev.iloc[0]["source"] == "megadetector.json:1"
    meta = t.metadata
    assert (meta["images_blank"], meta["detections_below_threshold"], meta["format_version"]) == (1, 1, "1.4")
    low = read_megadetector(DATA / "megadetector.json", stations=STATIONS, timezone=VLADIVOSTOK, min_conf=0.1,
                            on_error="skip")  # fmt: skip
    assert len(low.events) == 6


def test_megadetector_station_pattern(tmp_path: Path) -> None:
    t = read_megadetector(DATA / "megadetector.json", stations=STATIONS, timezone=VLADIVOSTOK, on_error="skip",
                          station_pattern=r"^(?P<station>LL0[12])/")  # fmt: skip
    assert len(t.events) == 4 and (7, "file") in [(s.row, s.column) for s in t.skipped]  # LL03 does not match
    with pytest.raises(CamtrapError, match="named group 'station'"):
        read_megadetector(DATA / "megadetector.json", stations=STATIONS, station_pattern=r"^(LL\d+)/")
    old = tmp_path / "old.json"
    old.write_text('{"info": {"format_version": "0.9"}, "detection_categories": {}, "images": []}', encoding="utf-8")
    with pytest.raises(CamtrapError, match=r"format 1\.x"):
        read_megadetector(old, stations=STATIONS, timezone=VLADIVOSTOK)


# -- re-ID CSV and camtrapR record tables ------------------------------------------------------------------


def test_reid_csv() -> None:
    with pytest.raises(CamtrapError, match=r"reid.csv row 5 column 'timestamp'.*no time zone"):
        read_reid_csv(DATA / "reid.csv", stations=read_stations(STATIONS, timezone=VLADIVOSTOK))
    t = read_reid_csv(DATA / "reid.csv", stations=STATIONS, timezone=VLADIVOSTOK, on_error="skip")
    assert t.skipped == [
        Skipped(str(DATA / "reid.csv"), 6, "timestamp", t.skipped[0].reason)
    ] and "LL02" in t.skipped[0].reason  # fmt: skip
    ev = t.events
    assert list(ev["station"]) == ["LL01", "LL01", "LL02", "LL03", "LL03"]  # row 4 matched by position
    assert list(ev["individual"]) == ["PPO-F03", "PPO-M07", "PPO-F03", "PTA-M01", ""]
    assert list(ev["sex"]) == ["female", "male", "", "male", ""]
    assert ev.iloc[3]["timestamp"] == _utc("2024-07-02T04:12:00+10:00")
    assert len(t.deployments) == 4 and len(t.stations) == 3  # stations and effort come from the station table


def test_camtrapr_record_table(shared: Path) -> None:
    root = shared / "data" / "real" / "camtrapr-leopardcat-individuals"
    t = read_detections(root / "recordTableIndividualSample.csv", stations=root / "camtraps.csv", epsg=32650,
                        timezone="+08:00")  # fmt: skip
    assert len(t.events) == 21 and t.skipped == []
    assert t.events["individual"].value_counts().to_dict() == {"1": 10, "2": 8, "3": 3}
    assert t.events["station"].value_counts().to_dict() == {"StationB": 9, "StationC": 8, "StationA": 4}
    assert (t.deployments["station"] == "StationC").sum() == 1
    assert set(t.events["species"]) == {"LeopardCat"}


# -- Wildbook / COCO ---------------------------------------------------------------------------------------


def test_coco() -> None:
    with pytest.raises(CamtrapError, match=r"wildbook_coco.json row 5 column 'gps_lat_captured'.*no station within"):
        read_coco(DATA / "wildbook_coco.json", stations=STATIONS, timezone=VLADIVOSTOK)
    t = read_coco(DATA / "wildbook_coco.json", stations=STATIONS, timezone=VLADIVOSTOK, on_error="skip")
    assert [(s.row, s.column) for s in t.skipped] == [(5, "gps_lat_captured"), (6, "station"), (7, "image_id")]
    ev = t.events
    assert list(ev["station"]) == ["LL01", "LL02", "LL03", "LL03"]  # image 2 by GPS, 3 by its location field
    assert list(ev["individual"]) == ["PPO-F03", "PPO-M07", "PTA-M01", ""]  # "____" = unidentified
    assert list(ev["species"]) == ["Panthera pardus orientalis"] * 2 + ["Panthera tigris altaica",
                                                                         "Panthera pardus orientalis"]  # fmt: skip
    assert ev.iloc[1]["timestamp"] == _utc("2024-06-02T22:14:51+10:00")


# -- helpers -----------------------------------------------------------------------------------------------


def test_detect_format() -> None:
    assert detect_format(EXAMPLE) == "camtrap-dp"
    assert detect_format(EXAMPLE / "datapackage.json") == "camtrap-dp"
    assert detect_format(DATA / "megadetector.json") == "megadetector"
    assert detect_format(DATA / "wildbook_coco.json") == "coco"
    assert detect_format(DATA / "reid.csv") == "reid-csv"
    with pytest.raises(CamtrapError, match="needs a station table"):
        read_detections(DATA / "reid.csv")


def test_time_parsing() -> None:
    tz = parse_timezone("+10:00")
    assert parse_time("2024-06-01 21:13:05", tz, column="t") == _utc("2024-06-01T11:13:05Z")
    assert parse_time("2024-06-01T21:13:05-03:30", None, column="t") == _utc("2024-06-02T00:43:05Z")
    assert parse_time("01/06/2024", tz, column="t", allow_date=True) == _utc("2024-05-31T14:00:00Z")
    assert parse_timezone("Asia/Vladivostok") is not None and parse_timezone("UTC") is not None
    with pytest.raises(CamtrapError, match="neither a UTC offset"):
        parse_timezone("+10 hours")
