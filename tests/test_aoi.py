"""AOI parsing, built-in outlines and the errors users see."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from skywatch.aoi import list_builtin, load_aoi, mgrs_tiles
from skywatch.errors import AOIError

PARK_BOX = [[130.9, 43.0], [131.2, 43.0], [131.2, 43.3], [130.9, 43.3], [130.9, 43.0]]


def _geojson(path: Path, coords: list[list[float]] | None, **extra: object) -> Path:
    geom = {"type": "Polygon", "coordinates": [coords]} if coords is not None else None
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": geom}],
        **extra,
    }
    path.write_text(json.dumps(doc))
    return path


def test_builtin_parks_match_published_areas() -> None:
    parks = {a.name: a for a in list_builtin()}
    assert set(parks) == {"land-of-the-leopard", "ne-china-tiger-leopard", "transboundary-park"}
    assert parks["land-of-the-leopard"].area_km2 == pytest.approx(2620, rel=0.03)
    assert parks["ne-china-tiger-leopard"].area_km2 == pytest.approx(14600, rel=0.03)
    union = parks["transboundary-park"]
    assert union.geometry.geom_type == "Polygon"  # contiguous across the border
    for a in parks.values():
        for key in ("name_en", "name_ru", "name_zh", "area_km2", "source"):
            assert a.properties[key]
        assert "approximate" in a.properties["source"].lower()
        assert a.utm_epsg == 32652


def test_park_mgrs_tiles_are_zone_52() -> None:
    tiles = load_aoi("transboundary-park").mgrs_tiles
    assert "52TFN" in tiles and "52TFP" in tiles
    assert all(t.startswith("52T") for t in tiles)


def test_mgrs_tiles_agree_with_real_earth_search_items() -> None:
    """Items recorded from Earth Search (vendored cassette excerpt) name their MGRS tile; ours must agree."""
    doc = json.loads((Path(__file__).parent / "data" / "earth_search_items.json").read_text())
    assert len(doc) >= 10
    for item in doc:
        from shapely.geometry import shape

        assert item["grid_code"] in mgrs_tiles(shape(item["geometry"]), item["epsg"]), item["id"]


@pytest.mark.parametrize("suffix,driver", [(".gpkg", "GPKG"), (".shp", "ESRI Shapefile"), (".geojson", "GeoJSON")])
def test_any_format_any_crs(tmp_path: Path, suffix: str, driver: str) -> None:
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Polygon(PARK_BOX)], crs="EPSG:4326").to_crs("EPSG:3857")
    path = tmp_path / f"aoi{suffix}"
    frame.to_file(path, driver=driver)
    a = load_aoi(path)
    ref = load_aoi(_geojson(tmp_path / "ref.geojson", PARK_BOX))
    assert a.area_km2 == pytest.approx(ref.area_km2, rel=1e-4)
    assert a.bbox == pytest.approx(ref.bbox, abs=1e-6)


def test_self_intersecting_polygon_is_named(tmp_path: Path) -> None:
    bowtie = [[131.0, 43.0], [131.2, 43.2], [131.2, 43.0], [131.0, 43.2], [131.0, 43.0]]
    with pytest.raises(AOIError, match="Self-intersection"):
        load_aoi(_geojson(tmp_path / "bow.geojson", bowtie))


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(AOIError, match="no geometry"):
        load_aoi(p)


def test_swapped_lon_lat(tmp_path: Path) -> None:
    swapped = [[y, x] for x, y in PARK_BOX]
    with pytest.raises(AOIError, match="swapped"):
        load_aoi(_geojson(tmp_path / "swap.geojson", swapped))


def test_out_of_range(tmp_path: Path) -> None:
    far = [[x + 100, y] for x, y in PARK_BOX]
    with pytest.raises(AOIError, match="out of range"):
        load_aoi(_geojson(tmp_path / "far.geojson", far))


def test_degrees_in_a_projected_crs(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(geometry=[Polygon(PARK_BOX)], crs="EPSG:32652")  # wrong CRS declared
    path = tmp_path / "wrong.gpkg"
    frame.to_file(path)
    with pytest.raises(AOIError, match="look like degrees"):
        load_aoi(path)


def test_points_are_not_an_aoi(tmp_path: Path) -> None:
    p = tmp_path / "pt.geojson"
    p.write_text(json.dumps({"type": "Point", "coordinates": [131, 43]}))
    with pytest.raises(AOIError, match="Point"):
        load_aoi(p)


def test_not_json_and_unknown_name(tmp_path: Path) -> None:
    p = tmp_path / "bad.geojson"
    p.write_text("{not json")
    with pytest.raises(AOIError, match="not valid JSON"):
        load_aoi(p)
    with pytest.raises(AOIError, match="built-ins: land-of-the-leopard"):
        load_aoi("atlantis")


def test_multiple_features_are_dissolved(tmp_path: Path) -> None:
    a, b = box(131.0, 43.0, 131.1, 43.1), box(131.1, 43.0, 131.2, 43.1)
    frame = gpd.GeoDataFrame(geometry=[a, b], crs="EPSG:4326")
    path = tmp_path / "two.gpkg"
    frame.to_file(path)
    assert load_aoi(path).geometry.geom_type == "Polygon"
