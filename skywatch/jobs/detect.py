"""`skywatch detect`: one disturbance detector over an AOI between a before and an after window.

Each window becomes a least-cloudy (best-pixel) composite of the masked cube; the detector runs on the pair,
by its spectral baseline or its shipped model (tiled under Dask with a halo), and writes into ``DIR``:

- ``<task>.tif``: classes, 0 nodata, 1 no change, 2.. detected (fire: 2 burn scar, 3 active fire);
- ``<task>_prob.tif``: the model's probability, or for the baseline its index scaled to 0-1 (not calibrated);
- ``<task>.gpkg``: polygons (layer ``detections``); roads also centre-lines (layer ``centrelines``).
Masked pixels (clouds, snow, nodata on either date) are nodata, never a detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dask.array as da
import geopandas as gpd
import numpy as np

from skywatch.aoi import AOI
from skywatch.cube.clip import clip_to
from skywatch.cube.composite import best_pixel_composite
from skywatch.cube.mask import apply_mask, buffer_invalid
from skywatch.detect.clearcut import bright_change, clearcut_baseline, forest_mask
from skywatch.detect.fire import (
    RDNBR_BURNED,
    SEVERITY_NAMES,
    _drop_small,
    active_fire,
    burn_scar_baseline,
    dnbr_severity,
)
from skywatch.detect.models import SegModel, compute_features, get_model
from skywatch.detect.roads import road_baseline
from skywatch.detect.tiled import predict_tiled
from skywatch.detect.vectorize import centreline, components
from skywatch.errors import DataError, SourceError
from skywatch.grid import TileGrid
from skywatch.outputs.atomic import atomic_dir
from skywatch.outputs.cog import write_cog
from skywatch.outputs.geopackage import write_geopackage
from skywatch.sources.base import Source
from skywatch.sources.odc_load import read_errors
from skywatch.sources.stac_meta import cloud_cover

__all__ = ["DEFAULT_MODELS", "DetectResult", "run_detect"]

# A before/after burn model lost to dNBR in cross-validation (models/experiments/): fire uses the post-only one.
DEFAULT_MODELS = {"fire": "burn-scar-fcn", "clearcut": "clearcut-fcn", "roads": "roads-fcn"}
BANDS = ("blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl")


@dataclass(frozen=True, kw_only=True)
class DetectResult:
    """What a detection run wrote."""

    out: Path
    files: list[Path]
    detections: int
    scenes: dict[str, list[str]]


def _composite(source: Source, aoi: AOI, window: tuple[date, date], grid: TileGrid, max_cloud: float | None,
               cloud_buffer_px: int) -> tuple[dict[str, np.ndarray], np.ndarray, list[str], Any]:  # fmt: skip
    items = source.search(bbox=aoi.bbox, start=window[0], end=window[1], collection="sentinel-2-l2a",
                          max_cloud=max_cloud)  # fmt: skip
    if not items:
        raise SourceError(f"no Sentinel-2 scenes over {aoi.name!r} between {window[0]} and {window[1]}")
    cube = source.load(items, bands=BANDS, bounds=grid.bounds_for(aoi), epsg=grid.epsg, resolution=grid.resolution)
    cube = clip_to(apply_mask(cube), aoi.to_crs(grid.epsg))
    covers = []
    for t in cube.time.values:
        day = np.datetime64(t, "D")
        c = [cloud_cover(it.properties) for it in items if it.datetime and np.datetime64(it.datetime.date()) == day]
        covers.append(min([v for v in c if v is not None], default=100.0))
    best = best_pixel_composite(cube, covers)
    with read_errors():
        values = best.compute()
    arrays = {str(b): np.asarray(values[b].values, dtype=np.float32) for b in values.data_vars}
    valid = np.asarray(np.isfinite(np.stack(list(arrays.values()))).all(axis=0))
    valid = buffer_invalid(valid, cloud_buffer_px)
    return arrays, valid, [it.id for it in items], cube.odc.geobox


def run_detect(
    task: str,
    *,
    source: Source,
    aoi: AOI,
    before: tuple[date, date],
    after: tuple[date, date],
    out: Path,
    method: str = "model",
    model_name: str | None = None,
    max_cloud: float | None = None,
    cloud_buffer_px: int = 8,
    fire_index: str = "dnbr",
    overwrite: bool = False,
) -> DetectResult:
    """Detect ``task`` (fire, clearcut, roads) and write class/probability COGs and vectors into ``out``.

    Raises:
        DataError: unknown task/method, or windows that overlap wrongly; SourceError: no scenes;
        ModelError: the model's bands cannot be supplied; OutputError: ``out`` exists without ``overwrite``.
    """
    if task not in DEFAULT_MODELS:
        raise DataError(f"unknown detector {task!r}; choose one of {sorted(DEFAULT_MODELS)}")
    if method not in {"model", "baseline"}:
        raise DataError(f"method must be model or baseline, got {method!r}")
    if before[1] >= after[0]:
        raise DataError(f"the before window ({before[0]}/{before[1]}) must end before the after window starts")
    grid = TileGrid.for_aoi(aoi)
    pre, valid_pre, pre_ids, geobox = _composite(source, aoi, before, grid, max_cloud, cloud_buffer_px)
    post, valid_post, post_ids, _ = _composite(source, aoi, after, grid, max_cloud, cloud_buffer_px)
    valid = valid_pre & valid_post
    arrays = {f"pre:{k}": v for k, v in pre.items()} | {f"post:{k}": v for k, v in post.items()}
    res = grid.resolution
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi_pre = (pre["nir"] - pre["red"]) / (pre["nir"] + pre["red"])
        ndvi_post = (post["nir"] - post["red"]) / (post["nir"] + post["red"])
        nbr_pre = (pre["nir08"] - pre["swir22"]) / (pre["nir08"] + pre["swir22"])
        nbr_post = (post["nir08"] - post["swir22"]) / (post["nir08"] + post["swir22"])

    if method == "model":
        model = get_model(model_name or DEFAULT_MODELS[task])
        prob = _predict(model, arrays)
        detected = np.nan_to_num(prob) >= model.spec.threshold
        method_label = f"model {model.spec.name} {model.spec.version} sha256 {model.spec.sha256}"
    else:
        prob = np.zeros(valid.shape, np.float32)
        detected = np.zeros(valid.shape, bool)
        method_label = "spectral baseline"
    fire_front = np.zeros(valid.shape, bool)
    if task == "fire":
        if method == "baseline":
            relative = fire_index == "rdnbr"
            detected, dnbr = burn_scar_baseline(nbr_pre, nbr_post, post["red"], valid, relative=relative,
                                                dnbr_min=RDNBR_BURNED if relative else 0.10)  # fmt: skip
            prob = np.clip(np.nan_to_num(dnbr) / 0.66, 0, 1).astype(np.float32)
        if method == "model":  # the active-fire model next to the burn-scar model
            front_model = get_model("active-fire-fcn")
            front_prob = _predict(front_model, arrays)
            fire_front = (np.nan_to_num(front_prob) >= front_model.spec.threshold) & valid_post
        else:
            fire_front, _ = active_fire(post["blue"], post["nir08"], post["swir16"], post["swir22"], valid_post)
        detected |= fire_front
    elif task == "clearcut":
        forest = forest_mask(ndvi_pre, pre["swir16"])
        if method == "baseline":
            detected = clearcut_baseline(bright_change(ndvi_pre, ndvi_post, post["red"], valid), forest,
                                         resolution=res)  # fmt: skip
            prob = np.clip(np.nan_to_num(ndvi_pre - ndvi_post) / 0.6, 0, 1).astype(np.float32)
        # fields and water never alert; blocks under the 0.2 ha minimum mapping unit are dropped
        detected = _drop_small(detected & forest, max(1, round(0.2 * 10_000 / res**2)))
    else:
        with np.errstate(invalid="ignore"):
            vegetated = ndvi_pre >= 0.6
        if method == "baseline":
            change = bright_change(ndvi_pre, ndvi_post, post["red"], valid, ndvi_drop=0.2)
            detected, _ = road_baseline(change, vegetated, resolution=res)
            prob = np.clip(np.nan_to_num(ndvi_pre - ndvi_post) / 0.6, 0, 1).astype(np.float32)
        detected = _drop_small(detected & vegetated, 10)
    detected &= valid
    classes = np.where(detected, 2, 1).astype(np.uint8)
    if task == "fire":
        classes[fire_front & valid] = 3
    classes[~valid] = 0
    prob = np.where(valid, prob, np.nan).astype(np.float32)
    dnbr = np.where(valid, nbr_pre - nbr_post, np.nan).astype(np.float32)
    return _write(task, out, classes, prob, detected, geobox, grid.epsg, res, method_label,
                  {"before": pre_ids, "after": post_ids}, after[1], overwrite, dnbr)  # fmt: skip


def _predict(model: SegModel, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The model's probability, predicted tile by tile under Dask (halo from the model's metadata)."""
    model.check_inputs(list(arrays))
    feats = compute_features(model.spec.features, arrays)
    lazy = predict_tiled(model.predict_features, da.from_array(feats, chunks=(-1, 1024, 1024)), halo=model.spec.halo)
    return np.asarray(lazy.compute())


