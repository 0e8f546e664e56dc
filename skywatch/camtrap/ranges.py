"""Ranges of identified individuals from the stations where they were photographed.

Locations are camera stations projected to metres (``table.station_xy(epsg)``), so a range says where an animal
was *detected*, bounded by where cameras stood: read it as a minimum, not as a home range estimate.

- **MCP** (``"mcp100"``): the 100 % minimum convex polygon of the individual's detection stations. With fewer
  than three distinct stations (or all on one line) there is no polygon: the points or the segment are
  buffered by ``degenerate_buffer_m`` (500 m by default) and every row of that individual is flagged
  ``degenerate=True``.
- **Kernel isopleths** (``"kde50"``, ``"kde95"``, ...): a Gaussian kernel centred on each detection station,
  weighted by the individual's number of detections there, evaluated on a raster of ``cell_m`` (bandwidth / 10
  by default, at most 600 cells a side) that reaches 4 bandwidths beyond the outermost station. The ``p`` %
  isopleth is the smallest set of cells holding ``p`` % of the kernel volume, polygonised cell-exact. The
  default bandwidth is the reference bandwidth of Worton (1989), ``h_ref = sqrt((var_x + var_y) / 2) * n^(-1/6)``
  with ``n`` the number of detections and the variances taken over detections (stations repeated by their
  counts), floored at ``min_bandwidth_m`` (250 m) so one or two stations still give a finite kernel.
- **Female with cubs**: a female (her most frequent recorded ``sex``) is flagged when the ``behavior`` of one of
  her records mentions a cub (the word "cub"/"cubs", not negated as in "no cubs"), or when, at the same
  station within ``cub_window_s`` seconds (60 s) of one of her records, there is a record of the same species
  whose ``life_stage`` is "juvenile" (or "cub") or an unidentified record whose ``behavior`` mentions a cub.
- Identified events only (``individual != ""``); dependent young (``life_stage`` "juvenile") get no range of
  their own (see :func:`skywatch.camtrap.effort.identified_events`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from rasterio.features import shapes
from shapely import MultiPoint, unary_union
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from skywatch.camtrap.effort import identified_events, individual_sex
from skywatch.camtrap.events import DetectionTable
from skywatch.errors import CamtrapError

__all__ = [
    "RANGE_COLUMNS",
    "detection_points",
    "females_with_cubs",
    "individual_ranges",
    "kernel_isopleths",
    "reference_bandwidth",
]

RANGE_COLUMNS = ("individual", "species", "range", "area_km2", "n_detections", "n_stations", "sex",
                 "female_with_cubs", "degenerate", "bandwidth_m", "geometry")  # fmt: skip
_DEPENDENT_YOUNG = ("juvenile",)
_YOUNG_STAGES = {"juvenile", "cub"}
_CUB = r"(?i)\bcubs?\b"  # the word, not "incubation"
_NO_CUB = r"(?i)\b(?:no|without|lost)\s+(?:\w+\s+)?cubs?\b"  # "no cubs", "without her cub"
_KERNEL_REACH = 4.0  # bandwidths beyond the outermost station: outside it the kernel holds < 0.05 % of its volume
_MAX_CELLS = 600


def detection_points(
    table: DetectionTable, species: str, epsg: int, *, exclude_life_stages: Iterable[str] = _DEPENDENT_YOUNG
) -> gpd.GeoDataFrame:
    """One point per (individual, station) where an identified ``species`` individual was detected.

    Returns:
        Columns ``individual``, ``species``, ``station``, ``detections`` (events there), ``x``, ``y`` (metres)
        and point ``geometry`` in ``EPSG:epsg``, sorted by individual and station.

    Raises:
        CamtrapError: an event at a station missing from the stations table.
    """
    ev = identified_events(table, species, exclude_life_stages=exclude_life_stages)
    xy = table.station_xy(epsg).drop_duplicates("station").set_index("station")
    missing = sorted(set(ev["station"]) - set(xy.index))
    if missing:
        raise CamtrapError(f"events at station(s) {missing[:5]} that have no coordinates in the stations table")
    pts = ev.groupby(["individual", "station"]).size().rename("detections").reset_index()
    pts.insert(1, "species", species)
    pts["detections"] = pts["detections"].astype("int64")
    pts["x"] = xy["x"].reindex(pts["station"]).to_numpy(dtype=float)
    pts["y"] = xy["y"].reindex(pts["station"]).to_numpy(dtype=float)
    return gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts["x"], pts["y"]), crs=f"EPSG:{epsg}")


def reference_bandwidth(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, *, min_bandwidth_m: float = 250.0
) -> float:
    """Worton's (1989) reference bandwidth ``sqrt((var_x + var_y) / 2) * n^(-1/6)``, floored at ``min_bandwidth_m``.

    ``weights`` are detection counts per location (frequency weights: ``n`` is their sum and the variances are
    those of the locations repeated by their counts, divided by ``n - 1``).
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(xs) if weights is None else np.asarray(weights, dtype=float)
    n = float(w.sum())
    if n <= 1:
        return float(min_bandwidth_m)
    var_x = float((w * (xs - np.average(xs, weights=w)) ** 2).sum()) / (n - 1)
    var_y = float((w * (ys - np.average(ys, weights=w)) ** 2).sum()) / (n - 1)
    return max(float(np.sqrt((var_x + var_y) / 2.0) * n ** (-1.0 / 6.0)), float(min_bandwidth_m))


