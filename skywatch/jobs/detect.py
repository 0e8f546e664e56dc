"""`skywatch detect`: one disturbance detector over an AOI between a before and an after window, tile by tile.

The AOI is cut into the project grid's tiles (``tile_px``, 1024 by default). Each tile is loaded with a halo of
real neighbouring pixels (at least :data:`HALO`, and the model's receptive field), its before and after windows
become least-cloudy (best-pixel) composites of the masked cube, the detector runs on the pair (spectral baseline
or shipped model, the model itself tiled under Dask), and the halo is cropped. Cores are written into on-disk
rasters window by window; pieces of detections cut by tile edges are joined afterwards. Peak memory is one tile
plus halo, whatever the AOI; with a halo wider than every neighbourhood operation the result equals the
whole-array run. ``DIR`` gets:

- ``<task>.tif``: classes, 0 nodata, 1 no change, 2.. detected (fire: 2 burn scar, 3 active fire);
- ``<task>_prob.tif``: the model's probability, or for the baseline its index scaled to 0-1 (not calibrated);
- ``<task>.gpkg``: polygons (layer ``detections``); roads also centre-lines (layer ``centrelines``).
Masked pixels (clouds, snow, nodata on either date) are nodata, never a detection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dask.array as da
import geopandas as gpd
import numpy as np
import pystac
from affine import Affine
from rasterio import features
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from skywatch.aoi import AOI
from skywatch.cube.clip import aoi_mask
from skywatch.cube.composite import best_pixel
from skywatch.cube.indices import normalized_difference_array
from skywatch.cube.mask import DEFAULT_INVALID_SCL, buffer_invalid
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
from skywatch.detect.roads import road_baseline, skeletonize_mask
from skywatch.detect.tiled import predict_tiled
from skywatch.detect.vectorize import centreline, components, join_across_tiles, valid_polygonal
from skywatch.errors import DataError, SourceError
from skywatch.grid import TileGrid
from skywatch.outputs.atomic import atomic_dir
from skywatch.outputs.geopackage import write_geopackage
from skywatch.outputs.mosaic import TiledRaster
from skywatch.sources.base import Source
from skywatch.sources.odc_load import read_errors
from skywatch.sources.stac_meta import cloud_cover
from skywatch.types import BBox

__all__ = [
    "DEFAULT_MODELS",
    "HALO",
    "DetectPlan",
    "DetectResult",
    "DetectRun",
    "Piece",
    "TileResult",
    "detect_tile",
    "detect_tile_tasks",
    "intersect_bounds",
    "iter_tile_tasks",
    "join_pieces",
    "plan_detect",
    "run_detect",
    "search_window",
    "write_detect_outputs",
]

# A before/after burn model lost to dNBR in cross-validation (models/experiments/): fire uses the post-only one.
DEFAULT_MODELS = {"fire": "burn-scar-fcn", "clearcut": "clearcut-fcn", "roads": "roads-fcn"}
# What the detectors read (green is no input of any detector or shipped model: not reading it saves an eighth of the
# reads and of a tile's composites).
BANDS = ("blue", "red", "nir", "nir08", "swir16", "swir22", "scl")  # scl last
# Widest neighbourhood of any step, in pixels: the active-fire context window (61 px, radius 30), the cloud
# buffer (8 px), openings/closings (2 px) and the minimum mapping units (<= 50 px) all fit inside 64.
HALO = 64
_LABEL = {"fire": "burn_scar", "clearcut": "clearcut", "roads": "road"}
_CLASSES = {
    "fire": "0 nodata, 1 unburned, 2 burn scar, 3 active fire",
    "clearcut": "0 nodata, 1 no change, 2 clear-cut",
    "roads": "0 nodata, 1 no change, 2 new road",
}


@dataclass(frozen=True, kw_only=True)
class DetectResult:
    """What a detection run wrote."""

    out: Path
    files: list[Path]
    detections: int
    scenes: dict[str, list[str]]
    tiles: int = 1


@dataclass(frozen=True, kw_only=True)
class Piece:
    """The part of one detection inside one tile's core, with sums for the joined feature's statistics."""

    kind: str
    pixels: int
    prob_sum: float
    dnbr_sum: float
    dnbr_n: int
    geometry: BaseGeometry


@dataclass(frozen=True, kw_only=True)
class DetectRun:
    task: str
    method: str
    fire_index: str
    source: Source
    aoi_geom: BaseGeometry
    grid: TileGrid
    items: dict[str, list[pystac.Item]]
    model: SegModel | None
    front_model: SegModel | None
    cloud_buffer_px: int


def search_window(source: Source, aoi: AOI, window: tuple[date, date], max_cloud: float | None) -> list[pystac.Item]:
    items = source.search(bbox=aoi.bbox, start=window[0], end=window[1], collection="sentinel-2-l2a",
                          max_cloud=max_cloud)  # fmt: skip
    if not items:
        raise SourceError(f"no Sentinel-2 scenes over {aoi.name!r} between {window[0]} and {window[1]}")
    return list(items)


def _composite(
    run: DetectRun, items: Sequence[pystac.Item], bounds: BBox
) -> tuple[dict[str, np.ndarray], np.ndarray, Any]:
    """Best-pixel composite of ``items`` over ``bounds``: band arrays, the valid mask and the geobox.

    :func:`skywatch.cube.composite.best_pixel` on the loaded tile, SCL-masked and clipped to the AOI: the rule of
    the lazy :func:`~skywatch.cube.composite.best_pixel_composite`, without its per-step task graph (which cost
    about as much as the reads)."""
    cube = run.source.load(items, bands=BANDS, bounds=bounds, epsg=run.grid.epsg, resolution=run.grid.resolution)
    geobox = cube.odc.geobox
    with read_errors():
        raw = cube.compute()
    covers = []
    for t in raw.time.values:
        day = np.datetime64(t, "D")
        c = [cloud_cover(it.properties) for it in items if it.datetime and np.datetime64(it.datetime.date()) == day]
        covers.append(min([v for v in c if v is not None], default=100.0))
    usable = ~np.isin(np.asarray(raw["scl"].values), sorted(DEFAULT_INVALID_SCL))
    usable &= np.asarray(aoi_mask(run.aoi_geom, geobox).values)[None]
    raw = raw.drop_vars("scl")
    arrays = {}
    for b in BANDS[:-1]:  # each band's scenes let go once composited: the tile's peak is not all bands twice over
        arrays[b] = best_pixel(np.asarray(raw[b].values, dtype=np.float32), usable, covers)
        raw = raw.drop_vars(b)
    del raw
    valid = np.ones(usable.shape[1:], bool)
    for band in arrays.values():  # band by band: a stack of all of them was the composite's largest temporary
        valid &= np.isfinite(band)
    return arrays, buffer_invalid(valid, run.cloud_buffer_px), geobox


def _detect_arrays(run: DetectRun, pre: dict[str, np.ndarray], post: dict[str, np.ndarray], valid: np.ndarray,
                   valid_post: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Classes, probability and dNBR of one tile (with its halo)."""
    res = run.grid.resolution
    arrays = {f"pre:{k}": v for k, v in pre.items()} | {f"post:{k}": v for k, v in post.items()}
    if run.model is not None:
        prob = _predict(run.model, arrays)
        detected = np.nan_to_num(prob) >= run.model.spec.threshold
    else:
        prob = np.zeros(valid.shape, np.float32)
        detected = np.zeros(valid.shape, bool)
    fire_front = np.zeros(valid.shape, bool)
    if run.task == "fire" and run.front_model is not None:  # the active-fire model next to the burn-scar model
        front_prob = _predict(run.front_model, arrays)
        fire_front = (np.nan_to_num(front_prob) >= run.front_model.spec.threshold) & valid_post
        del front_prob
    # The indices only after the models, and the post-date NDVI only for the baselines that use it: a worker's
    # peak memory is then the model's strips or three indices, not both plus a fourth.
    ndvi_pre = normalized_difference_array(pre["nir"], pre["red"])
    if run.task == "fire":
        if run.model is None:
            nbr_pre = normalized_difference_array(pre["nir08"], pre["swir22"])
            nbr_post = normalized_difference_array(post["nir08"], post["swir22"])
            relative = run.fire_index == "rdnbr"
            detected, dnbr = burn_scar_baseline(nbr_pre, nbr_post, post["red"], valid, relative=relative,
                                                dnbr_min=RDNBR_BURNED if relative else 0.10)  # fmt: skip
            prob = np.clip(np.nan_to_num(dnbr) / 0.66, 0, 1).astype(np.float32)
        if run.front_model is None:
            fire_front, _ = active_fire(post["blue"], post["nir08"], post["swir16"], post["swir22"], valid_post)
        detected |= fire_front
    elif run.task == "clearcut":
        forest = forest_mask(ndvi_pre, pre["swir16"])
        if run.model is None:
            ndvi_post = normalized_difference_array(post["nir"], post["red"])
            detected = clearcut_baseline(bright_change(ndvi_pre, ndvi_post, post["red"], valid), forest,
                                         resolution=res)  # fmt: skip
            prob = np.clip(np.nan_to_num(ndvi_pre - ndvi_post) / 0.6, 0, 1).astype(np.float32)
        # fields and water never alert; blocks under the 0.2 ha minimum mapping unit are dropped
        detected = _drop_small(detected & forest, max(1, round(0.2 * 10_000 / res**2)))
    else:
        with np.errstate(invalid="ignore"):
            vegetated = ndvi_pre >= 0.6
        if run.model is None:
            ndvi_post = normalized_difference_array(post["nir"], post["red"])
            change = bright_change(ndvi_pre, ndvi_post, post["red"], valid, ndvi_drop=0.2)
            detected, _ = road_baseline(change, vegetated, resolution=res)
            prob = np.clip(np.nan_to_num(ndvi_pre - ndvi_post) / 0.6, 0, 1).astype(np.float32)
        detected = _drop_small(detected & vegetated, 10)
    detected &= valid
    classes = np.where(detected, 2, 1).astype(np.uint8)
    if run.task == "fire":
        classes[fire_front & valid] = 3
    classes[~valid] = 0
    del ndvi_pre, detected, fire_front
    # in place (each is this call's own array): two full-tile copies fewer at the worker's peak
    prob = prob.astype(np.float32, copy=False)
    prob[~valid] = np.nan
    dnbr = normalized_difference_array(pre["nir08"], pre["swir22"])  # NBR before minus NBR after, last: not at the peak
    dnbr -= normalized_difference_array(post["nir08"], post["swir22"])
    dnbr[~valid] = np.nan
    return classes, prob, dnbr


