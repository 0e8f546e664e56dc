"""Effort, independence, RAI, occupancy and capture histories on a hand-built table with answers worked by hand.

The table (all times UTC; LEO = Panthera pardus orientalis):

    station A: deployment A1 06-01 00:00 -> 06-11 00:00 (10 d), A2 06-16 00:00 -> 06-21 00:00 (5 d);
               the 5 days between are a malfunction gap -> 15 trap-days
    station B: deployment B1 06-01 12:00 -> 06-03 00:00 -> 1.5 trap-days
    station C: in the stations table, never deployed -> 0 trap-days (not operating)
    station D: deployment D1 06-01 00:00 -> 06-11 00:00 -> 10 trap-days, nothing detected

    e1 A 06-02 21:00 LEO F1 female adult
    e2 A 06-02 21:20 LEO F1                     20 min after e1: dependent
    e3 A 06-02 21:20 LEO (unidentified) juvenile, same minute as e2 (F1's cub)
    e7 A 06-02 23:00 LEO M1 male adult          2 h after e1: independent
    e4 A 06-05 03:00 LEO F1
    e5 A 06-17 04:00 LEO M1
    e6 B 06-02 05:00 LEO M1
    b1 B 06-02 10:00 Sus scrofa

Independent LEO events (30 min): A = e1, e7, e4, e5 = 4; B = e6 = 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from skywatch.camtrap.effort import (
    TOTAL,
    CompareTo,
    capture_counts,
    capture_histories,
    detection_history,
    independent_events,
    naive_occupancy,
    occasions,
    operation_matrix,
    relative_abundance,
    trap_days,
    within_effort,
)
from skywatch.camtrap.events import EVENT_COLUMNS, DetectionTable
from skywatch.camtrap.readers.camtrapdp import read_camtrap_dp_table
from skywatch.cli.main import cli
from skywatch.errors import CamtrapError

LEO = "Panthera pardus orientalis"
BOAR = "Sus scrofa"
NAN = float("nan")


def _t(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2025-{text}", tz="UTC")


def _event(station: str, when: str, species: str = LEO, individual: str = "", **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "station": station,
        "deployment": f"{station}1",
        "timestamp": _t(when),
        "kind": "animal",
        "species": species,
        "individual": individual,
        "score": NAN,
        "count": 1,
        "sex": "",
        "life_stage": "",
        "behavior": "",
        "source": f"obs.csv row {extra.pop('row', 0)}",
    }
    row.update(extra)
    return row


def make_table(events: list[dict[str, object]] | None = None) -> DetectionTable:
    stations = pd.DataFrame(
        {"station": ["A", "B", "C", "D"], "longitude": [131.0, 131.1, 131.2, 131.3], "latitude": [43.0] * 4}
    )
    deployments = pd.DataFrame(
        {
            "deployment": ["A1", "A2", "B1", "D1"],
            "station": ["A", "A", "B", "D"],
            "start": [_t("06-01 00:00"), _t("06-16 00:00"), _t("06-01 12:00"), _t("06-01 00:00")],
            "end": [_t("06-11 00:00"), _t("06-21 00:00"), _t("06-03 00:00"), _t("06-11 00:00")],
        }
    )
    if events is None:
        events = [
            _event("A", "06-02 21:00", individual="F1", sex="female", life_stage="adult", row=2),
            _event("A", "06-02 21:20", individual="F1", sex="female", life_stage="adult", row=3),
            _event("A", "06-02 21:20", life_stage="juvenile", row=4),
            _event("A", "06-02 23:00", individual="M1", sex="male", life_stage="adult", row=5),
            _event("A", "06-05 03:00", individual="F1", sex="female", life_stage="adult", row=6),
            _event("A", "06-17 04:00", individual="M1", sex="male", life_stage="adult", row=7),
            _event("B", "06-02 05:00", individual="M1", sex="male", life_stage="adult", row=8),
            _event("B", "06-02 10:00", species=BOAR, row=9),
        ]
    frame = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return DetectionTable(stations=stations, deployments=deployments, events=frame)


# -- effort --------------------------------------------------------------------------------------------------------


def test_trap_days_exclude_the_malfunction_gap() -> None:
    td = trap_days(make_table()).set_index("station")
    # A: 10 + 5 days (the 5-day gap 06-11..06-16 is not effort); B: 06-01 12:00..06-03 00:00 = 1.5; C: never set
    assert td.loc["A", "trap_days"] == 15.0 and td.loc["A", "gap_days"] == 5.0 and td.loc["A", "deployments"] == 2
    assert td.loc["B", "trap_days"] == 1.5 and td.loc["C", "trap_days"] == 0.0 and td.loc["D", "trap_days"] == 10.0
    per_dep = trap_days(make_table(), by="deployment").set_index("deployment")["trap_days"]
    assert per_dep.to_dict() == {"A1": 10.0, "A2": 5.0, "B1": 1.5, "D1": 10.0}


def test_overlapping_cameras_at_one_station_count_once() -> None:
    t = make_table()
    # a second camera at B, 06-02 00:00 -> 06-04 00:00: the union with B1 is 06-01 12:00 -> 06-04 00:00 = 2.5 days
    extra = pd.DataFrame({"deployment": ["B2"], "station": ["B"], "start": [_t("06-02 00:00")], "end": [_t("06-04")]})
    t2 = DetectionTable(stations=t.stations, deployments=pd.concat([t.deployments, extra]), events=t.events)
    assert trap_days(t2).set_index("station").loc["B", "trap_days"] == 2.5


def test_operation_matrix_fractions() -> None:
    op = operation_matrix(make_table())
    # default start: earliest deployment start (06-01 00:00) floored to the UTC day; 20 daily occasions to 06-21
    assert op.shape == (4, 20) and list(op.index) == ["A", "B", "C", "D"]
    assert op.loc["B", 0] == 0.5 and op.loc["B", 1] == 1.0 and op.loc["B", 2] == 0.0  # B starts at noon
    assert op.loc["A", 9] == 1.0 and op.loc["A", 10:14].sum() == 0.0 and op.loc["A", 15] == 1.0
    assert op.loc["C"].sum() == 0.0
    two = operation_matrix(make_table(), occasion_days=2.0)
    # occasion 7 = 06-15..06-17: A ran from 06-16 -> half of it
    assert two.shape[1] == 10 and two.loc["A", 7] == 0.5 and two.loc["A", 5] == 0.0
    # a local (UTC+10) start: 06-01 10:00+10:00 is 06-01 00:00 UTC, the same grid
    local = operation_matrix(make_table(), start="2025-06-01T10:00:00+10:00")
    pd.testing.assert_frame_equal(local, op)
    occ = occasions(make_table(), occasion_days=2.0)
    assert occ["start"].iloc[0] == _t("06-01 00:00") and occ["end"].iloc[-1] == _t("06-21 00:00")


def test_occasion_start_needs_a_time_zone() -> None:
    with pytest.raises(CamtrapError, match="no time zone"):
        operation_matrix(make_table(), start="2025-06-01")
    with pytest.raises(CamtrapError, match="must be > 0"):
        operation_matrix(make_table(), occasion_days=0)


# -- independence --------------------------------------------------------------------------------------------------


def _times(station: str, minutes: list[float]) -> pd.DataFrame:
    t0 = _t("06-02 00:00")
    return pd.DataFrame(
        {
            "station": station,
            "species": LEO,
            "timestamp": [t0 + pd.Timedelta(minutes=m) for m in minutes],
            "individual": "",
        }
    )


def test_independence_at_exactly_30_minutes() -> None:
    ev = pd.concat([_times("S", [0, 29 + 59 / 60]), _times("T", [0, 30])], ignore_index=True)
    modes: tuple[CompareTo, ...] = ("last_independent", "last_record")
    for mode in modes:
        kept = independent_events(ev, compare_to=mode)
        # S: 29:59 later -> dependent, one event of 2 records; T: 30:00 later -> independent, two events
        assert kept.groupby("station").size().to_dict() == {"S": 1, "T": 2}
        assert kept["records"].tolist() == [2, 1, 1]


def test_independence_modes_differ_on_a_long_visit() -> None:
    ev = _times("U", [0, 20, 45, 60, 100])
    # last record: gaps 20, 25, 15, 40 min -> only 0 and 100 open events (records 4 and 1)
    last_record = independent_events(ev, compare_to="last_record")
    assert last_record["timestamp"].tolist() == [ev["timestamp"][0], ev["timestamp"][4]]
    assert last_record["records"].tolist() == [4, 1]
    # last independent: 0 kept; 20 (20 min) no; 45 (45 from 0) kept; 60 (15 from 45) no; 100 (55 from 45) kept
    last_ind = independent_events(ev)
    assert last_ind["timestamp"].tolist() == [ev["timestamp"][i] for i in (0, 2, 4)]
    assert last_ind["records"].tolist() == [2, 2, 1]


def test_independence_per_individual() -> None:
    ev = _times("V", [0, 5])
    ev["individual"] = ["F1", "M1"]
    assert len(independent_events(ev)) == 1  # one leopard event at V ...
    assert len(independent_events(ev, by=("station", "species", "individual"))) == 2  # ... but two individuals


# -- RAI and occupancy ---------------------------------------------------------------------------------------------


def test_relative_abundance_by_hand() -> None:
    rai = relative_abundance(make_table(), LEO).set_index("station")
    # A 4 events / 15 days; B 1 / 1.5; C no effort -> NaN; D 0 / 10; total 5 / 26.5 trap-days
    assert rai.loc["A", "events"] == 4 and rai.loc["A", "rai"] == pytest.approx(100 * 4 / 15)
    assert rai.loc["B", "rai"] == pytest.approx(100 / 1.5)
    assert pd.isna(rai.loc["C", "rai"]) and rai.loc["D", "rai"] == 0.0
    assert rai.loc[TOTAL, "events"] == 5 and rai.loc[TOTAL, "trap_days"] == 26.5
    assert rai.loc[TOTAL, "rai"] == pytest.approx(100 * 5 / 26.5)
    both = relative_abundance(make_table())  # every named animal species, each with its total row last
    assert both["species"].unique().tolist() == [LEO, BOAR]
    assert both.groupby("species").tail(1)["station"].tolist() == [TOTAL, TOTAL]
    assert both.set_index(["species", "station"]).loc[(BOAR, TOTAL), "events"] == 1


def test_naive_occupancy() -> None:
    # operating: A, B, D (C never deployed); LEO detected at A and B -> 2 / 3
    assert naive_occupancy(make_table(), LEO) == pytest.approx(2 / 3)
    assert naive_occupancy(make_table(), BOAR) == pytest.approx(1 / 3)
    assert naive_occupancy(make_table(), "Ursus thibetanus") == 0.0


# -- histories -----------------------------------------------------------------------------------------------------


def test_detection_history_is_nan_where_the_camera_was_off() -> None:
    h = detection_history(make_table(), LEO, occasion_days=1.0)
    a = [0, 1, 0, 0, 1, 0, 0, 0, 0, 0] + [NAN] * 5 + [0, 1, 0, 0, 0]  # gap 06-11..06-16; e5 on 06-17 = occasion 16
    b = [0, 1] + [NAN] * 18  # B ran half of occasion 0 (no detection) and all of 1 (e6)
    d = [0] * 10 + [NAN] * 10
    expected = pd.DataFrame([a, b, [NAN] * 20, d], index=h.index, columns=h.columns, dtype=float)
    pd.testing.assert_frame_equal(h, expected)
    pd.testing.assert_index_equal(h.columns, operation_matrix(make_table()).columns)


def test_capture_histories_collapse_repeats_within_an_occasion() -> None:
    caps = capture_histories(make_table(), LEO, occasion_days=1.0)
    # F1: e1 + e2 at A on occasion 1 -> one row (2 detections); e4 occasion 4. The unidentified cub is left out.
    # M1: B occasion 1 (05:00), A occasion 1 (23:00): two stations, two rows; A occasion 16.
    rows = caps[["individual", "occasion", "station", "detections"]].values.tolist()
    assert rows == [["F1", 1, "A", 2], ["F1", 4, "A", 1], ["M1", 1, "B", 1], ["M1", 1, "A", 1], ["M1", 16, "A", 1]]
    assert caps["timestamp"].iloc[0] == _t("06-02 21:00")
    weekly = capture_histories(make_table(), LEO, occasion_days=7.0)
    # 7-day occasions: F1's three detections all fall in occasion 0 at A
    assert weekly[["individual", "occasion", "station", "detections"]].values.tolist() == [
        ["F1", 0, "A", 3],
        ["M1", 0, "B", 1],
        ["M1", 0, "A", 1],
        ["M1", 2, "A", 1],
    ]
    counts = capture_counts(make_table(), LEO, occasion_days=1.0).set_index("individual")
    assert counts.loc["F1", ["sex", "detections", "captures", "stations", "occasions"]].tolist() == [
        "female", 3, 2, 1, 2
    ]  # fmt: skip
    assert counts.loc["M1", ["sex", "detections", "captures", "stations", "occasions"]].tolist() == [
        "male", 3, 3, 2, 2
    ]  # fmt: skip


# -- events outside effort -----------------------------------------------------------------------------------------


def test_events_outside_effort_raise_or_are_skipped_and_reported() -> None:
    table = make_table()
    gap = pd.DataFrame([_event("A", "06-13 02:00", individual="F1", row=99)], columns=list(EVENT_COLUMNS))
    gap["timestamp"] = pd.to_datetime(gap["timestamp"], utc=True)
    bad = DetectionTable(stations=table.stations, deployments=table.deployments, events=pd.concat([table.events, gap]))
    for call in (
        lambda: relative_abundance(bad, LEO),
        lambda: naive_occupancy(bad, LEO),
        lambda: detection_history(bad, LEO, occasion_days=1.0),
        lambda: capture_histories(bad, LEO, occasion_days=1.0),
        lambda: within_effort(bad),
    ):
        with pytest.raises(CamtrapError, match=r"obs\.csv row 99"):
            call()
    relative_abundance(bad, BOAR)  # only the events a statistic uses are checked
    kept = within_effort(bad, on_error="skip")
    assert len(kept.events) == len(table.events)
    assert [(s.file, s.row, s.column) for s in kept.skipped] == [("obs.csv", 99, "timestamp")]
    assert "outside every deployment of station 'A'" in kept.skipped[0].reason
    assert relative_abundance(kept, LEO).set_index("station").loc["A", "events"] == 4


# -- Camtrap DP and the CLI ------------------------------------------------------------------------------------------


def test_summary_on_the_sample(sample_dir: Path) -> None:
    pkg_dir = sample_dir / "camtrap"
    truth = json.loads((sample_dir / "truth" / "truth.json").read_text())["camtrap"]
    r = CliRunner().invoke(cli, ["camtrap", "summary", str(pkg_dir), "--species", LEO, "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    dep = pd.read_csv(pkg_dir / "deployments.csv")
    spans = (pd.to_datetime(dep.deploymentEnd, utc=True) - pd.to_datetime(dep.deploymentStart, utc=True)).dt
    dep["days"] = spans.total_seconds() / 86400
    by_station = {s["station"]: s for s in info["stations"]}
    gap = by_station[truth["gap_location"]]  # split into two deployments around the malfunction
    assert gap["deployments"] == 2 and gap["gap_days"] > 0
    assert gap["trap_days"] == pytest.approx(dep.loc[dep.locationID == truth["gap_location"], "days"].sum())
    assert info["total"]["trap_days"] == pytest.approx(dep["days"].sum())
    assert info["total"]["events"] == sum(s["events"] for s in info["stations"]) > 0
    assert info["naive_occupancy"] == pytest.approx(info["stations_detected"] / info["stations_operating"])
    obs = pd.read_csv(pkg_dir / "observations.csv", dtype=str, keep_default_na=False)
    adults = obs[(obs.scientificName == LEO) & (obs.individualID != "") & (obs.lifeStage != "juvenile")]
    assert info["individual_ids"] == sorted(adults.individualID.unique())  # cubs are not counted
    # the reader the CLI used, called directly
    table = read_camtrap_dp_table(pkg_dir)
    assert relative_abundance(table, LEO).set_index("station").loc[TOTAL, "events"] == info["total"]["events"]

    text = CliRunner().invoke(cli, ["camtrap", "summary", str(pkg_dir), "--species", LEO])
    assert text.exit_code == 0 and "naive occupancy" in text.stdout
    typo = CliRunner().invoke(cli, ["camtrap", "summary", str(pkg_dir), "--species", "Panthera pardus"])
    assert typo.exit_code == 1 and "species present" in typo.output


def test_summary_reports_skipped_events(tmp_path: Path) -> None:
    # S1 runs 06-01..06-11 UTC; the 06-20 leopard is outside it: an error, or skipped and listed
    (tmp_path / "datapackage.json").write_text(json.dumps({"name": "tiny", "resources": []}))
    (tmp_path / "deployments.csv").write_text(
        "deploymentID,locationID,latitude,longitude,deploymentStart,deploymentEnd\n"
        "D1,S1,43.0,131.0,2025-06-01T00:00:00Z,2025-06-11T00:00:00Z\n"
    )
    (tmp_path / "observations.csv").write_text(
        "observationID,deploymentID,eventID,eventStart,observationLevel,observationType,scientificName,individualID\n"
        f"O1,D1,E1,2025-06-02T21:00:00Z,event,animal,{LEO},F1\n"
        f"O2,D1,E2,2025-06-20T21:00:00Z,event,animal,{LEO},F1\n"
    )
    args = ["camtrap", "summary", str(tmp_path), "--species", LEO, "--json"]
    failed = CliRunner().invoke(cli, args)
    assert failed.exit_code == 1 and "observations.csv:3" in failed.output
    r = CliRunner().invoke(cli, [*args, "--on-error", "skip"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    # 1 event in 10 trap-days -> RAI 10; the skipped one is listed with file and row
    assert info["total"] == {"trap_days": 10.0, "events": 1, "rai": 10.0}
    assert len(info["skipped"]) == 1 and "observations.csv row 3" in info["skipped"][0]
    # the reader marks the skipped row's source
    table = read_camtrap_dp_table(tmp_path)
    assert table.events["source"].str.endswith("observations.csv:3").tolist() == [False, True]
