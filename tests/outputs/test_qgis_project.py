"""The QGIS project writer, and the whole delivery opened in real QGIS 3.22 (headless, its own process).

A small synthetic delivery is built here: a GeoPackage 1.2 in EPSG:32652 with every vector kind and its default
style in ``layer_styles``, class and ramp COGs with ``.qml`` sidecars, and ``skywatch.qgz``. The QGIS test runs
``tests/helpers/qgis_check.py`` with ``/usr/bin/python3`` and skips, with a message, only where QGIS is not
installed for that interpreter.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from affine import Affine
from shapely.geometry import LineString, Point, Polygon, box

from skywatch.errors import DataError
from skywatch.outputs.cog import write_cog
from skywatch.outputs.geopackage import write_geopackage
from skywatch.outputs.qgis_project import GROUPS, ProjectLayer, write_qgz
from skywatch.outputs.styles import raster_qml, vector_qml, vector_style, write_qml_sidecar

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "tests" / "helpers" / "qgis_check.py"
SYSTEM_PYTHON = os.environ.get("SKYWATCH_QGIS_PYTHON", "/usr/bin/python3")  # Debian's, which has QGIS
EPSG = 32652
X0, Y0, RES, SIZE = 500_000.0, 4_805_120.0, 20.0, 256  # a 5.12 km square
CRS = f"EPSG:{EPSG}"

# layer -> (kind, group, English, Russian, geometry)
VECTORS = {
    "alerts": ("alerts", "Alerts", "Alerts", "Оповещения"),
    "detections": ("detections", "Alerts", "Detections", "Обнаружения"),
    "hotspots": ("hotspots", "Alerts", "Risk hotspots", "Очаги риска"),
    "road_centrelines": ("road_centrelines", "Disturbance", "New road centrelines", "Оси новых дорог"),
    "camera_stations": ("camera_stations", "Wildlife", "Camera stations", "Фотоловушки"),
    "activity_centres": ("activity_centres", "Wildlife", "Activity centres", "Центры активности"),
    "individual_ranges": ("individual_ranges", "Wildlife", "Home ranges", "Участки обитания"),
    "aoi": ("aoi", "Context", "Park boundary", "Граница парка"),
}
# file -> (kind, group, English, Russian, vmin, vmax)
RASTERS = {
    "fire.tif": ("fire_classes", "Disturbance", "Burn severity", "Степень выгорания", None, None),
    "clearcut.tif": ("change_classes", "Disturbance", "Clear-cuts", "Сплошные рубки", None, None),
    "presence_leopard.tif": ("presence", "Wildlife", "Leopard presence", "Присутствие леопарда", 0.0, 8.0),
    "habitat_risk.tif": ("risk", "Context", "Habitat risk", "Риск для местообитаний", 0.0, 1.0),
}
EXPECTED_RENDERER = {
    "alerts": "categorizedSymbol",
    "detections": "categorizedSymbol",
    "hotspots": "graduatedSymbol",
    "road_centrelines": "singleSymbol",
    "camera_stations": "singleSymbol",
    "activity_centres": "singleSymbol",
    "individual_ranges": "categorizedSymbol",
    "aoi": "singleSymbol",
    "fire.tif": "paletted",
    "clearcut.tif": "paletted",
    "presence_leopard.tif": "singlebandpseudocolor",
    "habitat_risk.tif": "singlebandpseudocolor",
}


def _xy(col: float, row: float) -> tuple[float, float]:
    return X0 + col * RES, Y0 - row * RES


def _frames() -> dict[str, gpd.GeoDataFrame]:
    def cell(c0: float, r0: float, c1: float, r1: float) -> Polygon:
        (x0, y1), (x1, y0) = _xy(c0, r0), _xy(c1, r1)
        return box(x0, y0, x1, y1)

    types = ["fire_active", "burn_scar", "clearcut", "road"]
    labels = {
        "en": ["Active fire", "Burn scar", "Clear-cut", "New road"],
        "ru": ["Действующий пожар", "Гарь", "Сплошная рубка", "Новая дорога"],
        "zh": ["活跃火点", "火烧迹地", "皆伐", "新道路"],
    }
    detections = gpd.GeoDataFrame(
        {"type": types, **{f"label_{k}": v for k, v in labels.items()}, "area_ha": [4.0, 30.0, 12.0, 2.0]},
        geometry=[cell(20, 20, 40, 40), cell(45, 20, 95, 60), cell(150, 150, 190, 180), cell(100, 200, 230, 206)],
        crs=CRS,
    )
    centre = LineString([_xy(100, 203), _xy(230, 203)])
    stations = [(60 + 40 * i, 90 + 30 * (i % 3)) for i in range(5)]
    ranges = []
    for ind, (c, r) in (("L1", (80, 120)), ("L2", (170, 90))):
        centre_pt = Point(*_xy(c, r))
        for name, radius in (("mcp100", 1400.0), ("kde95", 1100.0), ("kde50", 500.0)):
            ranges.append({"individualID": ind, "range": name, "geometry": centre_pt.buffer(radius)})
    alerts = gpd.GeoDataFrame(  # no label_* attributes: labelled by a translated expression on type
        {"type": types, "confidence": ["high", "nominal", "high", "low"]},
        geometry=[g.centroid for g in detections.geometry],
        crs=CRS,
    )
    return {
        "alerts": alerts,
        "aoi": gpd.GeoDataFrame({"name": ["Land of the Leopard"]}, geometry=[cell(5, 5, 251, 251)], crs=CRS),
        "detections": detections,
        "road_centrelines": gpd.GeoDataFrame({"length_km": [2.6]}, geometry=[centre], crs=CRS),
        "camera_stations": gpd.GeoDataFrame(
            {"locationID": [f"ST{i:02d}" for i in range(5)], "trap_days": [90] * 5},
            geometry=[Point(*_xy(c, r)) for c, r in stations],
            crs=CRS,
        ),
        "individual_ranges": gpd.GeoDataFrame(ranges, geometry="geometry", crs=CRS),
        "activity_centres": gpd.GeoDataFrame(
            {"individualID": ["L1", "L2"]}, geometry=[Point(*_xy(80, 120)), Point(*_xy(170, 90))], crs=CRS
        ),
        "hotspots": gpd.GeoDataFrame(
            {"rank": [1, 2, 5], "risk": [0.9, 0.7, 0.3]},
            geometry=[Point(*_xy(60, 60)), Point(*_xy(160, 160)), Point(*_xy(200, 40))],
            crs=CRS,
        ),
    }


def _rasters() -> dict[str, np.ndarray]:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    fire = np.ones((SIZE, SIZE), np.uint8)
    fire[20:60, 45:95] = 2 + (cols[20:60, 45:95] - 45) // 13  # severity 2-5 from west to east
    fire[20:40, 20:40] = 6
    fire[:, :3] = 0
    clear = np.ones((SIZE, SIZE), np.uint8)
    clear[150:180, 150:190] = 2
    clear[:, :3] = 0
    presence = (8.0 * np.exp(-(((cols - 80) ** 2 + (rows - 120) ** 2) / (2 * 40.0**2)))).astype(np.float32)
    presence[:, :3] = np.nan
    risk = np.clip(presence / 8.0 * (rows > 100), 0, 1).astype(np.float32)
    return {"fire.tif": fire, "clearcut.tif": clear, "presence_leopard.tif": presence, "habitat_risk.tif": risk}


def build_delivery(out: Path, *, language: str = "ru") -> Path:
    """Write the synthetic delivery into ``out`` and return the project path."""
    out.mkdir(parents=True, exist_ok=True)
    frames = _frames()
    gpkg = out / "skywatch.gpkg"
    styles = {
        name: vector_style(
            VECTORS[name][0], geometry=f.geom_type.iloc[0], language=language, fields=list(f.columns), name=name
        )
        for name, f in frames.items()
    }
    write_geopackage(gpkg, frames, styles=styles)  # layers and styles in one file, one rename
    transform = Affine(RES, 0, X0, 0, -RES, Y0)
    rasters = []
    for name, (kind, group, en, ru, vmin, vmax) in RASTERS.items():
        data = _rasters()[name]
        categorical = data.dtype == np.uint8
        tif = write_cog(
            out / name,
            data,
            transform=transform,
            epsg=EPSG,
            nodata=0 if categorical else float("nan"),
            categorical=categorical,
            blocksize=128,
        )
        qml = raster_qml(kind, vmin=vmin, vmax=vmax, language=language)
        write_qml_sidecar(tif, qml)
        rasters.append(ProjectLayer(name_en=en, name_second=ru, source=name, provider="gdal", group=group, qml=qml))
    layers = []
    for name, (kind, group, en, ru) in VECTORS.items():
        f = frames[name]
        geometry = f.geom_type.iloc[0]
        qml = vector_qml(kind, geometry=geometry, language=language, fields=list(f.columns))
        layers.append(
            ProjectLayer(
                name_en=en,
                name_second=ru,
                source="skywatch.gpkg",
                provider="ogr",
                layer_name=name,
                geometry=geometry,
                group=group,
                qml=qml,
            )
        )
    order = {g: i for i, g in enumerate(GROUPS)}
    ordered = sorted(layers + rasters, key=lambda lyr: order[lyr.group])  # stable: vectors above rasters in a group
    return write_qgz(out / "skywatch.qgz", ordered, epsg=EPSG, title="Land of the Leopard", second_language=language)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_delivery(tmp_path_factory.mktemp("delivery") / "out")


def _qgs(project: Path) -> ET.Element:
    with zipfile.ZipFile(project) as archive:
        names = archive.namelist()
        assert names == [f"{project.stem}.qgs"]
        return ET.fromstring(archive.read(names[0]))


def test_qgz_is_a_zip_of_one_qgs_in_the_park_crs(delivery: Path) -> None:
    root = _qgs(delivery)
    assert root.tag == "qgis" and root.findtext("title") == "Land of the Leopard"
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:32652"
    assert root.findtext("properties/SpatialRefSys/ProjectionsEnabled") == "1"
    assert root.findtext("properties/Paths/Absolute") == "false"
    groups = [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]
    assert groups == [
        "Alerts / Оповещения",
        "Disturbance / Нарушения",
        "Wildlife / Дикие животные",
        "Context / Контекст",
    ]
    view = root.find("ProjectViewSettings/DefaultViewExtent")
    assert view is not None and float(view.get("xmin", "nan")) == pytest.approx(X0)  # union of the layers


def test_layers_are_relative_named_in_two_languages_and_styled(delivery: Path) -> None:
    root = _qgs(delivery)
    maplayers = root.findall("projectlayers/maplayer")
    assert len(maplayers) == len(VECTORS) + len(RASTERS)
    ids = [m.findtext("id") or "" for m in maplayers]
    assert len(set(ids)) == len(ids) and all(len(i) > 10 for i in ids)
    tree_ids = [n.get("id") for n in root.iter("layer-tree-layer")]
    assert sorted(tree_ids) == sorted(ids) and [e.get("id") for e in root.findall("layerorder/layer")] == tree_ids
    for m in maplayers:
        source = m.findtext("datasource") or ""
        assert source.startswith("./") and not os.path.isabs(source)
        assert " / " in (m.findtext("layername") or "")
        key = source.split("|layername=")[1] if "|layername=" in source else source.removeprefix("./")
        if m.get("type") == "vector":
            renderer = m.find("renderer-v2")
            assert m.findtext("provider") == "ogr"
        else:
            renderer = m.find("pipe/rasterrenderer")
            assert m.findtext("provider") == "gdal"
        assert renderer is not None and renderer.get("type") == EXPECTED_RENDERER[key], key


def test_geopackage_still_lists_and_reads_after_styling(delivery: Path) -> None:
    gpkg = delivery.parent / "skywatch.gpkg"
    listed = {name: geom for name, geom in pyogrio.list_layers(gpkg)}
    assert set(listed) == set(VECTORS) | {"layer_styles"} and listed["layer_styles"] is None
    for name, frame in _frames().items():
        back = pyogrio.read_dataframe(gpkg, layer=name)
        assert len(back) == len(frame) and back.crs.to_epsg() == EPSG
    assert sorted(p.name for p in delivery.parent.glob("*.qml")) == sorted(n.replace(".tif", ".qml") for n in RASTERS)


def test_project_bytes_are_deterministic(tmp_path: Path, delivery: Path) -> None:
    again = build_delivery(tmp_path / "again")
    assert again.read_bytes() == delivery.read_bytes()


def test_bad_project_input_is_a_clear_error(tmp_path: Path) -> None:
    qml = vector_qml("aoi", geometry="Polygon")
    layer = ProjectLayer(
        name_en="Park", name_second="Парк", source="a.gpkg", provider="ogr", layer_name="aoi", group="Context", qml=qml
    )
    with pytest.raises(DataError, match="second_language 'de'"):
        write_qgz(tmp_path / "p.qgz", [layer], epsg=EPSG, title="t", second_language="de")
    with pytest.raises(DataError, match="needs at least one layer"):
        write_qgz(tmp_path / "p.qgz", [], epsg=EPSG, title="t")
    with pytest.raises(DataError, match="listed twice"):
        write_qgz(tmp_path / "p.qgz", [layer, layer], epsg=EPSG, title="t")
    with pytest.raises(DataError, match="must be relative"):
        ProjectLayer(name_en="x", name_second="x", source="/abs/a.tif", provider="gdal", group="Context", qml=qml)
    with pytest.raises(DataError, match="group 'Other'"):
        ProjectLayer(name_en="x", name_second="x", source="a.tif", provider="gdal", group="Other", qml=qml)
    with pytest.raises(DataError, match="needs layer_name"):
        ProjectLayer(name_en="x", name_second="x", source="a.gpkg", provider="ogr", group="Context", qml=qml)
    not_qml = ProjectLayer(name_en="x", name_second="y", source="a.tif", provider="gdal", group="Context", qml="<a/>")
    with pytest.raises(DataError, match="not <qgis>"):
        write_qgz(tmp_path / "p.qgz", [not_qml], epsg=EPSG, title="t")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_empty_vector_layer_is_listed_without_extent(tmp_path: Path) -> None:
    """A run without detections still gets its project: an empty layer has no extent to read (pyogrio says None)."""
    empty = gpd.GeoDataFrame({"type": []}, geometry=gpd.GeoSeries([], crs=f"EPSG:{EPSG}"), crs=f"EPSG:{EPSG}")
    write_geopackage(tmp_path / "d.gpkg", {"alerts": empty})
    layer = ProjectLayer(name_en="Alerts", name_second="Тревоги", source="d.gpkg", provider="ogr",
                         layer_name="alerts", group="Alerts", qml=vector_qml("alerts", geometry="Polygon"))  # fmt: skip
    path = write_qgz(tmp_path / "p.qgz", [layer], epsg=EPSG, title="t")
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("p.qgs"))
    layers = [m for m in root.iter("maplayer") if "layername=alerts" in (m.findtext("datasource") or "")]
    assert len(layers) == 1  # listed, with no extent to claim (QGIS reads it from the empty layer)
    assert all(math.isfinite(float(v.text or "nan")) for e in layers[0].iter("extent") for v in e)


# ----------------------------------------------------------------------------------------------------- real QGIS
def _qgis_env(tmp: Path) -> dict[str, str]:
    """Debian's Python and QGIS, untouched by the venv's GDAL/PROJ settings; profile and runtime dirs in ``tmp``."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "GDAL_DATA", "PROJ_LIB", "PROJ_DATA", "GDAL_DRIVER_PATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    runtime = tmp / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env |= {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime), "QGIS_CUSTOM_CONFIG_PATH": str(tmp)}
    return env


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = _qgis_env(tmp_path_factory.mktemp("qgis-profile"))
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import qgis.core"], env=env, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"QGIS check skipped: {SYSTEM_PYTHON} cannot run ({exc}); install python3-qgis qgis-providers")
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(
            f"QGIS check skipped: {SYSTEM_PYTHON} -c 'import qgis.core' failed ({last}); "
            "install Debian's QGIS with: apt-get install python3-qgis qgis-providers"
        )
    return env