def detect_tile(run: DetectRun, load: BBox, core: BBox) -> tuple[np.ndarray, np.ndarray, list[Piece]]:
    """Classes, probability and detection pieces of one tile's core, computed over ``load`` (core + halo)."""
    return detect_tile_tasks({run.task: run}, load, core)[run.task]


def detect_tile_tasks(runs: dict[str, DetectRun], load: BBox, core: BBox) -> dict[str, tuple[np.ndarray, np.ndarray,
                      list[Piece]]]:  # fmt: skip
    """Several detectors on one tile, its composites loaded and built once (the detectors share scenes and grid)."""
    return dict(iter_tile_tasks(runs, load, core))


def iter_tile_tasks(runs: dict[str, DetectRun], load: BBox,
                    core: BBox) -> Iterator[tuple[str, tuple[np.ndarray, np.ndarray, list[Piece]]]]:  # fmt: skip
    """:func:`detect_tile_tasks` one detector at a time, so a caller that stores each result as it comes (a worker
    writing checkpoints) never holds more than one detector's arrays beside the composites."""
    first = next(iter(runs.values()))
    pre, valid_pre, geobox = _composite(first, first.items["before"], load)
    post, valid_post, _ = _composite(first, first.items["after"], load)
    res = first.grid.resolution
    if geobox.affine != Affine(res, 0.0, load[0], 0.0, -res, load[3]):
        raise DataError(f"the cube's grid {tuple(geobox.affine)[:6]} is not the requested one over {load}")
    r0, c0 = round((load[3] - core[3]) / res), round((core[0] - load[0]) / res)
    rows, cols = round((core[3] - core[1]) / res), round((core[2] - core[0]) / res)
    crop = (slice(r0, r0 + rows), slice(c0, c0 + cols))
    transform = Affine(res, 0.0, core[0], 0.0, -res, core[3])
    for task, run in runs.items():
        classes, prob, dnbr = _detect_arrays(run, pre, post, valid_pre & valid_post, valid_post)
        classes, prob, dnbr = classes[crop].copy(), prob[crop].copy(), dnbr[crop]  # copies: the halo goes now
        parts = [(_LABEL[task], classes >= 2)]
        if task == "fire":
            parts.append(("active_fire", classes == 3))  # the front also stays inside its burn scar polygon
        pieces = []
        for kind, mask in parts:
            for pix, geom in components(mask, transform):
                finite = np.isfinite(dnbr[pix])
                pieces.append(Piece(kind=kind, pixels=int(pix.sum()), prob_sum=float(np.nansum(prob[pix])),
                                     dnbr_sum=float(dnbr[pix][finite].sum()), dnbr_n=int(finite.sum()),
                                     geometry=geom))  # fmt: skip
        yield task, (classes, prob, pieces)


