"""Alert GeoJSON for fire teams: RFC 7946 (WGS84 lon/lat, no ``crs`` member, counter-clockwise exterior
rings, 6 decimals ~ 0.1 m), FIRMS-style attribute names (REFERENCE.md), written atomically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from skywatch.detect.vectorize import valid_polygonal
from skywatch.fuse.context import IncidentContext
from skywatch.fuse.incidents import LABELS, Incident, incident_id
from skywatch.geometry import reproject
from skywatch.outputs.atomic import atomic_path

__all__ = ["alerts_feature_collection", "geojson_geometry", "write_alerts"]


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, list | tuple):
        return [_round(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    return obj


def geojson_geometry(geom: BaseGeometry) -> dict[str, Any]:
    """A WGS84 geometry as RFC 7946 wants it: counter-clockwise exterior rings, coordinates to 6 decimals."""
    if geom.geom_type == "Polygon":
        geom = orient(geom, sign=1.0)
    elif geom.geom_type == "MultiPolygon":
        geom = shapely.MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])
    rounded: dict[str, Any] = _round(mapping(geom))
    return rounded


def alerts_feature_collection(
    incidents: Sequence[Incident],
    *,
    epsg: int,
    satellite: str,
    acq_time: str,
    source_scenes: Sequence[str],
    method: str,
    synthetic: bool = False,
    simplify_m: float = 5.0,
    contexts: Sequence[IncidentContext] | None = None,
    model_sha256: str | None = None,
) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection, one feature per incident, sorted by type then ID.

    ``contexts`` (same order as ``incidents``, :func:`skywatch.fuse.context.incident_context`) adds ``exposure``
    (``score`` 0-100 and ``rank``, 1 = most exposed), ``individuals_nearby`` and ``stations_nearby``.
    """
    if contexts is not None and len(contexts) != len(incidents):
        raise ValueError(f"{len(contexts)} contexts for {len(incidents)} incidents")
    features = []
    for n, inc in enumerate(incidents):
        # Pixel staircases simplified by half a pixel keep files small for phones; area_ha stays the pixel count.
        geom = reproject(valid_polygonal(inc.geometry.simplify(simplify_m, preserve_topology=True)), epsg, 4326)
        centroid = geom.centroid
        props: dict[str, Any] = {
            "id": incident_id(inc.type, inc.geometry, inc.detected),
            "type": inc.type,
            "acq_date": inc.detected.isoformat(),
            "acq_time": acq_time,
            "detected_at": f"{inc.detected.isoformat()}T{acq_time[:2]}:{acq_time[2:]}:00Z",
            "satellite": satellite,
            "confidence": inc.confidence,
            "confidence_pct": inc.confidence_pct,
            "area_ha": inc.area_ha,
            "latitude": round(centroid.y, 6),
            "longitude": round(centroid.x, 6),
            "method": method,
            "sha256": model_sha256,
            "source_scenes": list(source_scenes),
            "label_en": LABELS[inc.type]["en"],
            "label_ru": LABELS[inc.type]["ru"],
            "label_zh": LABELS[inc.type]["zh"],
        }
        if inc.length_km is not None:
            props["length_km"] = inc.length_km
        if inc.severity is not None:
            props["severity"] = inc.severity
        if contexts is not None:
            ctx = contexts[n]
            props["exposure"] = {"score": ctx.exposure_score, "rank": ctx.exposure_rank, "known": ctx.exposure_known}
            props["individuals_nearby"] = ctx.individuals_nearby
            props["stations_nearby"] = ctx.stations_nearby
        if synthetic:
            props["synthetic"] = True
        features.append({"type": "Feature", "id": props["id"], "properties": props, "geometry": geojson_geometry(geom)})
    features.sort(key=lambda f: (f["properties"]["type"], f["id"]))
    return {"type": "FeatureCollection", "features": features}


def write_alerts(path: Path, collection: dict[str, Any], *, overwrite: bool = True) -> Path:
    """Write ``collection`` to ``path`` atomically.

    Raises:
        OutputError: exists without ``overwrite`` or not writable.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
