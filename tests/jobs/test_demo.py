"""The end-to-end demo: outputs exist, real consumers accept them, and alerts find the injected disturbances."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geojson_validator
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio import features
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import shape
from shapely.geometry.polygon import orient

from skywatch.errors import DataError, OutputError
from skywatch.geometry import reproject
from skywatch.jobs.demo import DemoConfig, DemoResult, load_demo_job, run_demo

REPO = Path(__file__).resolve().parents[2]


def _alerts(result: DemoResult) -> dict:  # type: ignore[type-arg]
    return json.loads((result.out / "alerts.geojson").read_text())


def _rasterize(result: DemoResult, types: set[str]) -> np.ndarray:
    with rasterio.open(result.out / "fire.tif") as ds:
        transform, shape_ = ds.transform, ds.shape
    geoms = [
        reproject(shape(f["geometry"]), 4326, 32652)
        for f in _alerts(result)["features"]
        if f["properties"]["type"] in types
    ]
    if not geoms:
        return np.zeros(shape_, dtype=bool)
    return features.rasterize(geoms, out_shape=shape_, transform=transform).astype(bool)


def _truth(result: DemoResult, name: str) -> np.ndarray:
    with rasterio.open(result.out / "sample" / "truth" / f"{name}.tif") as ds:
        return ds.read(1).astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_burn_scar_alerts_match_truth(demo_result: DemoResult) -> None:
    pred = _rasterize(demo_result, {"burn_scar", "fire_active"})
    assert _iou(pred, _truth(demo_result, "burn")) >= 0.7


def test_every_injected_disturbance_is_alerted(demo_result: DemoResult) -> None:
    from scipy import ndimage

    for types, name in (({"clearcut"}, "clearcut"), ({"road"}, "road"), ({"fire_active"}, "fire_active")):
        pred, truth = _rasterize(demo_result, types), _truth(demo_result, name)
        labels, n = ndimage.label(truth, structure=np.ones((3, 3)))
        assert n > 0
        for k in range(1, n + 1):
            assert (pred & (labels == k)).sum() > 0.5 * (labels == k).sum(), f"{name} #{k} missed"
        assert _iou(pred, truth) >= 0.6, name


def test_alerts_are_rfc7946(demo_result: DemoResult) -> None:
    path = demo_result.out / "alerts.geojson"
    doc = json.loads(path.read_text())
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    result = geojson_validator.validate_structure(doc)
    assert not result, result
    report = geojson_validator.validate_geometries(doc)
    assert not report.get("invalid"), report
    # the validator files self-intersections and out-of-range coordinates as "problematic", not "invalid"
    bad = {"self_intersection", "outside_lat_lon_boundaries", "crosses_antimeridian", "duplicate_nodes"}
    assert not bad & set(report.get("problematic", {})), report
    required = {
        "id",
        "type",
        "area_ha",
        "acq_date",
        "confidence",
        "latitude",
        "longitude",
        "label_en",
        "label_ru",
        "label_zh",
    }
    for f in doc["features"]:
        props = f["properties"]
        assert required <= set(props)
        assert props["synthetic"] is True
        geom = shape(f["geometry"])
        assert geom.is_valid, (props["type"], props["id"])
        polys = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
        for p in polys:
            assert orient(p, sign=1.0).exterior.coords[:] == p.exterior.coords[:]  # counter-clockwise
        assert 130 < props["longitude"] < 132 and 42 < props["latitude"] < 44
    assert len({f["id"] for f in doc["features"]}) == len(doc["features"])
    coords = np.concatenate([shapely.get_coordinates(shape(f["geometry"])) for f in doc["features"]])
    assert len(coords) and all(round(float(v), 6) == v for v in coords.ravel())  # 6 decimals (~0.1 m)


def test_rasters_are_strict_cogs(demo_result: DemoResult) -> None:
    names = {"fire", "clearcut", "roads", "presence_leopard", "presence_tiger", "habitat_risk"}
    assert names <= {p.stem for p in demo_result.out.glob("*.tif")}
    for name in names:
        path = demo_result.out / f"{name}.tif"
        ok, errors, warnings = cog_validate(str(path), strict=True)
        assert ok, (name, errors, warnings)
        with rasterio.open(path) as ds:
            assert ds.overviews(1), name
            assert ds.crs.to_epsg() == 32652
    with rasterio.open(demo_result.out / "habitat_risk.tif") as ds:
        risk = ds.read(1)
    finite = risk[np.isfinite(risk)]
    assert finite.size and finite.min() >= 0 and finite.max() <= 1 and finite.max() > 0.1


def test_geopackage_layers(demo_result: DemoResult) -> None:
    path = demo_result.out / "skywatch.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"aoi", "detections", "camera_stations", "road_centrelines"} <= layers
    assert len(pyogrio.read_dataframe(path, layer="camera_stations")) == 30
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200  # GeoPackage 1.2


def test_demo_refuses_to_overwrite_and_job_files_are_checked(demo_result: DemoResult, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="--overwrite"):
        run_demo(demo_result.out)
    assert load_demo_job(REPO / "cli" / "jobs" / "demo.yaml") == DemoConfig()
    bad = tmp_path / "bad.yaml"
    bad.write_text("demo:\n  seeed: 3\n")
    with pytest.raises(DataError, match="seeed"):
        load_demo_job(bad)
    bad.write_text("demo:\n  burn_dnbr_min: high\n")
    with pytest.raises(DataError, match="burn_dnbr_min"):
        load_demo_job(bad)
    bad.write_text("!!python/object:os.system ['true']\n")
    with pytest.raises(DataError):
        load_demo_job(bad)