# A tile (with its halo) up to this edge goes through the model in one piece; larger ones (a large --tile-px) in
# chunks of this size with the model's own halo, so the model's working memory stays bounded either way.
MODEL_CHUNK_PX = 2048


def _predict(model: SegModel, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The model's probability over a tile with its halo (wider than the model's receptive field, so the core
    equals the whole-array prediction); chunked under Dask only when the tile is larger than MODEL_CHUNK_PX."""
    model.check_inputs(list(arrays))
    if max(np.shape(arrays[model.spec.inputs[0]])) <= MODEL_CHUNK_PX:
        return model.predict(arrays)  # strip by strip, features included
    feats = compute_features(model.spec.features, arrays)
    lazy = predict_tiled(model.predict_features, da.from_array(feats, chunks=(-1, MODEL_CHUNK_PX, MODEL_CHUNK_PX)),
                         halo=model.spec.halo, chunk_px=MODEL_CHUNK_PX)  # fmt: skip
    return np.asarray(lazy.compute())


def join_pieces(run: DetectRun, pieces: list[Piece], classes: TiledRaster, transform: Affine, label: str,
              detected_by: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Join pieces cut by tile edges into one feature each; roads get a centre-line from their pixels."""
    res = run.grid.resolution
    rows: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for kind in dict.fromkeys(p.kind for p in pieces):
        same = [p for p in pieces if p.kind == kind]
        for group in join_across_tiles([p.geometry for p in same]):
            members = [same[i] for i in group]
            pixels = sum(m.pixels for m in members)
            geom = valid_polygonal(unary_union([m.geometry for m in members]))
            row: dict[str, Any] = {"type": kind, "area_ha": round(pixels * res * res / 1e4, 3),
                                   "mean_prob": round(sum(m.prob_sum for m in members) / pixels, 3), "method": label,
                                   "detected_by": detected_by.isoformat(), "geometry": geom}  # fmt: skip
            if kind == "burn_scar":  # Key & Benson severity of the scar's mean dNBR
                n = sum(m.dnbr_n for m in members)
                mean = sum(m.dnbr_sum for m in members) / n if n else float("nan")
                row["dnbr_mean"] = round(mean, 3)
                row["severity"] = SEVERITY_NAMES[max(0, int(dnbr_severity(np.array([mean]))[0]) - 1)]
            if kind == "road":
                line = _centreline(geom, classes, transform, res)
                if line is not None:
                    row["length_km"] = round(line.length / 1000, 3)
                    lines.append({"length_km": row["length_km"], "geometry": line})
            rows.append(row)
    return rows, lines


