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
    names = {"fire", "clearcut", "roads", "presence_leopard", "presence_tiger", "habitat_risk",
             "presence/density_panthera-pardus-orientalis"}  # fmt: skip
    assert names <= {str(p.relative_to(demo_result.out).with_suffix("")) for p in demo_result.out.rglob("*.tif")}
    for name in names:
        path = demo_result.out / f"{name}.tif"
        ok, errors, warnings = cog_validate(str(path), strict=True)
        assert ok, (name, errors, warnings)
        with rasterio.open(path) as ds:
            if max(ds.shape) > 128:  # GDAL's COG driver adds overviews above one (>= 128 px) block
                assert ds.overviews(1), name
            assert ds.crs.to_epsg() == 32652
    with rasterio.open(demo_result.out / "habitat_risk.tif") as ds:
        risk = ds.read(1)
    finite = risk[np.isfinite(risk)]
    assert finite.size and finite.min() >= 0 and finite.max() <= 1 and finite.max() > 0.1


def test_geopackage_layers(demo_result: DemoResult) -> None:
    path = demo_result.out / "skywatch.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"aoi", "detections", "alerts", "hotspots", "camera_stations", "road_centrelines", "activity_centres",
            "individual_ranges"} <= layers  # fmt: skip
    assert len(pyogrio.read_dataframe(path, layer="camera_stations")) == 30
    alerts = pyogrio.read_dataframe(path, layer="alerts")
    assert len(alerts) == len(_alerts(demo_result)["features"]) and set(alerts.status) == {"new"}
    hot = pyogrio.read_dataframe(path, layer="hotspots")
    assert len(hot) >= 1 and hot["rank"].tolist() == list(range(1, len(hot) + 1))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200  # GeoPackage 1.2
        styled = {r[0] for r in db.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault = 1")}
    assert styled == layers - {"layer_styles"}  # every layer opens styled in QGIS
    for tif in demo_result.out.glob("*.tif"):
        assert tif.with_suffix(".qml").exists(), tif.name


def test_alerts_carry_context_and_store(demo_result: DemoResult) -> None:
    feats = _alerts(demo_result)["features"]
    for f in feats:
        p = f["properties"]
        assert {"score", "rank"} <= set(p["exposure"]) and p["status"] == "new" and p["first_seen"] == p["acq_date"]
        assert isinstance(p["stations_nearby"], list) and isinstance(p["individuals_nearby"], list)
    assert sorted(f["properties"]["exposure"]["rank"] for f in feats) == list(range(1, len(feats) + 1))
    fire = next(f for f in feats if f["properties"]["type"] == "fire_active")
    assert fire["properties"]["stations_nearby"]  # the sample's fire burns among the cameras
    assert (demo_result.out / "alert_store.gpkg").exists()
    summary = json.loads((demo_result.out / "summary.json").read_text())
    zone = summary["zones"][0]
    assert summary["alerts"]["new"] == len(feats) and zone["assessed_ha"] > 0 and 0 < zone["max_risk"] <= 1
    assert summary["hotspots"] and summary["hotspots"][0]["rank"] == 1


def test_qgis_opens_the_demo_project_styled(demo_result: DemoResult, tmp_path: Path) -> None:
    import os
    import subprocess

    python = os.environ.get("SKYWATCH_QGIS_PYTHON", "/usr/bin/python3")
    probe = subprocess.run([python, "-c", "import qgis.core"], capture_output=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip("Debian's QGIS is not installed (apt-get install python3-qgis qgis-providers)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    check = REPO / "tests" / "helpers" / "qgis_check.py"
    r = subprocess.run([python, str(check), str(demo_result.out / "skywatch.qgz"), str(tmp_path / "map.png")],
                       capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads(r.stdout[r.stdout.index("{") :])
    assert report["errors"] == [] and len(report["layers"]) >= 14
    assert all(layer["valid"] and layer["renderer"] == layer["designed_renderer"] for layer in report["layers"])
    assert report["render"]["nonblank_fraction"] > 0.2


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
