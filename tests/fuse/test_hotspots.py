"""Exposure per threat, zonal summaries and ranked hotspots on constructed rasters with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import box

from skywatch.fuse.hotspots import exposure_by_threat, hotspots, zonal_summary
from skywatch.fuse.risk import Threat

T = Affine(100, 0, 600_000, 0, -100, 4_800_000)  # 100 m pixels


def test_exposure_decays_with_each_threats_own_scale() -> None:
    presence = np.ones((1, 50))
    road = np.zeros((1, 50), bool)
    road[0, 0] = True
    threats = {"road": Threat(weight=0.6, scale_m=300), "fire": Threat(weight=1, scale_m=1000)}
    exp = exposure_by_threat(presence, {"road": road, "fire": np.zeros((1, 50), bool)}, resolution=100,
                             threats=threats)  # fmt: skip
    assert exp["road"][0, 0] == pytest.approx(0.6)
    assert exp["road"][0, 3] == pytest.approx(0.6 * math.exp(-1))  # 300 m away: one e-folding
    assert (exp["fire"] == 0).all()  # no fire, no exposure to it


def test_zonal_summary_counts_high_risk_area() -> None:
    risk = np.zeros((10, 10), np.float32)
    risk[:5, :5] = 0.8  # 25 px of 1 ha at high risk in the north-west
    risk[9, 9] = np.nan
    west = box(600_000, 4_799_000, 600_500, 4_800_000)
    east = box(600_500, 4_799_000, 601_000, 4_800_000)
    z = zonal_summary(risk, [("west", west), ("east", east)], transform=T).set_index("zone")
    assert z.loc["west", "high_risk_ha"] == 25 and z.loc["west", "max_risk"] == pytest.approx(0.8)
    assert z.loc["east", "high_risk_ha"] == 0 and z.loc["east", "assessed_ha"] == 49  # the NaN pixel is unassessed


def test_hotspots_rank_by_total_risk() -> None:
    risk = np.zeros((20, 20), np.float32)
    risk[1:3, 1:3] = 0.9  # small, very risky: 4 ha x 0.9 = 3.6
    risk[10:18, 10:18] = 0.5  # large, moderately risky: 64 ha x 0.5 = 32
    road = np.zeros_like(risk, bool)
    road[14, 14] = True
    exposures = {"road": np.where(risk > 0, 0.4, 0.0), "fire": np.where(risk > 0.8, 0.9, 0.0)}
    spots = hotspots(risk, transform=T, epsg=32652, exposures=exposures, threshold=0.4)
    assert spots["rank"].tolist() == [1, 2]
    assert spots.loc[0, "area_ha"] == 64 and spots.loc[0, "dominant_threat"] == "road"
    assert spots.loc[1, "area_ha"] == 4 and spots.loc[1, "dominant_threat"] == "fire"
    assert spots.geometry.is_valid.all() and spots.crs.to_epsg() == 32652
    assert len(hotspots(np.zeros((5, 5)), transform=T, epsg=32652)) == 0