def _centreline(geom: BaseGeometry, classes: TiledRaster, transform: Affine, res: float) -> BaseGeometry | None:
    """The simplified centre-line of one road, from its pixels (read back over its own bounding box only)."""
    minx, miny, maxx, maxy = geom.bounds
    col0, row0 = math.floor((minx - transform.c) / res), math.floor((transform.f - maxy) / res)
    width, height = round((maxx - minx) / res), round((maxy - miny) / res)
    window = Affine(res, 0.0, transform.c + col0 * res, 0.0, -res, transform.f - row0 * res)
    inside = features.geometry_mask([geom], out_shape=(height, width), transform=window, invert=True)
    mask = inside & (classes.read(row0, col0, height, width) >= 2)
    line = centreline(skeletonize_mask(mask), window)
    return None if line is None else line.simplify(res / 2)


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
    tile_px: int = 1024,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
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
    if fire_index not in {"dnbr", "rdnbr"}:
        raise DataError(f"fire index must be dnbr or rdnbr, got {fire_index!r}")
    if before[1] >= after[0]:
        raise DataError(f"the before window ({before[0]}/{before[1]}) must end before the after window starts")
    grid = TileGrid.for_aoi(aoi, tile_px=tile_px)
    items = {"before": search_window(source, aoi, before, max_cloud),
             "after": search_window(source, aoi, after, max_cloud)}  # fmt: skip
    plan = plan_detect(task, source=source, aoi=aoi, grid=grid, items=items, method=method, model_name=model_name,
                       cloud_buffer_px=cloud_buffer_px, fire_index=fire_index)  # fmt: skip

    def results() -> Iterator[TileResult]:
        for i, (tile_id, load, core) in enumerate(plan.tiles, start=1):
            classes, prob, pieces = detect_tile(plan.run, load, core)
            if progress is not None:
                progress(f"tile {tile_id} ({i}/{len(plan.tiles)}): {len(pieces)} piece(s)")
            yield TileResult(core=core, classes=classes, prob=prob, pieces=pieces)

    with atomic_dir(out, overwrite=overwrite) as tmp:
        detections = write_detect_outputs(plan, results(), tmp, detected_by=after[1])
    files = [out / f"{task}.tif", out / f"{task}_prob.tif", out / f"{task}.gpkg"]
    return DetectResult(out=out, files=files, detections=detections, scenes={k: [it.id for it in v] for k, v in
                        items.items()}, tiles=len(plan.tiles))  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class DetectPlan:
    """One detector over one AOI: the run settings, the tiles (ID, load bounds with halo, core bounds) and the
    output grid."""

    run: DetectRun
    tiles: list[tuple[str, BBox, BBox]]
    extent: BBox
    shape: tuple[int, int]
    transform: Affine
    label: str


