"""Incidents: one per connected detection, with area, confidence and the figures fire teams read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from affine import Affine
from shapely.geometry.base import BaseGeometry

from skywatch.detect.fire import SEVERITY_NAMES, dnbr_severity
from skywatch.detect.vectorize import centreline, components

__all__ = ["LABELS", "Incident", "incident_id", "incidents_from_masks"]

LABELS: dict[str, dict[str, str]] = {
    "fire_active": {"en": "Active fire", "ru": "Действующий пожар", "zh": "活跃火点"},
    "burn_scar": {"en": "Burn scar", "ru": "Гарь", "zh": "火烧迹地"},
    "clearcut": {"en": "Clear-cut", "ru": "Сплошная рубка", "zh": "皆伐"},
    "road": {"en": "New road", "ru": "Новая дорога", "zh": "新道路"},
}


@dataclass(frozen=True, kw_only=True)
class Incident:
    """One detected disturbance in the grid's CRS."""

    type: str
    geometry: BaseGeometry
    detected: date
    confidence: str
    confidence_pct: int
    area_ha: float
    length_km: float | None = None
    severity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def incident_id(kind: str, geometry: BaseGeometry, day: date) -> str:
    """A stable ID from type, geometry and date (same detection, same ID)."""
    digest = hashlib.sha256(f"{kind}|{day.isoformat()}|".encode() + geometry.wkb).hexdigest()
    return f"{kind}-{day:%Y%m%d}-{digest[:10]}"


def _confidence(score: float) -> tuple[str, int]:
    pct = round(100 * min(max(score, 0.0), 1.0))
    return ("high" if pct >= 80 else "nominal" if pct >= 50 else "low"), pct


def incidents_from_masks(
    *,
    transform: Affine,
    resolution: float,
    detected: date,
    burn: np.ndarray,
    dnbr: np.ndarray,
    fire_active: np.ndarray,
    fire_unambiguous: np.ndarray,
    clearcut: np.ndarray,
    ndvi_drop: np.ndarray,
    road: np.ndarray,
    road_skeleton: np.ndarray,
) -> list[Incident]:
    """Vectorise detection masks into incidents (map coordinates of ``transform``)."""
    px_ha = resolution**2 / 10_000
    out: list[Incident] = []
    for pix, geom in components(fire_active, transform):
        conf, pct = _confidence(0.95 if fire_unambiguous[pix].any() else 0.6)
        out.append(
            Incident(
                type="fire_active",
                geometry=geom,
                detected=detected,
                confidence=conf,
                confidence_pct=pct,
                area_ha=round(float(pix.sum()) * px_ha, 2),
            )
        )
    for pix, geom in components(burn, transform):
        mean = float(np.nanmean(dnbr[pix]))
        conf, pct = _confidence(mean / 0.66)
        sev = SEVERITY_NAMES[int(dnbr_severity(np.array([mean]))[0]) - 1]
        out.append(
            Incident(
                type="burn_scar",
                geometry=geom,
                detected=detected,
                confidence=conf,
                confidence_pct=pct,
                area_ha=round(float(pix.sum()) * px_ha, 2),
                severity=sev,
                extra={"dnbr_mean": round(mean, 3)},
            )
        )
    for pix, geom in components(clearcut, transform):
        conf, pct = _confidence(float(np.nanmean(ndvi_drop[pix])) / 0.6)
        out.append(
            Incident(
                type="clearcut",
                geometry=geom,
                detected=detected,
                confidence=conf,
                confidence_pct=pct,
                area_ha=round(float(pix.sum()) * px_ha, 2),
            )
        )
    for pix, geom in components(road, transform):
        line = centreline(road_skeleton & pix, transform)
        length = line.length / 1000 if line is not None else 0.0
        conf, pct = _confidence(min(1.0, length / 2.0) * 0.9)
        out.append(
            Incident(
                type="road",
                geometry=geom,
                detected=detected,
                confidence=conf,
                confidence_pct=pct,
                area_ha=round(float(pix.sum()) * px_ha, 2),
                length_km=round(length, 3),
                extra={"centreline": line},
            )
        )
    return out
