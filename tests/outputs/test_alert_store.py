"""The alert store across runs: no duplicates on re-runs, continuing incidents merge, unseen ones resolve."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box, mapping

from skywatch.errors import OutputError
from skywatch.outputs.alert_store import mark_pushed, query_store, read_store, update_store

LON, LAT = 131.10, 43.15
STEP = 0.001  # about 80 m east-west, 110 m north-south here


def _feature(kind: str, dx: float, day: str, pct: int = 60, size: float = 2) -> dict[str, Any]:
    geom = box(LON + dx * STEP, LAT, LON + (dx + size) * STEP, LAT + size * STEP)
    props = {"id": f"{kind}-{day}-{dx}", "type": kind, "acq_date": day, "confidence": "nominal",
             "confidence_pct": pct, "area_ha": 5.0}  # fmt: skip
    return {"type": "Feature", "id": props["id"], "properties": props, "geometry": mapping(geom)}


def _fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_runs_merge_resolve_and_never_duplicate(tmp_path: Path) -> None:
    store = tmp_path / "alerts.gpkg"
    first = _fc(_feature("fire_active", 0, "2025-10-01"), _feature("clearcut", 40, "2025-10-01"))
    u = update_store(store, first, run_date=date(2025, 10, 1))
    assert sorted(u.new) == ["clearcut-2025-10-01-40", "fire_active-2025-10-01-0"] and not u.ongoing
    again = update_store(store, first, run_date=date(2025, 10, 1))  # the same run loaded twice
    assert again.new == [] and sorted(again.unchanged) == sorted(u.new) and len(read_store(store)) == 2
    # 5 days later the fire has moved 160 m east (touching its old outline); the clear-cut is not seen again
    later = update_store(store, _fc(_feature("fire_active", 2, "2025-10-06", pct=90)), run_date=date(2025, 10, 6))
    assert later.ongoing == ["fire_active-2025-10-01-0"] and later.resolved == ["clearcut-2025-10-01-40"]
    rows = read_store(store).set_index("alert_id")
    fire = rows.loc["fire_active-2025-10-01-0"]
    assert (fire.status, fire.first_seen, fire.last_seen, fire.detections) == ("ongoing", "2025-10-01", "2025-10-06", 2)
    assert fire.confidence_pct == 90 and fire.geometry.area > box(0, 0, 2 * STEP, 2 * STEP).area  # grown by the union
    # a fire of another type far away, and one after a long gap: new alerts, not merges
    gap = update_store(store, _fc(_feature("fire_active", 2, "2025-11-20")), run_date=date(2025, 11, 20))
    assert gap.new == ["fire_active-2025-11-20-2"]
    assert len(read_store(store)) == 3


def test_coverage_drops_outside_and_resolves_only_inside(tmp_path: Path) -> None:
    store = tmp_path / "alerts.gpkg"
    inside = box(LON - 0.01, LAT - 0.01, LON + 0.02, LAT + 0.02)
    run = _fc(_feature("road", 0, "2025-10-01"), _feature("road", 500, "2025-10-01"))  # the second is 40 km east
    u = update_store(store, run, run_date=date(2025, 10, 1), coverage=inside)
    assert u.new == ["road-2025-10-01-0"] and u.dropped_outside == 1
    # a later run over another area leaves the road open
    elsewhere = box(LON + 1, LAT + 1, LON + 1.1, LAT + 1.1)
    assert update_store(store, _fc(), run_date=date(2025, 10, 6), coverage=elsewhere).resolved == []
    assert update_store(store, _fc(), run_date=date(2025, 10, 6), coverage=inside).resolved == ["road-2025-10-01-0"]


def test_query_and_pushed_flags(tmp_path: Path) -> None:
    store = tmp_path / "alerts.gpkg"
    with pytest.raises(OutputError, match="does not exist yet"):
        query_store(store)
    update_store(store, _fc(_feature("burn_scar", 0, "2025-10-01", pct=30), _feature("road", 40, "2025-10-01", 85)),
                 run_date=date(2025, 10, 1))  # fmt: skip
    assert [f["properties"]["type"] for f in query_store(store, min_confidence=80)["features"]] == ["road"]
    assert [f["properties"]["type"] for f in query_store(store, types=["burn_scar"])["features"]] == ["burn_scar"]
    assert query_store(store, since=date(2025, 10, 2))["features"] == []
    mark_pushed(store, ["road-2025-10-01-40"])
    pending = query_store(store, unpushed_only=True)["features"]
    assert [f["id"] for f in pending] == ["burn_scar-2025-10-01-0"]
    assert pending[0]["properties"]["status"] == "new" and pending[0]["properties"]["first_seen"] == "2025-10-01"
    (tmp_path / "not.gpkg").write_text("not a geopackage")
    with pytest.raises(OutputError, match="not a skywatch alert store"):
        read_store(tmp_path / "not.gpkg")