@dataclass(frozen=True, kw_only=True)
class TileResult:
    """What one tile's core produced."""

    core: BBox
    classes: np.ndarray
    prob: np.ndarray
    pieces: list[Piece]


def plan_detect(task: str, *, source: Source, aoi: AOI, grid: TileGrid, items: dict[str, list[pystac.Item]],
                method: str = "model", model_name: str | None = None, cloud_buffer_px: int = 8,
                fire_index: str = "dnbr") -> DetectPlan:  # fmt: skip
    """Settings, models and tiles of one detector (loads the model once; checks its bands)."""
    model = get_model(model_name or DEFAULT_MODELS[task]) if method == "model" else None
    front = get_model("active-fire-fcn") if method == "model" and task == "fire" else None
    label = "spectral baseline"
    if model is not None:
        label = f"model {model.spec.name} {model.spec.version} sha256 {model.spec.sha256}"
    run = DetectRun(task=task, method=method, fire_index=fire_index, source=source, aoi_geom=aoi.to_crs(grid.epsg),
                    grid=grid, items=items, model=model, front_model=front,
                    cloud_buffer_px=cloud_buffer_px)  # fmt: skip
    halo = max([HALO] + [m.spec.halo for m in (model, front) if m is not None])
    res = grid.resolution
    extent = grid.bounds_for(aoi)
    tiles = []
    for tile in grid.tiles_for(aoi):
        core = intersect_bounds(tile.bounds, extent)
        if core is None:
            continue
        pad = halo * res
        load = intersect_bounds((core[0] - pad, core[1] - pad, core[2] + pad, core[3] + pad), extent)
        assert load is not None
        tiles.append((tile.id, load, core))
    shape = (round((extent[3] - extent[1]) / res), round((extent[2] - extent[0]) / res))
    transform = Affine(res, 0.0, extent[0], 0.0, -res, extent[3])
    return DetectPlan(run=run, tiles=tiles, extent=extent, shape=shape, transform=transform, label=label)


