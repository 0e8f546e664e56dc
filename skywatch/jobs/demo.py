"""`skywatch demo`: the whole chain on the SYNTHETIC sample, written atomically into one folder.

sample (local STAC) -> odc-stac cube -> SCL mask -> spectral baselines (dNBR burn scars, Schroeder-style active
fire, NDVI-drop clear-cuts, linear-feature roads) -> camera-trap presence -> habitat risk -> alerts GeoJSON,
GeoPackage layers and COGs, SECR density and individuals, hotspots, the alert store, and the QGIS project
(skywatch.qgz) with every layer styled.
"""

from __future__ import annotations

import json
import time as _time
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import yaml
from shapely.geometry import Point

from skywatch.aoi import load_aoi
from skywatch.camtrap.load import load_table
from skywatch.camtrap.presence import presence_surface
from skywatch.cube.indices import nbr, ndvi
from skywatch.cube.mask import apply_mask, buffer_invalid
from skywatch.detect.clearcut import bright_change, clearcut_baseline, forest_mask
from skywatch.detect.fire import active_fire, burn_scar_baseline, dnbr_severity
from skywatch.detect.roads import road_baseline
from skywatch.errors import DataError
from skywatch.fuse.context import incident_context
from skywatch.fuse.hotspots import exposure_by_threat, hotspots, zonal_summary
from skywatch.fuse.incidents import Incident, incidents_from_masks
from skywatch.fuse.risk import DEFAULT_THREATS, Threat, habitat_risk, threat_surface
from skywatch.grid import TileGrid
from skywatch.jobs.presence import run_presence, slug, station_rates
from skywatch.jobs.sample import COLLECTION, write_sample
from skywatch.outputs.alert_store import update_store
from skywatch.outputs.alerts import alerts_feature_collection, write_alerts
from skywatch.outputs.atomic import atomic_dir
from skywatch.outputs.cog import write_cog
from skywatch.outputs.delivery import (
    RasterLayer,
    VectorLayer,
    alerts_frame,
    aoi_frame,
    detections_frame,
    write_delivery,
)
from skywatch.sources.local import LocalSource
from skywatch.sources.odc_load import load_cube, read_errors

__all__ = ["DemoConfig", "DemoResult", "load_demo_job", "run_demo"]

BANDS = ("blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl")
SPECIES_LAYERS = {"Panthera pardus orientalis": "leopard", "Panthera tigris altaica": "tiger"}
DENSITY_NAMES = {
    "leopard": ("Leopard density (SECR)", "Плотность леопарда (SECR)", "豹密度（SECR）"),
    "tiger": ("Tiger density (SECR)", "Плотность тигра (SECR)", "虎密度（SECR）"),
}


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Parameters of the demo chain (``cli/jobs/demo.yaml`` holds the same keys)."""

    seed: int = 42
    cloud_buffer_px: int = 8
    burn_dnbr_min: float = 0.10
    burn_max_post_red: float = 0.07
    clearcut_ndvi_drop: float = 0.3
    clearcut_min_area_ha: float = 0.2
    road_min_length_m: float = 300.0
    presence_bandwidth_m: float = 1500.0
    language: str = "ru"
    threats: dict[str, Threat] = field(default_factory=lambda: dict(DEFAULT_THREATS))


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    """What the demo wrote and found."""

    out: Path
    incidents: list[Incident]
    files: list[Path]
    seconds: float
    counts: dict[str, int]


def load_demo_job(path: Path) -> DemoConfig:
    """Read a demo job file (YAML, ``safe_load``); unknown keys and wrong types are errors.

    Raises:
        DataError: unreadable file, unknown key or wrong type.
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read job file {str(path)!r}: {exc}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"job file {str(path)!r} must be a mapping of settings")
    doc = dict(doc.get("demo", doc)) if isinstance(doc.get("demo", doc), dict) else {}
    known = {f.name: f for f in fields(DemoConfig)}
    unknown = sorted(set(doc) - set(known))
    if unknown:
        raise DataError(f"job file {str(path)!r}: unknown key(s) {unknown}; known: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "threats":
            if not isinstance(value, dict) or set(value) - set(DEFAULT_THREATS):
                raise DataError(f"job file {str(path)!r}: threats must map {sorted(DEFAULT_THREATS)} to settings")
            try:
                kwargs[key] = {**DEFAULT_THREATS, **{k: Threat(**v) for k, v in value.items()}}
            except TypeError as exc:
                raise DataError(f"job file {str(path)!r}: threats: {exc}") from exc
            continue
        if key == "language":
            if value not in {"ru", "zh"}:
                raise DataError(f"job file {str(path)!r}: language must be ru or zh, got {value!r}")
            kwargs[key] = value
            continue
        expected = int if key in {"seed", "cloud_buffer_px"} else float
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (expected is int and not isinstance(value, int))
        ):
            raise DataError(f"job file {str(path)!r}: {key} must be a {expected.__name__}, got {value!r}")
        kwargs[key] = expected(value)
    return DemoConfig(**kwargs)


