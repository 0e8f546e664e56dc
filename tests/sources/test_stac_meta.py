"""The reflectance-offset rule on real item metadata (Earth Search c1, Planetary Computer)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from skywatch.sources.stac_meta import cloud_cover, mgrs_tile, reflectance_scaling

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"


def _features(name: str) -> list[dict]:  # type: ignore[type-arg]
    doc = yaml.safe_load((CASSETTES / name).read_text())
    out = []
    for interaction in doc["interactions"]:
        try:
            out += json.loads(interaction["response"]["body"]["string"]).get("features", [])
        except (json.JSONDecodeError, AttributeError):
            continue
    return out


def test_earth_search_c1_declares_its_offset() -> None:
    c1 = [f for f in _features("TestCLISearch.test_filterinprocess.yaml") if f["collection"] == "sentinel-2-c1-l2a"]
    assert c1
    for f in c1:
        assert reflectance_scaling(f["properties"], f["assets"]["red"]) == (0.0001, -0.1)
        assert mgrs_tile(f["properties"]) and cloud_cover(f["properties"]) is not None


def test_planetary_computer_offset_follows_the_processing_baseline() -> None:
    feats = _features("TestItemSearch.test_datetime_results.yaml")
    seen = set()
    for f in feats:
        baseline = f["properties"]["s2:processing_baseline"]
        scale, offset = reflectance_scaling(f["properties"], f["assets"]["B04"])
        assert scale == 1e-4
        assert offset == (-0.1 if tuple(int(p) for p in baseline.split(".")) >= (4, 0) else 0.0)
        seen.add(offset)
    assert seen  # the 2019 recording predates baseline 04.00: no offset
    assert reflectance_scaling({"s2:processing_baseline": "05.10"}, {}) == (1e-4, -0.1)
    assert reflectance_scaling({"s2:processing_baseline": "05.10", "earthsearch:boa_offset_applied": True}, {}) == (
        1e-4,
        0.0,
    )
