"""QML/SLD generation and the GeoPackage ``layer_styles`` table (QGIS itself is exercised in test_qgis_project)."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon

from skywatch.errors import DataError
from skywatch.fuse.incidents import LABELS
from skywatch.outputs.geopackage import write_geopackage
from skywatch.outputs.layer_styles import write_layer_styles
from skywatch.outputs.styles import (
    RASTER_KINDS,
    VECTOR_KINDS,
    label_field,
    raster_qml,
    raster_sld,
    vector_qml,
    vector_sld,
    vector_style,
    write_qml_sidecar,
)

SLD = "{http://www.opengis.net/sld}"
SE = "{http://www.opengis.net/se}"
EXPECTED_RENDERER = {
    "aoi": "singleSymbol",
    "detections": "categorizedSymbol",
    "alerts": "categorizedSymbol",
    "road_centrelines": "singleSymbol",
    "camera_stations": "singleSymbol",
    "individual_ranges": "categorizedSymbol",
    "activity_centres": "singleSymbol",
    "hotspots": "graduatedSymbol",
}
SYMBOL_TYPE = {"Point": "marker", "MultiLineString": "line", "MultiPolygon": "fill"}


@pytest.mark.parametrize("kind", VECTOR_KINDS)
@pytest.mark.parametrize("geometry", sorted(SYMBOL_TYPE))
@pytest.mark.parametrize("language", ["en", "ru", "zh"])
def test_vector_qml_and_sld_parse_with_designed_renderer(kind: str, geometry: str, language: str) -> None:
    fields = ["type", "range", "rank", "label_en", "label_ru", "label_zh", "locationID", "individualID"]
    qml = vector_qml(kind, geometry=geometry, language=language, fields=fields)
    assert qml.startswith("<!DOCTYPE qgis")
    root = ET.fromstring(qml)
    assert root.tag == "qgis" and root.get("version", "").startswith("3.22")
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == EXPECTED_RENDERER[kind]
    symbols = renderer.findall("symbols/symbol")
    assert symbols and {s.get("type") for s in symbols} == {SYMBOL_TYPE[geometry]}
    for layer in renderer.iter("layer"):  # both property forms QGIS 3.22 writes
        assert layer.findall("prop") and layer.find("Option") is not None

    sld = ET.fromstring(vector_sld(kind, geometry=geometry, language=language, fields=fields, name=kind))
    assert sld.tag == f"{SLD}StyledLayerDescriptor" and sld.get("version") == "1.1.0"
    assert sld.findtext(f"{SLD}NamedLayer/{SE}Name") == kind
    rules = sld.findall(f".//{SE}FeatureTypeStyle/{SE}Rule")
    classes = len(renderer.findall("categories/category") + renderer.findall("ranges/range")) or 1
    symbolizer = {"marker": "PointSymbolizer", "line": "LineSymbolizer", "fill": "PolygonSymbolizer"}
    assert len([r for r in rules if r.find(f"{SE}{symbolizer[SYMBOL_TYPE[geometry]]}") is not None]) == classes


def test_incident_categories_cover_every_type_with_designed_colours() -> None:
    root = ET.fromstring(vector_qml("detections", geometry="Polygon", language="ru", fields=["type"]))
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("attr") == "type"
    cats = {c.get("value"): c for c in renderer.findall("categories/category")}
    assert set(cats) == set(LABELS)
    assert cats["burn_scar"].get("label") == "Burn scar / Гарь"
    colours = {}
    for cat in cats.values():
        symbol = renderer.find(f"symbols/symbol[@name='{cat.get('symbol')}']")
        assert symbol is not None
        colour = symbol.find("layer/prop[@k='color']")
        assert colour is not None
        colours[cat.get("value")] = tuple(int(v) for v in colour.get("v", "").split(","))
    assert colours["fire_active"][:3] == (255, 0, 0)  # red
    assert colours["road"][:3] == (255, 0, 255)  # magenta
    assert colours["clearcut"][0] == 255 and 100 < colours["clearcut"][1] < 180  # orange
    assert max(colours["burn_scar"][:3]) < 80  # dark brown / black


def test_label_field_follows_language_then_english_then_kind_default() -> None:
    assert label_field("detections", ["label_en", "label_ru"], "ru") == "label_ru"
    assert label_field("detections", ["label_en"], "zh") == "label_en"
    assert label_field("camera_stations", ["locationID"], "ru") == "locationID"
    assert label_field("road_centrelines", ["length_km"], "en") is None
    with pytest.raises(DataError, match="language 'de'"):
        label_field("aoi", [], "de")


def test_detections_without_label_attributes_get_translated_expression() -> None:
    root = ET.fromstring(vector_qml("detections", geometry="Polygon", language="zh", fields=["type"]))
    assert root.get("labelsEnabled") == "1"
    style = root.find("labeling/settings/text-style")
    assert style is not None and style.get("isExpression") == "1"
    assert style.get("fieldName", "").startswith("CASE WHEN \"type\" = 'fire_active' THEN '活跃火点' WHEN")
    sld = ET.fromstring(vector_sld("detections", geometry="Polygon", language="zh", fields=["type"]))
    items = {i.findtext(f"{SE}Data"): i.findtext(f"{SE}Value") for i in sld.iter(f"{SE}MapItem")}
    assert items["burn_scar"] == "火烧迹地"
    with_field = ET.fromstring(vector_qml("alerts", geometry="Point", language="ru", fields=["type", "label_ru"]))
    label = with_field.find("labeling/settings/text-style")
    assert label is not None and (label.get("fieldName"), label.get("isExpression")) == ("label_ru", "0")


def test_hotspots_graduate_on_risk_or_rank() -> None:
    risk = ET.fromstring(vector_qml("hotspots", geometry="Polygon", fields=["risk"])).find("renderer-v2")
    rank = ET.fromstring(vector_qml("hotspots", geometry="Point", fields=["rank", "risk"])).find("renderer-v2")
    assert risk is not None and rank is not None
    assert (risk.get("attr"), rank.get("attr")) == ("risk", "rank")
    bounds = [(float(r.get("lower", "nan")), float(r.get("upper", "nan"))) for r in risk.findall("ranges/range")]
    assert bounds[0][0] == 0.0 and bounds[-1][1] == 1.0
    assert [r.get("label") for r in rank.findall("ranges/range")][:2] == ["Rank 1–3", "Rank 4–10"]


def test_unknown_kind_or_geometry_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="unknown vector style kind 'fires'"):
        vector_qml("fires", geometry="Polygon")
    with pytest.raises(DataError, match="not a point, line or polygon"):
        vector_qml("aoi", geometry="GeometryCollection")
    with pytest.raises(DataError, match="unknown raster style kind"):
        raster_qml("ndvi", vmin=0, vmax=1)


def test_fire_classes_palette_follows_demo_codes() -> None:
    root = ET.fromstring(raster_qml("fire_classes", language="ru"))
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None and renderer.get("type") == "paletted"
    entries = {int(e.get("value", "-1")): e for e in renderer.findall("colorPalette/paletteEntry")}
    assert sorted(entries) == [0, 1, 2, 3, 4, 5, 6]  # skywatch.jobs.demo._CLASS_DOC["fire"]
    assert entries[0].get("alpha") == "0" and entries[1].get("alpha") == "0"  # nodata, unburned: transparent
    assert all(entries[c].get("alpha") == "255" for c in range(2, 7))
    assert entries[6].get("color") == "#ff0000" and "Действующий пожар" in entries[6].get("label", "")
    change = ET.fromstring(raster_qml("change_classes", change_type="road")).find("pipe/rasterrenderer")
    assert change is not None
    values = {e.get("value"): (e.get("alpha"), e.get("color")) for e in change.findall("colorPalette/paletteEntry")}
    assert values == {"0": ("0", "#000000"), "1": ("0", "#ffffff"), "2": ("255", "#ff00ff")}


@pytest.mark.parametrize("kind", ["presence", "density", "risk"])
def test_ramps_span_the_given_range(kind: str) -> None:
    root = ET.fromstring(raster_qml(kind, vmin=0.5, vmax=12.0))
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None and renderer.get("type") == "singlebandpseudocolor"
    shader = renderer.find("rastershader/colorrampshader")
    assert shader is not None and shader.get("colorRampType") == "INTERPOLATED"
    values = [float(i.get("value", "nan")) for i in shader.findall("item")]
    assert values[0] == 0.5 and values[-1] == 12.0 and values == sorted(values)
    sld = ET.fromstring(raster_sld(kind, vmin=0.5, vmax=12.0))
    data = [float(d.text or "nan") for d in sld.iter(f"{SE}Data")]
    assert data == values


def test_ramp_defaults_and_bad_ranges() -> None:
    risk = ET.fromstring(raster_qml("risk")).find("pipe/rasterrenderer")
    assert risk is not None and (risk.get("classificationMin"), risk.get("classificationMax")) == ("0", "1")
    with pytest.raises(DataError, match="presence ramp needs finite vmin and vmax"):
        raster_qml("presence")
    flat = ET.fromstring(raster_qml("density", vmin=2.0, vmax=2.0)).find("pipe/rasterrenderer")
    assert flat is not None and flat.get("classificationMax") == "3"  # a constant surface still gets a ramp


@pytest.mark.parametrize("kind", RASTER_KINDS)
def test_raster_sld_is_se_1_1(kind: str) -> None:
    sld = ET.fromstring(raster_sld(kind, vmin=0, vmax=5, name=kind))
    symbolizer = sld.find(f".//{SE}CoverageStyle/{SE}Rule/{SE}RasterSymbolizer")
    assert symbolizer is not None
    assert (
        symbolizer.find(f"{SE}ColorMap/{SE}Categorize") is not None
        or symbolizer.find(f"{SE}ColorMap/{SE}Interpolate") is not None
    )


def test_qml_sidecar_sits_beside_the_raster(tmp_path: Path) -> None:
    tif = tmp_path / "fire.tif"
    tif.write_bytes(b"")
    sidecar = write_qml_sidecar(tif, raster_qml("fire_classes"))
    assert sidecar == tmp_path / "fire.qml"
    assert ET.fromstring(sidecar.read_text(encoding="utf-8")).tag == "qgis"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fire.qml", "fire.tif"]


# ------------------------------------------------------------------------------------------------ layer_styles table
def _frames() -> dict[str, gpd.GeoDataFrame]:
    crs = "EPSG:32652"
    square = Polygon([(500_000, 4_800_000), (501_000, 4_800_000), (501_000, 4_801_000), (500_000, 4_801_000)])
    return {
        "aoi": gpd.GeoDataFrame({"name": ["park"]}, geometry=[square], crs=crs),
        "detections": gpd.GeoDataFrame(
            {"type": ["fire_active", "clearcut"], "label_en": ["Active fire", "Clear-cut"]},
            geometry=[square, square.buffer(-100)],
            crs=crs,
        ),
        "road_centrelines": gpd.GeoDataFrame(
            {"length_km": [1.0]}, geometry=[LineString([(500_000, 4_800_000), (501_000, 4_801_000)])], crs=crs
        ),
        "camera_stations": gpd.GeoDataFrame({"locationID": ["S1"]}, geometry=[Point(500_500, 4_800_500)], crs=crs),
    }


def _write_gpkg_with_styles(path: Path) -> None:
    """As the pipeline does: layers and styles into the temporary file, then one rename."""
    frames = _frames()
    styles = {
        name: vector_style(name, geometry=frame.geom_type.iloc[0], fields=list(frame.columns), name=name)
        for name, frame in frames.items()
    }
    write_geopackage(path, frames, styles=styles)  # layers and styles in one file, one rename
    assert not list(path.parent.glob("*-journal")) and not list(path.parent.glob("*-wal"))


def test_layer_styles_table_is_what_qgis_writes_and_gdal_still_reads(tmp_path: Path) -> None:
    gpkg = tmp_path / "skywatch.gpkg"
    _write_gpkg_with_styles(gpkg)
    layers = {name: geom for name, geom in pyogrio.list_layers(gpkg)}
    assert layers == {
        "aoi": "Polygon",
        "detections": "Polygon",
        "road_centrelines": "LineString",
        "camera_stations": "Point",
        "layer_styles": None,  # a non-spatial table, as in every GeoPackage QGIS has styled
    }
    det = pyogrio.read_dataframe(gpkg, layer="detections")
    assert list(det["type"]) == ["fire_active", "clearcut"] and det.crs.to_epsg() == 32652
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")
    assert sorted(styles["f_table_name"]) == sorted(_frames())
    with sqlite3.connect(gpkg) as con:
        assert con.execute("PRAGMA user_version").fetchone() == (10200,)  # still GeoPackage 1.2
        rows = con.execute(
            "SELECT f_table_catalog, f_table_schema, f_geometry_column, styleName, useAsDefault, "
            "length(styleQML), length(styleSLD), update_time FROM layer_styles ORDER BY f_table_name"
        ).fetchall()
        assert all(r[:3] == ("", "", "geom") and r[4] == 1 and r[5] > 100 and r[6] > 100 and r[7] for r in rows)
        assert con.execute(
            "SELECT data_type, srs_id FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchone() == (
            "attributes",
            0,
        )
        assert con.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'layer_styles'"
        ).fetchone() == (4,)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_rewriting_styles_replaces_the_default(tmp_path: Path) -> None:
    gpkg = tmp_path / "skywatch.gpkg"
    _write_gpkg_with_styles(gpkg)
    qml, sld = vector_style("detections", geometry="Polygon", language="zh", fields=["type"])
    write_layer_styles(gpkg, {"detections": (qml, sld)})
    with sqlite3.connect(gpkg) as con:
        rows = con.execute(
            "SELECT styleQML, useAsDefault FROM layer_styles WHERE f_table_name = 'detections'"
        ).fetchall()
        count = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'layer_styles'").fetchone()
    assert rows == [(qml, 1)] and count == (4,)


def test_layer_styles_bad_input(tmp_path: Path) -> None:
    gpkg = tmp_path / "skywatch.gpkg"
    _write_gpkg_with_styles(gpkg)
    qml_sld = vector_style("aoi", geometry="Polygon")
    with pytest.raises(DataError, match=r"stores its geometry in 'geom', not 'geometry'"):
        write_layer_styles(gpkg, {"aoi": qml_sld}, geometry_column="geometry")
    with pytest.raises(DataError, match=r"no layer 'hotspots' to style; its layers are \['aoi'"):
        write_layer_styles(gpkg, {"hotspots": qml_sld})
    other = tmp_path / "not.gpkg"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    con.close()
    with pytest.raises(DataError, match="is not a GeoPackage"):
        write_layer_styles(other, {"aoi": qml_sld})