def kernel_isopleths(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    *,
    bandwidth_m: float,
    levels: Sequence[float] = (50, 95),
    cell_m: float | None = None,
) -> dict[float, BaseGeometry]:
    """Polygons enclosing ``levels`` % of a weighted Gaussian kernel density (see the module docstring).

    Raises:
        CamtrapError: a level outside (0, 100), a bandwidth or cell size that is not positive, no points.
    """
    xs, ys, w = (np.asarray(a, dtype=float) for a in (x, y, weights))
    if not len(xs) or not w.sum() > 0:
        raise CamtrapError("kernel isopleths need at least one location with a positive weight")
    if not bandwidth_m > 0:
        raise CamtrapError(f"bandwidth_m={bandwidth_m} must be > 0")
    for level in levels:
        if not 0 < level < 100:
            raise CamtrapError(f"kernel level {level} must lie strictly between 0 and 100 (percent)")
    pad = _KERNEL_REACH * bandwidth_m
    x0, x1 = xs.min() - pad, xs.max() + pad
    y0, y1 = ys.min() - pad, ys.max() + pad
    cell = cell_m if cell_m is not None else max(bandwidth_m / 10.0, max(x1 - x0, y1 - y0) / _MAX_CELLS)
    if not cell > 0:
        raise CamtrapError(f"cell_m={cell_m} must be > 0")
    nx, ny = int(np.ceil((x1 - x0) / cell)), int(np.ceil((y1 - y0) / cell))
    cx = x0 + (np.arange(nx) + 0.5) * cell
    cy = y1 - (np.arange(ny) + 0.5) * cell
    kx = np.exp(-((cx[None, :] - xs[:, None]) ** 2) / (2.0 * bandwidth_m**2))
    ky = np.exp(-((cy[None, :] - ys[:, None]) ** 2) / (2.0 * bandwidth_m**2))
    density = np.einsum("i,iy,ix->yx", w, ky, kx)
    density /= density.sum()
    ranked = np.sort(density, axis=None)[::-1]
    volume = np.cumsum(ranked)
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y1)
    out: dict[float, BaseGeometry] = {}
    for level in levels:
        threshold = ranked[min(int(np.searchsorted(volume, level / 100.0)), len(ranked) - 1)]
        mask = density >= threshold
        polys = [shape(geom) for geom, _ in shapes(mask.astype(np.uint8), mask=mask, transform=transform)]
        out[level] = unary_union(polys)
    return out


