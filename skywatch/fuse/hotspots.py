"""Where habitat risk concentrates: per-threat exposure, zonal summaries and a ranked list of hotspots.

- Exposure to one threat = presence (scaled 0-1, as :func:`skywatch.fuse.risk.habitat_risk`) x that threat's
  distance decay ``w exp(-d / L)``: which disturbance puts the animals at risk where.
- Zonal summary per zone (e.g. the two parks of the AOI): mean, 95th percentile and maximum risk, and the area at
  high risk (>= ``high``, 0.5 by default).
- Hotspots: connected areas where risk is at least ``threshold`` (default: the 90th percentile of the positive
  risk values), ranked by total risk (sum of risk x cell area, so a large moderately risky area can outrank a
  small very risky one), each with the threat that dominates its exposure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from rasterio import features
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from skywatch.detect.vectorize import valid_polygonal
from skywatch.fuse.risk import DEFAULT_THREATS, Threat, scaled_presence

__all__ = ["exposure_by_threat", "hotspots", "zonal_summary"]


def exposure_by_threat(presence: np.ndarray, masks: Mapping[str, np.ndarray], *, resolution: float,
                       threats: Mapping[str, Threat] = DEFAULT_THREATS) -> dict[str, np.ndarray]:  # fmt: skip
    """Per threat: scaled presence x ``w exp(-d / L)`` (0-1; NaN where presence is unknown)."""
    scaled = scaled_presence(presence)
    out = {}
    for name, mask in masks.items():
        t = threats[name]
        if mask.any():
            dist = ndimage.distance_transform_edt(~mask) * resolution
            decay = t.weight * np.exp(-dist / t.scale_m)
        else:
            decay = np.zeros(mask.shape)
        out[name] = (scaled * decay).astype(np.float32)
    return out


def zonal_summary(risk: np.ndarray, zones: Sequence[tuple[str, BaseGeometry]], *, transform: Affine,
                  high: float = 0.5) -> pd.DataFrame:  # fmt: skip
    """Per zone (name, polygon in the raster's CRS): pixels with data, mean/p95/max risk, area at high risk (ha)."""
    px_ha = abs(transform.a * transform.e) / 10_000
    rows = []
    for name, geom in zones:
        inside = features.geometry_mask([geom], out_shape=risk.shape, transform=transform, invert=True)
        vals = risk[inside & np.isfinite(risk)]
        rows.append({
            "zone": name,
            "area_ha": round(float(inside.sum()) * px_ha, 2),
            "assessed_ha": round(vals.size * px_ha, 2),
            "mean_risk": float(vals.mean()) if vals.size else float("nan"),
            "p95_risk": float(np.percentile(vals, 95)) if vals.size else float("nan"),
            "max_risk": float(vals.max()) if vals.size else float("nan"),
            "high_risk_ha": round(float((vals >= high).sum()) * px_ha, 2),
        })  # fmt: skip
    return pd.DataFrame(rows)


def hotspots(risk: np.ndarray, *, transform: Affine, epsg: int, exposures: Mapping[str, np.ndarray] | None = None,
             threshold: float | None = None, min_area_ha: float = 1.0) -> gpd.GeoDataFrame:  # fmt: skip
    """Connected areas of risk >= ``threshold``, ranked (1 = first to look at) by total risk.

    Columns: rank, area_ha, mean_risk, max_risk, total_risk (risk x ha), dominant_threat, geometry.
    """
    finite = risk[np.isfinite(risk) & (risk > 0)]
    cols = ["rank", "area_ha", "mean_risk", "max_risk", "total_risk", "dominant_threat"]
    crs = f"EPSG:{epsg}"
    if not finite.size:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    level = float(np.percentile(finite, 90)) if threshold is None else threshold
    with np.errstate(invalid="ignore"):
        hot = np.nan_to_num(risk) >= max(level, 1e-9)
    labels, n = ndimage.label(hot, structure=np.ones((3, 3)))
    px_ha = abs(transform.a * transform.e) / 10_000
    rows = []
    polys: dict[int, list[BaseGeometry]] = {}
    for geom, value in features.shapes(labels.astype(np.int32), mask=labels > 0, transform=transform, connectivity=8):
        polys.setdefault(int(value), []).append(shape(geom))
    for label in range(1, n + 1):
        pix = labels == label
        area = float(pix.sum()) * px_ha
        if area < min_area_ha:
            continue
        vals = risk[pix]
        dominant = ""
        if exposures:
            means = {k: float(np.nanmean(v[pix])) for k, v in exposures.items()}
            dominant = max(means, key=lambda k: means[k]) if any(m > 0 for m in means.values()) else ""
        rows.append({"area_ha": round(area, 2), "mean_risk": round(float(vals.mean()), 4),
                     "max_risk": round(float(vals.max()), 4), "total_risk": round(float(vals.sum()) * px_ha, 3),
                     "dominant_threat": dominant,
                     "geometry": valid_polygonal(unary_union(polys[label]))})  # fmt: skip
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).sort_values("total_risk", ascending=False)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)
