"""Individual ranges on stations placed exactly in UTM 52N (EPSG:32652), with areas known in closed form."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from skywatch.camtrap.events import EVENT_COLUMNS, DetectionTable
from skywatch.camtrap.ranges import (
    RANGE_COLUMNS,
    detection_points,
    females_with_cubs,
    individual_ranges,
    reference_bandwidth,
)
from skywatch.camtrap.readers.camtrapdp import read_camtrap_dp_table

LEO = "Panthera pardus orientalis"
EPSG = 32652
X0, Y0 = 650_000.0, 4_770_000.0
# a 2 km square of stations (SW, SE, NE, NW), its centre, and two far stations 3 km apart
XY = {
    "SW": (X0, Y0),
    "SE": (X0 + 2000, Y0),
    "NE": (X0 + 2000, Y0 + 2000),
    "NW": (X0, Y0 + 2000),
    "C": (X0 + 1000, Y0 + 1000),
    "P": (X0 + 10_000, Y0),
    "Q": (X0 + 13_000, Y0),
}


def _event(station: str, minute: float, individual: str = "", **extra: object) -> dict[str, object]:
    row: dict[str, object] = {c: "" for c in EVENT_COLUMNS}
    row.update(
        station=station,
        deployment=f"{station}1",
        timestamp=pd.Timestamp("2025-06-02", tz="UTC") + pd.Timedelta(minutes=minute),
        kind="animal",
        species=LEO,
        individual=individual,
        score=math.nan,
        count=1,
        source=f"test row {minute:g}",
    )
    row.update(extra)
    return row


def make_table(events: list[dict[str, object]]) -> DetectionTable:
    to_wgs = Transformer.from_crs(EPSG, 4326, always_xy=True)
    names = list(XY)
    lon, lat = to_wgs.transform([XY[n][0] for n in names], [XY[n][1] for n in names])
    stations = pd.DataFrame({"station": names, "longitude": lon, "latitude": lat})
    deployments = pd.DataFrame(
        {
            "deployment": [f"{n}1" for n in names],
            "station": names,
            "start": pd.Timestamp("2025-06-01", tz="UTC"),
            "end": pd.Timestamp("2025-07-01", tz="UTC"),
        }
    )
    frame = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return DetectionTable(stations=stations, deployments=deployments, events=frame)


def _square_table() -> DetectionTable:
    events = [_event(s, i * 60, "SQ", sex="male") for i, s in enumerate(["SW", "SE", "NE", "NW", "C", "C"])]
    events += [_event("P", 1000, "ONE", sex="female"), _event("P", 2000, "TWO"), _event("Q", 3000, "TWO")]
    return make_table(events)


def test_mcp_of_a_square_and_kernel_nesting() -> None:
    frame = individual_ranges(_square_table(), LEO, epsg=EPSG)
    assert list(frame.columns) == list(RANGE_COLUMNS) and frame.crs.to_epsg() == EPSG
    assert frame["range"].tolist()[:3] == ["mcp100", "kde50", "kde95"]
    r = frame.set_index(["individual", "range"])
    sq = r.loc["SQ"]
    # the hull of a 2 km square (the centre station is inside it) is 4 km2
    assert sq.loc["mcp100", "area_km2"] == pytest.approx(4.0, rel=1e-6)
    assert not sq["degenerate"].any()
    assert sq.loc["mcp100", "n_detections"] == 6 and sq.loc["mcp100", "n_stations"] == 5
    assert 0 < sq.loc["kde50", "area_km2"] < sq.loc["kde95", "area_km2"]
    assert sq.loc["kde95", "geometry"].contains(sq.loc["kde50", "geometry"].buffer(-1))
    assert math.isnan(sq.loc["mcp100", "bandwidth_m"]) and sq.loc["kde95", "bandwidth_m"] > 250


def test_degenerate_ranges_are_flagged() -> None:
    r = individual_ranges(_square_table(), LEO, epsg=EPSG).set_index(["individual", "range"])
    one, two = r.loc["ONE"], r.loc["TWO"]
    assert one["degenerate"].all() and two["degenerate"].all()
    # one station: a 500 m buffer, pi * 0.5^2 km2 (shapely's 64-gon is 0.16 % smaller)
    assert one.loc["mcp100", "area_km2"] == pytest.approx(math.pi * 0.25, rel=3e-3)
    # two stations 3 km apart: a stadium, 2 r L + pi r^2 = 3 + 0.785 km2
    assert two.loc["mcp100", "area_km2"] == pytest.approx(3.0 + math.pi * 0.25, rel=3e-3)
    # one point, bandwidth at its 250 m floor: the p isopleth of a circular Gaussian is a disc of area
    # 2 pi h^2 (-ln(1 - p)) -> 95 %: 1.1764 km2, 50 %: 0.2722 km2 (raster cells h / 10)
    assert one.loc["kde95", "bandwidth_m"] == 250.0
    assert one.loc["kde95", "area_km2"] == pytest.approx(2 * math.pi * 0.25**2 * -math.log(0.05), rel=0.02)
    assert one.loc["kde50", "area_km2"] == pytest.approx(2 * math.pi * 0.25**2 * math.log(2), rel=0.03)


def test_reference_bandwidth_by_hand() -> None:
    x, y = np.array([0.0, 2000, 2000, 0]), np.array([0.0, 0, 2000, 2000])
    # var_x = var_y = 4 x 1000^2 / 3; h = sqrt(4e6 / 3) * 4^(-1/6) = 1154.70 * 0.79370 = 916.48 m
    assert reference_bandwidth(x, y) == pytest.approx(916.48, abs=0.01)
    assert reference_bandwidth(x[:1], y[:1]) == 250.0  # one point: the floor
    # counts are frequency weights: 2 detections at each corner = the 8 points listed twice
    assert reference_bandwidth(x, y, np.full(4, 2.0)) == pytest.approx(
        reference_bandwidth(np.r_[x, x], np.r_[y, y]), rel=1e-12
    )


def test_detection_points() -> None:
    pts = detection_points(_square_table(), LEO, EPSG).set_index(["individual", "station"])
    assert pts.loc[("SQ", "C"), "detections"] == 2 and len(pts) == 5 + 1 + 2
    assert pts.loc[("TWO", "Q"), "x"] == pytest.approx(XY["Q"][0], abs=1e-3)


def test_female_with_cubs_rule() -> None:
    events = [
        # F1: an unidentified juvenile at the same station, 30 s later -> flagged
        _event("SW", 0, "F1", sex="female"),
        _event("SW", 0.5, life_stage="juvenile"),
        # F2: her own record says so -> flagged
        _event("SE", 100, "F2", sex="female", behavior="Accompanied by CUB"),
        # F3: a juvenile at her station, but 10 minutes later -> not flagged
        _event("NE", 200, "F3", sex="female"),
        _event("NE", 210, life_stage="juvenile"),
        # M1: a juvenile in the same minute, but he is male -> not flagged
        _event("NW", 300, "M1", sex="male"),
        _event("NW", 300, life_stage="juvenile"),
        # F4: a juvenile of another species in the same minute -> not flagged
        _event("C", 400, "F4", sex="female"),
        _event("C", 400, species="Sus scrofa", life_stage="juvenile"),
    ]
    table = make_table(events)
    assert females_with_cubs(table, LEO) == ["F1", "F2"]
    r = individual_ranges(table, LEO, epsg=EPSG)
    flags = r.groupby("individual")["female_with_cubs"].first().to_dict()
    assert flags == {"F1": True, "F2": True, "F3": False, "F4": False, "M1": False}
    assert set(r["sex"]) == {"female", "male"}


def test_no_identified_individuals_gives_an_empty_frame() -> None:
    r = individual_ranges(make_table([_event("SW", 0)]), LEO, epsg=EPSG)
    assert r.empty and list(r.columns) == list(RANGE_COLUMNS) and r.crs.to_epsg() == EPSG


def test_ranges_on_the_sample(sample_dir: Path) -> None:
    pkg = sample_dir / "camtrap"
    table = read_camtrap_dp_table(pkg)
    r = individual_ranges(table, LEO, epsg=EPSG)
    obs = pd.read_csv(pkg / "observations.csv", dtype=str, keep_default_na=False)
    leo = obs[obs.scientificName == LEO]
    adults = leo[(leo.individualID != "") & (leo.lifeStage != "juvenile")]
    assert sorted(r["individual"].unique()) == sorted(adults.individualID.unique())  # no range for a cub
    mothers = set(adults.loc[adults.behavior.str.contains("cub") & (adults.sex == "female"), "individualID"])
    assert mothers and set(r.loc[r["female_with_cubs"], "individual"]) == mothers
    kde = r.pivot(index="individual", columns="range", values="area_km2")
    assert (kde["kde95"] > kde["kde50"]).all()