def females_with_cubs(table: DetectionTable, species: str, *, cub_window_s: float = 60.0) -> list[str]:
    """Identified females of ``species`` seen with cubs (rule in the module docstring), sorted."""
    ev = table.species(species)
    sex = individual_sex(ev)
    her = ev[ev["individual"].isin(sex[sex == "female"].index)]
    text = ev["behavior"].fillna("").astype(str)
    mentions = text.str.contains(_CUB, regex=True) & ~text.str.contains(_NO_CUB, regex=True)
    flagged = set(her.loc[mentions.loc[her.index], "individual"])
    young = ev["life_stage"].fillna("").astype(str).str.strip().str.lower().isin(_YOUNG_STAGES)
    cues = ev[young | (mentions & (ev["individual"].fillna("") == ""))]
    if len(her) and len(cues):
        pairs = her[["individual", "station", "timestamp"]].merge(
            cues[["station", "timestamp"]].rename(columns={"timestamp": "cue_time"}), on="station"
        )
        near = (pairs["timestamp"] - pairs["cue_time"]).abs() <= pd.Timedelta(seconds=cub_window_s)
        flagged |= set(pairs.loc[near, "individual"])
    return sorted(flagged)


def individual_ranges(
    table: DetectionTable,
    species: str,
    *,
    epsg: int,
    kernel_levels: Sequence[float] = (50, 95),
    bandwidth_m: float | None = None,
    min_bandwidth_m: float = 250.0,
    degenerate_buffer_m: float = 500.0,
    cell_m: float | None = None,
    cub_window_s: float = 60.0,
    exclude_life_stages: Iterable[str] = _DEPENDENT_YOUNG,
) -> gpd.GeoDataFrame:
    """MCP and kernel isopleths per identified individual of ``species`` (conventions in the module docstring).

    Args:
        table: Stations, deployments and events.
        species: Scientific name (or the source's label).
        epsg: Projected CRS in metres for the locations and the output (e.g. 32652, UTM 52N).
        kernel_levels: Isopleth levels in percent of the kernel volume.
        bandwidth_m: Kernel bandwidth for every individual; ``None``: each individual's reference bandwidth.
        min_bandwidth_m: Floor of the reference bandwidth.
        degenerate_buffer_m: Buffer radius of the MCP of fewer than three distinct (or collinear) stations.
        cell_m: Raster cell of the kernel; ``None``: bandwidth / 10 (at most 600 cells a side).
        cub_window_s: Time window for the female-with-cubs rule.
        exclude_life_stages: Life stages left out (dependent young by default).

    Returns:
        One row per individual and range type (``"mcp100"`` then ``"kde<level>"``), columns
        :data:`RANGE_COLUMNS`; ``bandwidth_m`` is NaN on MCP rows. CRS ``EPSG:epsg``.

    Raises:
        CamtrapError: events at stations without coordinates, bad kernel levels or sizes.
    """
    if not degenerate_buffer_m > 0:
        raise CamtrapError(f"degenerate_buffer_m={degenerate_buffer_m} must be > 0")
    pts = detection_points(table, species, epsg, exclude_life_stages=exclude_life_stages)
    ev = identified_events(table, species, exclude_life_stages=exclude_life_stages)
    sex = individual_sex(ev)
    with_cubs = set(females_with_cubs(table, species, cub_window_s=cub_window_s))
    rows: list[dict[str, object]] = []
    for name, group in pts.groupby("individual", sort=True):
        x, y = group["x"].to_numpy(), group["y"].to_numpy()
        w = group["detections"].to_numpy(dtype=float)
        hull = MultiPoint(np.column_stack([x, y])).convex_hull
        degenerate = hull.geom_type != "Polygon" or not hull.area > 0
        mcp = hull.buffer(degenerate_buffer_m) if degenerate else hull
        h = bandwidth_m if bandwidth_m is not None else reference_bandwidth(x, y, w, min_bandwidth_m=min_bandwidth_m)
        kde = kernel_isopleths(x, y, w, bandwidth_m=h, levels=kernel_levels, cell_m=cell_m)
        base = {
            "individual": str(name),
            "species": species,
            "n_detections": int(w.sum()),
            "n_stations": len(group),
            "sex": str(sex.get(name, "")),
            "female_with_cubs": name in with_cubs,
            "degenerate": degenerate,
        }
        rows.append({**base, "range": "mcp100", "bandwidth_m": np.nan, "geometry": mcp})
        for level, geom in kde.items():
            rows.append({**base, "range": f"kde{level:g}", "bandwidth_m": float(h), "geometry": geom})
    frame = pd.DataFrame(rows, columns=[c for c in RANGE_COLUMNS if c != "area_km2"])
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=f"EPSG:{epsg}")
    out.insert(3, "area_km2", out.geometry.area / 1e6)
    return out