def write_detect_outputs(plan: DetectPlan, results: Iterable[TileResult], out: Path, *, detected_by: date) -> int:
    """Write the tiles' cores into ``<task>.tif``/``<task>_prob.tif`` (COGs) and the joined detections into
    ``<task>.gpkg`` inside ``out`` (a temporary folder the caller renames); the number of detections."""
    task, grid, res = plan.run.task, plan.run.grid, plan.run.grid.resolution
    extent, transform = plan.extent, plan.transform
    tags = {"SKYWATCH_CLASSES": _CLASSES[task], "SKYWATCH_METHOD": plan.label}
    with (
        TiledRaster(out / f"{task}.classes.work.tif", shape=plan.shape, transform=transform, epsg=grid.epsg,
                    dtype="uint8", nodata=0) as classes_r,
        TiledRaster(out / f"{task}.prob.work.tif", shape=plan.shape, transform=transform, epsg=grid.epsg,
                    dtype="float32", nodata=float("nan")) as prob_r,
    ):  # fmt: skip
        pieces: list[Piece] = []
        clear = 0
        for result in results:
            clear += int((result.classes > 0).sum())
            core = result.core
            row, col = round((extent[3] - core[3]) / res), round((core[0] - extent[0]) / res)
            classes_r.write(result.classes, row, col)
            prob_r.write(result.prob, row, col)
            pieces.extend(result.pieces)
        if clear == 0:
            raise DataError(
                "no pixel of the AOI is clear on both dates (every one is cloud, shadow, snow or nodata): nothing "
                "was detected because nothing could be seen; widen the windows or raise --max-cloud"
            )
        rows, lines = join_pieces(plan.run, pieces, classes_r, transform, plan.label, detected_by)
        classes_r.to_cog(out / f"{task}.tif", tags=tags, categorical=True)
        prob_r.to_cog(out / f"{task}_prob.tif", tags=tags)
    crs = f"EPSG:{grid.epsg}"
    empty: dict[str, list[Any]] = {"type": [], "area_ha": [], "geometry": []}
    layers = {"detections": gpd.GeoDataFrame(rows or empty, geometry="geometry", crs=crs)}
    if task == "roads":
        layers["centrelines"] = gpd.GeoDataFrame(lines or {"length_km": [], "geometry": []}, geometry="geometry",
                                                 crs=crs)  # fmt: skip
    write_geopackage(out / f"{task}.gpkg", layers)
    return len(rows)


def intersect_bounds(a: BBox, b: BBox) -> BBox | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None
