"""Alert GeoJSON against the geojson.org JSON Schema (the copy pystac ships: pystac/validation/jsonschemas/geojson,
https://geojson.org/schema/Feature.json), and the empty case: no detections is a valid, empty FeatureCollection."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path

import geojson_validator
import jsonschema
from shapely.geometry import box

from skywatch.fuse.incidents import Incident
from skywatch.outputs.alerts import alerts_feature_collection, write_alerts

FEATURE_SCHEMA = json.loads(
    resources.files("pystac").joinpath("validation/jsonschemas/geojson/Feature.json").read_text(encoding="utf-8")
)


def _check(doc: dict) -> None:  # type: ignore[type-arg]
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list) and "crs" not in doc
    for feature in doc["features"]:
        jsonschema.validate(feature, FEATURE_SCHEMA)
    assert not geojson_validator.validate_structure(doc)


def test_demo_alerts_meet_the_geojson_schema(demo_result: object) -> None:
    _check(json.loads((demo_result.out / "alerts.geojson").read_text()))  # type: ignore[attr-defined]


def test_no_detections_is_a_valid_empty_collection(tmp_path: Path) -> None:
    doc = alerts_feature_collection([], epsg=32652, satellite="sentinel-2a", acq_time="0215", source_scenes=[],
                                    method="baseline", contexts=[])  # fmt: skip
    write_alerts(tmp_path / "alerts.geojson", doc)
    back = json.loads((tmp_path / "alerts.geojson").read_text())
    assert back == {"type": "FeatureCollection", "features": []}
    _check(back)


def test_a_made_up_incident_meets_the_schema() -> None:
    inc = Incident(type="clearcut", geometry=box(670_000, 4_775_000, 670_200, 4_775_100), detected=date(2025, 10, 21),
                   confidence="nominal", confidence_pct=60, area_ha=2.0)  # fmt: skip
    doc = alerts_feature_collection([inc], epsg=32652, satellite="sentinel-2a", acq_time="0215",
                                    source_scenes=["S2A_x"], method="baseline")  # fmt: skip
    _check(doc)
    bad = json.loads(json.dumps(doc))
    bad["features"][0]["geometry"]["coordinates"] = [[[131.0, 43.0]]]  # a ring of one position
    try:
        jsonschema.validate(bad["features"][0], FEATURE_SCHEMA)
    except jsonschema.ValidationError:
        pass
    else:  # pragma: no cover - the schema must catch it
        raise AssertionError("the GeoJSON schema accepted a one-position ring")