def test_project_opens_valid_and_styled_in_qgis(delivery: Path, qgis_env: dict[str, str], tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    run = subprocess.run(
        [SYSTEM_PYTHON, str(CHECK), str(delivery), str(png), "--each-layer"],
        env=qgis_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"qgis_check printed no JSON (exit {run.returncode}):\n{run.stdout}\n{run.stderr[-3000:]}")
    assert report["errors"] == [], json.dumps(report, ensure_ascii=False, indent=1)
    assert run.returncode == 0
    assert report["crs"] == "EPSG:32652"
    assert [g.split(" / ")[0] for g in report["groups"]] == list(GROUPS)
    layers = report["layers"]
    assert len(layers) == len(EXPECTED_RENDERER)
    by_name = {lyr["name"].split(" / ")[0]: lyr for lyr in layers}
    names = {v[2]: k for k, v in VECTORS.items()} | {v[2]: k for k, v in RASTERS.items()}
    for english, key in names.items():
        layer = by_name[english]
        assert layer["valid"] and layer["renderer"] == EXPECTED_RENDERER[key], layer
        assert layer["default_style"]["applied"] and layer["default_style"]["renderer"] == EXPECTED_RENDERER[key]
        assert layer["nonblank_fraction"] > 0.0, layer
    assert by_name["Detections"]["labels"] and by_name["Detections"]["classes"] == 4
    assert by_name["Detections"]["default_style"]["from"] == "layer_styles"
    assert by_name["Alerts"]["labels"] and by_name["Alerts"]["renderer"] == "categorizedSymbol"
    assert by_name["Burn severity"]["default_style"]["from"] == "fire.qml"
    assert report["render"]["nonblank_fraction"] > 0.05
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_qgis_check_fails_on_unstyled_or_missing_layers(tmp_path: Path, qgis_env: dict[str, str]) -> None:
    project = build_delivery(tmp_path / "broken")
    out = project.parent
    with sqlite3.connect(out / "skywatch.gpkg") as con:  # the GeoPackage loses its default styles
        con.execute("DROP TABLE layer_styles")
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
        con.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = 'layer_styles'")
    con.close()
    (out / "fire.qml").unlink()
    (out / "clearcut.tif").unlink()
    run = subprocess.run(
        [SYSTEM_PYTHON, str(CHECK), str(project), str(tmp_path / "map.png")],
        env=qgis_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = json.loads(run.stdout)
    assert run.returncode == 1
    errors = "\n".join(report["errors"])
    assert "Detections / Обнаружения: no default style in the GeoPackage's layer_styles" in errors
    assert "Detections / Обнаружения (opened alone, style from layer_styles): renderer 'singleSymbol'" in errors
    assert "Burn severity / Степень выгорания: no .qml sidecar beside fire.tif" in errors
    assert "Burn severity / Степень выгорания (opened alone, style from fire.qml): renderer 'singlebandgray'" in errors
    assert "Clear-cuts / Сплошные рубки: layer is not valid" in errors


def test_styled_geopackage_passes_gdal_validator(delivery: Path, qgis_env: dict[str, str]) -> None:
    """GDAL's own GeoPackage validator (Debian's GDAL 3.6, the one QGIS uses) accepts the file with layer_styles."""
    module = "osgeo_utils.samples.validate_gpkg"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", f"import {module}"], env=qgis_env, capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"GDAL's validate_gpkg is not available to {SYSTEM_PYTHON}: {probe.stderr.strip()[-200:]}")
    gpkg = delivery.parent / "skywatch.gpkg"
    run = subprocess.run([SYSTEM_PYTHON, "-m", module, str(gpkg)], env=qgis_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