def run_demo(
    out: Path, *, sample: Path | None = None, config: DemoConfig | None = None, overwrite: bool = False
) -> DemoResult:
    """Run the chain and write everything into ``out`` (replaced atomically when it exists and ``overwrite``).

    Args:
        out: Output folder.
        sample: An existing sample pack; generated into ``out/sample`` when None.
        config: Parameters (defaults: :class:`DemoConfig`).
        overwrite: Replace ``out`` if it exists.

    Raises:
        OutputError: ``out`` exists without ``overwrite``.
        SourceError: the sample's catalog or rasters cannot be read.
    """
    cfg = config or DemoConfig()
    t0 = _time.perf_counter()
    with atomic_dir(out, overwrite=overwrite) as tmp:
        sample_dir = sample if sample is not None else write_sample(tmp / "sample", seed=cfg.seed)
        incidents, files, counts = _chain(sample_dir, tmp, cfg)
    files = [out / f.relative_to(tmp) for f in files]
    return DemoResult(out=out, incidents=incidents, files=files, seconds=_time.perf_counter() - t0, counts=counts)


def _chain(sample_dir: Path, out: Path, cfg: DemoConfig) -> tuple[list[Incident], list[Path], dict[str, int]]:
    aoi = load_aoi(sample_dir / "aoi.geojson")
    grid = TileGrid.for_aoi(aoi)
    bounds = grid.bounds_for(aoi)
    items = LocalSource(path=sample_dir).search(
        bbox=aoi.bbox, start=date(1970, 1, 1), end=date(2100, 1, 1), collection=COLLECTION
    )
    if len(items) < 2:
        raise DataError(f"the demo needs a before and an after scene; {str(sample_dir)!r} has {len(items)}")
    before, after = items[0], items[-1]
    synthetic = any(bool(it.properties.get("synthetic")) for it in items)
    cube = apply_mask(load_cube([before, after], bands=BANDS, bounds=bounds, epsg=grid.epsg))
    pre, post = cube.isel(time=0), cube.isel(time=1)
    lazy = {
        "ndvi_pre": ndvi(pre),
        "ndvi_post": ndvi(post),
        "nbr_pre": nbr(pre),
        "nbr_post": nbr(post),
        "red_post": post["red"],
        "blue_post": post["blue"],
        "nir08_post": post["nir08"],
        "swir16_post": post["swir16"],
        "swir22_post": post["swir22"],
        "swir16_pre": pre["swir16"],
        "valid": pre["valid"] & post["valid"],
        "valid_post": post["valid"],
    }
    with read_errors():
        (arrays,) = dask.compute(lazy)
    a = {k: np.asarray(v.values) for k, v in arrays.items()}
    a["valid_post"] = buffer_invalid(a["valid_post"], cfg.cloud_buffer_px)
    valid = buffer_invalid(a["valid"], cfg.cloud_buffer_px)
    transform = cube.odc.geobox.affine
    res = grid.resolution

    burn, dnbr = burn_scar_baseline(
        a["nbr_pre"],
        a["nbr_post"],
        a["red_post"],
        valid,
        dnbr_min=cfg.burn_dnbr_min,
        max_post_red=cfg.burn_max_post_red,
    )
    fire, unamb = active_fire(a["blue_post"], a["nir08_post"], a["swir16_post"], a["swir22_post"], a["valid_post"])
    burn |= fire & valid  # a spreading front is part of the burned area
    change = bright_change(a["ndvi_pre"], a["ndvi_post"], a["red_post"], valid, ndvi_drop=cfg.clearcut_ndvi_drop)
    forest = forest_mask(a["ndvi_pre"], a["swir16_pre"])
    clearcut = clearcut_baseline(change, forest, resolution=res, min_area_ha=cfg.clearcut_min_area_ha)
    with np.errstate(invalid="ignore"):
        vegetated = a["ndvi_pre"] >= 0.6
        road_change = bright_change(a["ndvi_pre"], a["ndvi_post"], a["red_post"], valid, ndvi_drop=0.2)
    road, skeleton = road_baseline(
        road_change & ~clearcut, vegetated, resolution=res, min_length_m=cfg.road_min_length_m
    )
    ndvi_drop = a["ndvi_pre"] - a["ndvi_post"]
    detected = after.datetime.date() if after.datetime else date.today()
    incidents = incidents_from_masks(
        transform=transform,
        resolution=res,
        detected=detected,
        burn=burn,
        dnbr=dnbr,
        fire_active=fire,
        fire_unambiguous=unamb,
        clearcut=clearcut,
        ndvi_drop=ndvi_drop,
        road=road,
        road_skeleton=skeleton,
    )

    tags = {"SKYWATCH_SYNTHETIC": "true"} if synthetic else {}
    files: list[Path] = []
    nodata = ~valid
    fire_cls = np.where(burn, np.clip(dnbr_severity(np.nan_to_num(dnbr)).astype(np.int16) - 2, 2, 5), 1)
    fire_cls = np.where(fire, 6, fire_cls).astype(np.uint8)
    fire_cls[nodata] = 0
    for name, arr in (
        ("fire", fire_cls),
        ("clearcut", _classes(clearcut, nodata)),
        ("roads", _classes(road, nodata)),
    ):
        files.append(
            write_cog(
                out / f"{name}.tif",
                arr,
                transform=transform,
                epsg=grid.epsg,
                nodata=0,
                tags={**tags, "SKYWATCH_CLASSES": _CLASS_DOC[name]},
                categorical=True,
            )
        )

    table = load_table(sample_dir / "camtrap")
    presences = {}
    station_tables = []
    for species, short in SPECIES_LAYERS.items():
        st = station_rates(table, species)
        st["species"] = species
        station_tables.append(st)
        surf = presence_surface(
            st, transform=transform, shape=valid.shape, epsg=grid.epsg, bandwidth_m=cfg.presence_bandwidth_m
        )
        presences[short] = surf
        files.append(
            write_cog(
                out / f"presence_{short}.tif",
                surf,
                transform=transform,
                epsg=grid.epsg,
                nodata=float("nan"),
                tags={**tags, "SKYWATCH_UNITS": "events per 100 trap-days"},
            )
        )
    # SECR density, activity centres and ranges of identified animals (100 m layers in presence/)
    secr = run_presence(table, aoi=aoi, out=out / "presence", species=list(SPECIES_LAYERS),
                        bandwidth_m=cfg.presence_bandwidth_m)  # fmt: skip
    files.extend(secr.files)
    big_cats = np.nansum(np.stack(list(presences.values())), axis=0)
    big_cats[np.all(np.isnan(np.stack(list(presences.values()))), axis=0)] = np.nan
    masks = {"fire": burn | fire, "clearcut": clearcut, "road": road}
    threat = threat_surface(masks, resolution=res, threats=cfg.threats)
    risk = habitat_risk(big_cats, threat)
    files.append(
        write_cog(
            out / "habitat_risk.tif",
            risk,
            transform=transform,
            epsg=grid.epsg,
            nodata=float("nan"),
            tags={**tags, "SKYWATCH_UNITS": "0-1 relative risk"},
        )
    )
    exposures = exposure_by_threat(big_cats, masks, resolution=res, threats=cfg.threats)
    spots = hotspots(risk, transform=transform, epsg=grid.epsg, exposures=exposures)
    aoi_utm = aoi.to_crs(grid.epsg)
    zones = zonal_summary(risk, [(aoi.name, aoi_utm)], transform=transform)

    crs = f"EPSG:{grid.epsg}"
    stations = station_tables[0][["station", "longitude", "latitude", "trap_days"]].copy()
    for st in station_tables:
        stations[f"rai_{SPECIES_LAYERS[st['species'].iloc[0]]}"] = st["rai"].round(3).to_numpy()
    stations_gdf = gpd.GeoDataFrame(
        stations,
        geometry=[Point(xy) for xy in zip(stations.longitude, stations.latitude, strict=True)],
        crs="EPSG:4326",
    ).to_crs(crs)
    individuals = out / "presence" / "individuals.gpkg"
    centres = pyogrio.read_dataframe(individuals, layer="activity_centres")
    ranges = pyogrio.read_dataframe(individuals, layer="ranges")
    contexts = incident_context([i.geometry for i in incidents], presence=big_cats, transform=transform,
                                stations=stations_gdf, centres=centres)  # fmt: skip
    collection = alerts_feature_collection(
        incidents,
        epsg=grid.epsg,
        satellite=str(after.properties.get("platform", "sentinel-2")),
        acq_time=after.datetime.strftime("%H%M") if after.datetime else "0000",
        source_scenes=[before.id, after.id],
        method="baseline",
        synthetic=synthetic,
        contexts=contexts,
    )
    update = update_store(out / "alert_store.gpkg", collection, run_date=detected, coverage=aoi.geometry)
    files.append(out / "alert_store.gpkg")
    files.append(write_alerts(out / "alerts.geojson", update.collection))

    det = detections_frame(incidents, crs)
    alerts_gdf = alerts_frame(update.collection, crs)
    lines = [i for i in incidents if i.type == "road" and i.extra.get("centreline") is not None]
    centre = gpd.GeoDataFrame(
        {"length_km": [i.length_km for i in lines], "geometry": [i.extra["centreline"] for i in lines]},
        geometry="geometry",
        crs=crs,
    )
    aoi_gdf = aoi_frame(aoi, crs)
    vectors = [
        VectorLayer(name="alerts", kind="alerts", group="Alerts", frame=alerts_gdf),
        VectorLayer(name="hotspots", kind="hotspots", group="Alerts", frame=spots),
        VectorLayer(name="detections", kind="detections", group="Disturbance", frame=det),
        VectorLayer(name="road_centrelines", kind="road_centrelines", group="Disturbance", frame=centre),
        VectorLayer(name="camera_stations", kind="camera_stations", group="Wildlife", frame=stations_gdf),
        VectorLayer(name="activity_centres", kind="activity_centres", group="Wildlife", frame=centres),
        VectorLayer(name="individual_ranges", kind="individual_ranges", group="Wildlife", frame=ranges, visible=False),
        VectorLayer(name="aoi", kind="aoi", group="Context", frame=aoi_gdf),
    ]
    top = max(float(np.nanmax(p)) if np.isfinite(p).any() else 0.0 for p in presences.values()) or 1.0
    rasters = [
        RasterLayer(source="fire.tif", kind="fire_classes", group="Disturbance",
                    names=("Burn severity", "Степень выгорания", "火烧严重程度")),
        RasterLayer(source="clearcut.tif", kind="change_classes", group="Disturbance",
                    names=("Clear-cuts", "Сплошные рубки", "皆伐"), change_type="clearcut"),
        RasterLayer(source="roads.tif", kind="change_classes", group="Disturbance",
                    names=("New roads", "Новые дороги", "新道路"), change_type="road"),
        RasterLayer(source="presence_leopard.tif", kind="presence", group="Wildlife", vmin=0.0, vmax=top,
                    names=("Leopard detection rate", "Частота регистраций леопарда", "豹探测率")),
        RasterLayer(source="presence_tiger.tif", kind="presence", group="Wildlife", vmin=0.0, vmax=top, visible=False,
                    names=("Tiger detection rate", "Частота регистраций тигра", "虎探测率")),
        RasterLayer(source="habitat_risk.tif", kind="risk", group="Context", vmin=0.0, vmax=1.0,
                    names=("Habitat risk", "Риск для местообитаний", "栖息地风险")),
    ]  # fmt: skip
    for species, short in SPECIES_LAYERS.items():
        dens = out / "presence" / f"density_{slug(species)}.tif"
        if dens.exists():
            with rasterio.open(dens) as ds:
                vmax = float(np.nanmax(ds.read(1)))
            names = DENSITY_NAMES[short]
            rasters.append(RasterLayer(source=f"presence/{dens.name}", kind="density", group="Wildlife", vmin=0.0,
                                       vmax=vmax, names=names, visible=False))  # fmt: skip
    files.extend(write_delivery(out, vectors=vectors, rasters=rasters, epsg=grid.epsg, title=f"skywatch: {aoi.name}",
                                language=cfg.language))  # fmt: skip
    summary = {
        "synthetic": synthetic,
        "run_date": detected.isoformat(),
        "zones": zones.to_dict("records"),
        "hotspots": spots.drop(columns="geometry").head(10).to_dict("records"),
        "alerts": {"new": len(update.new), "ongoing": len(update.ongoing), "resolved": len(update.resolved)},
        "secr": {k: v.get("secr") for k, v in secr.summary["species"].items()},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float), encoding="utf-8")
    files.append(out / "summary.json")
    counts = {t: sum(1 for i in incidents if i.type == t) for t in ("fire_active", "burn_scar", "clearcut", "road")}
    counts["stations"] = len(stations_gdf)
    counts["hotspots"] = len(spots)
    return incidents, files, counts


_CLASS_DOC = {
    "fire": "0 nodata, 1 unburned, 2 low, 3 moderate-low, 4 moderate-high, 5 high (dNBR, Key & Benson), 6 active fire",
    "clearcut": "0 nodata, 1 no change, 2 clear-cut",
    "roads": "0 nodata, 1 no change, 2 new road",
}


def _classes(mask: np.ndarray, nodata: np.ndarray) -> np.ndarray:
    out = np.where(mask, 2, 1).astype(np.uint8)
    out[nodata] = 0
    return out
