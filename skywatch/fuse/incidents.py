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

    def incident(kind: str, pix: np.ndarray, geom: BaseGeometry, score: float, **more: Any) -> Incident:
        conf, pct = _confidence(score)
        return Incident(type=kind, geometry=geom, detected=detected, confidence=conf, confidence_pct=pct,
                        area_ha=round(float(pix.sum()) * px_ha, 2), **more)  # fmt: skip

    out: list[Incident] = []
    for pix, geom in components(fire_active, transform):
        out.append(incident("fire_active", pix, geom, 0.95 if fire_unambiguous[pix].any() else 0.6))
    for pix, geom in components(burn, transform):
        mean = float(np.nanmean(dnbr[pix]))
        sev = SEVERITY_NAMES[int(dnbr_severity(np.array([mean]))[0]) - 1]
        out.append(incident("burn_scar", pix, geom, mean / 0.66, severity=sev, extra={"dnbr_mean": round(mean, 3)}))
    for pix, geom in components(clearcut, transform):
        out.append(incident("clearcut", pix, geom, float(np.nanmean(ndvi_drop[pix])) / 0.6))
    for pix, geom in components(road, transform):
        line = centreline(road_skeleton & pix, transform)
        length = line.length / 1000 if line is not None else 0.0
        out.append(incident("road", pix, geom, min(1.0, length / 2.0) * 0.9, length_km=round(length, 3),
                            extra={"centreline": line}))  # fmt: skip
    return out
