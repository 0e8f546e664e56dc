"""Habitat risk: threat decays with distance and needs animals to be present."""

from __future__ import annotations

import numpy as np
import pytest

from skywatch.fuse.risk import Threat, habitat_risk, threat_surface


def test_threat_decays_with_distance_and_combines() -> None:
    fire = np.zeros((1, 201), dtype=bool)
    fire[0, 0] = True
    t = threat_surface({"fire": fire}, resolution=10.0, threats={"fire": Threat(weight=1.0, scale_m=1000.0)})
    assert t[0, 0] == pytest.approx(1.0)
    assert t[0, 100] == pytest.approx(np.exp(-1.0), rel=1e-6)  # 1000 m away
    road = np.zeros_like(fire)
    road[0, 100] = True
    both = threat_surface(
        {"fire": fire, "road": road},
        resolution=10.0,
        threats={"fire": Threat(weight=1.0, scale_m=1000.0), "road": Threat(weight=0.5, scale_m=100.0)},
    )
    assert both[0, 100] == pytest.approx(1 - (1 - np.exp(-1.0)) * (1 - 0.5))


def test_risk_is_zero_without_animals_and_nan_without_effort() -> None:
    presence = np.array([[0.0, 5.0, np.nan]])
    threat = np.array([[1.0, 1.0, 1.0]], dtype=np.float32)
    r = habitat_risk(presence, threat)
    assert r[0, 0] == 0 and r[0, 1] == pytest.approx(1.0) and np.isnan(r[0, 2])