def _write(task: str, out: Path, classes: np.ndarray, prob: np.ndarray, detected: np.ndarray, geobox: Any,
           epsg: int, res: float, method: str, scenes: dict[str, list[str]], detected_by: date,
           overwrite: bool, dnbr: np.ndarray) -> DetectResult:  # fmt: skip
    from skywatch.detect.roads import skeletonize_mask

    transform = geobox.affine
    doc = {"fire": "0 nodata, 1 unburned, 2 burn scar, 3 active fire", "clearcut": "0 nodata, 1 no change, 2 clear-cut",
           "roads": "0 nodata, 1 no change, 2 new road"}[task]  # fmt: skip
    rows, lines = [], []
    skeleton = skeletonize_mask(detected) if task == "roads" else None
    label = {"fire": "burn_scar", "clearcut": "clearcut", "roads": "road"}[task]
    parts = [(label, detected)]
    if task == "fire":
        parts.append(("active_fire", classes == 3))  # the front also stays inside its burn scar polygon
    for kind, mask in parts:
        for pix, geom in components(mask, transform):
            row: dict[str, Any] = {"type": kind, "area_ha": round(float(pix.sum()) * res * res / 1e4, 3),
                                   "mean_prob": round(float(np.nanmean(prob[pix])), 3), "method": method,
                                   "detected_by": detected_by.isoformat(), "geometry": geom}  # fmt: skip
            if kind == "burn_scar":  # Key & Benson severity of the scar's mean dNBR
                mean = float(np.nanmean(dnbr[pix]))
                row["dnbr_mean"] = round(mean, 3)
                row["severity"] = SEVERITY_NAMES[int(dnbr_severity(np.array([mean]))[0]) - 1]
            if skeleton is not None:
                line = centreline(skeleton & pix, transform)
                if line is not None:
                    line = line.simplify(res / 2)
                    row["length_km"] = round(line.length / 1000, 3)
                    lines.append({"length_km": row["length_km"], "geometry": line})
            rows.append(row)
    crs = f"EPSG:{epsg}"
    empty: dict[str, list[Any]] = {"type": [], "area_ha": [], "geometry": []}
    layers = {"detections": gpd.GeoDataFrame(rows or empty, geometry="geometry", crs=crs)}
    if task == "roads":
        layers["centrelines"] = gpd.GeoDataFrame(lines or {"length_km": [], "geometry": []}, geometry="geometry",
                                                 crs=crs)  # fmt: skip
    with atomic_dir(out, overwrite=overwrite) as tmp:
        tags = {"SKYWATCH_CLASSES": doc, "SKYWATCH_METHOD": method}
        write_cog(tmp / f"{task}.tif", classes, transform=transform, epsg=epsg, nodata=0, tags=tags, categorical=True)
        write_cog(tmp / f"{task}_prob.tif", prob, transform=transform, epsg=epsg, nodata=float("nan"), tags=tags)
        write_geopackage(tmp / f"{task}.gpkg", layers)
    files = [out / f"{task}.tif", out / f"{task}_prob.tif", out / f"{task}.gpkg"]
    return DetectResult(out=out, files=files, detections=len(rows), scenes=scenes)
