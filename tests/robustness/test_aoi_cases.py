"""Bad AOIs: each is refused with an AOIError (exit 1, one line) or, for the heavy ones, works within seconds."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon

from skywatch.aoi import load_aoi
from skywatch.errors import AOIError
from tests.robustness.conftest import Probe

BOX = [[131.0, 43.0], [131.2, 43.0], [131.2, 43.2], [131.0, 43.2], [131.0, 43.0]]


def _feature(geometry: object, **extra: object) -> str:
    return json.dumps({"type": "FeatureCollection", **extra,
                       "features": [{"type": "Feature", "properties": {}, "geometry": geometry}]})  # fmt: skip


def _poly(ring: list[list[float]]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [ring]}


def _gpkg(geom: Polygon, crs: str | None) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / "aoi.gpkg"
        gpd.GeoDataFrame(geometry=[geom], crs=crs).to_file(path)
        return path

    return make


def _shp_without_prj(tmp: Path) -> Path:
    path = tmp / "aoi.shp"
    gpd.GeoDataFrame(geometry=[Polygon(BOX)], crs="EPSG:4326").to_file(path)
    path.with_suffix(".prj").unlink()
    return path


def _text(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return make


def _folder(tmp: Path) -> Path:
    (tmp / "aoi.geojson").mkdir()
    return tmp / "aoi.geojson"


# name -> (make the file, words the message must hold). test_aoi.py already covers: a bow-tie, an empty collection,
# swapped lon/lat, +100 degrees out of range, degrees in a projected gpkg, a Point, "{not json", an unknown name.
AOI_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "overlapping multipolygon parts": (_text("a.geojson", _feature({"type": "MultiPolygon", "coordinates": [
        [BOX], [[[131.1, 43.1], [131.3, 43.1], [131.3, 43.3], [131.1, 43.3], [131.1, 43.1]]]]})), "invalid polygon"),
    "self-intersecting ring touching itself": (_text("a.geojson", _feature(_poly(
        [[131.0, 43.0], [131.2, 43.0], [131.0, 43.2], [131.2, 43.2], [131.0, 43.0]]))), "Self-intersection"),
    "null geometry only": (_text("a.geojson", _feature(None)), "no geometry"),
    "empty polygon": (_text("a.geojson", _feature({"type": "Polygon", "coordinates": []})), "no geometry"),
    "geometry collection": (_text("a.geojson", _feature({"type": "GeometryCollection", "geometries": [
        _poly(BOX), {"type": "Point", "coordinates": [131, 43]}]})), "GeometryCollection"),
    "linestring": (_text("a.geojson", _feature({"type": "LineString", "coordinates": BOX})), "LineString"),
    "two-point ring": (_text("a.geojson", _feature(_poly([[131.0, 43.0], [131.2, 43.0]]))), "malformed geometry"),
    "collinear ring (no area)": (_text("a.geojson", _feature(_poly(
        [[131.0, 43.0], [131.1, 43.1], [131.2, 43.2], [131.0, 43.0]]))), "invalid polygon|no area"),
    "string coordinates": (_text("a.geojson", _feature(_poly([["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]))),
                           "malformed geometry"),
    "NaN coordinates": (_text("a.geojson", _feature(_poly(
        [[131.0, 43.0], [math.nan, 43.0], [131.2, 43.2], [131.0, 43.0]])).replace("NaN", "NaN")),
        "invalid coordinate \\(NaN or infinity\\)"),
    "latitude 95": (_text("a.geojson", _feature(_poly([[x, y + 52] for x, y in BOX]))), "out of range"),
    "swapped lon/lat in a gpkg": (_gpkg(Polygon([(y, x) for x, y in BOX]), "EPSG:4326"), "swapped"),
    "projected CRS declared for degrees (GeoJSON crs member)": (
        _text("a.geojson", _feature(_poly(BOX), crs={"type": "name", "properties": {"name": "EPSG:32652"}})),
        "look like degrees"),
    "unknown crs member": (
        _text("a.geojson", _feature(_poly(BOX), crs={"type": "name", "properties": {"name": "EPSG:999999"}})),
        "unknown crs"),
    "metres outside the declared CRS": (_gpkg(Polygon([(x * 1e6, y * 1e6) for x, y in BOX]), "EPSG:32652"),
                                        "do not fit|out of range"),
    "shapefile without .prj": (_shp_without_prj, "declares no CRS"),
    "top-level JSON array": (_text("a.geojson", "[]"), "not GeoJSON"),
    "latin-1 bytes": (_text("a.geojson", _feature(_poly(BOX)).replace("{}", '{"name": "X"}').encode()
                            .replace(b'"X"', b'"caf\xe9"')), "not valid JSON"),
    "truncated GeoJSON": (_text("a.geojson", _feature(_poly(BOX))[:40]), "not valid JSON"),
    "garbage KML": (_text("a.kml", "<kml><Placemark>no"), "cannot read AOI file"),
    "zero-byte gpkg": (_text("a.gpkg", b""), "cannot read AOI file"),
    "CSV is not a vector file": (_text("a.csv", "lon,lat\n131,43\n"), "not a vector file"),
    "folder named .geojson": (_folder, "not a vector file"),
    # found by `make fuzz` (benchmarks/fuzz_readers.py): each was a bare TypeError/AttributeError/KeyError
    "features is a number": (_text("a.geojson", '{"type": "FeatureCollection", "features": 1}'), "must be a list"),
    "features is an object": (_text("a.geojson", '{"type": "FeatureCollection", "features": {"info": null}}'),
                              "must be a list"),
    "a feature that is a number": (_text("a.geojson", '{"type": "FeatureCollection", "features": [0]}'),
                                   "not a GeoJSON Feature"),
}  # fmt: skip


def test_non_object_properties_are_ignored(tmp_path: Path) -> None:
    """Found by `make fuzz`: "properties" as a string or number was a TypeError/ValueError; they name nothing."""
    for props in ('"x"', "5"):
        doc = json.loads(_feature(_poly(BOX)))
        (tmp_path / "a.geojson").write_text(json.dumps({**doc, "properties": json.loads(props)}), encoding="utf-8")
        assert load_aoi(tmp_path / "a.geojson").geometry.area > 0


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a library warning on the way is noise before the error line
@pytest.mark.parametrize("case", list(AOI_CASES))
def test_bad_aoi_raises_aoierror(tmp_path: Path, case: str) -> None:
    make, words = AOI_CASES[case]
    with pytest.raises(AOIError, match=words):
        load_aoi(make(tmp_path))


@pytest.mark.parametrize("case", ["self-intersecting ring touching itself", "latin-1 bytes", "garbage KML"])
def test_bad_aoi_cli_one_line(probe: Probe, tmp_path: Path, case: str) -> None:
    make, words = AOI_CASES[case]
    out = probe.run(["aoi", "show", make(tmp_path), "--json"], subprocess_run=True, timeout=30)
    assert words.split("|")[0] in probe.expect_failure(out)


def test_bad_grid_tile_px_is_exit_1(probe: Probe, tmp_path: Path) -> None:
    path = _text("a.geojson", _feature(_poly(BOX)))(tmp_path)
    out = probe.run(["aoi", "show", path, "--tile-px", "4"])
    assert "tile_px must be at least 16" in probe.expect_failure(out)


def test_million_vertex_polygon_works_within_seconds(probe: Probe, tmp_path: Path) -> None:
    n = 1_000_000
    ring = [[131.1 + 0.1 * math.cos(2 * math.pi * i / n), 43.1 + 0.1 * math.sin(2 * math.pi * i / n)] for i in range(n)]
    path = _text("big.geojson", _feature(_poly([*ring, ring[0]])))(tmp_path)
    out = probe.run(["aoi", "show", path, "--json"], subprocess_run=True, timeout=30)
    assert not out.timed_out and out.code == 0, out.stderr[-500:]
    info = json.loads(out.stdout)
    assert info["utm_epsg"] == 32652 and info["area_km2"] == pytest.approx(math.pi * 8.1 * 11.1, rel=0.05)


ANTIMERIDIAN = {
    "one ring across 180": _feature(
        _poly([[179.0, 60.0], [-179.0, 60.0], [-179.0, 61.0], [179.0, 61.0], [179.0, 60.0]])
    ),
    "RFC 7946 split multipolygon": _feature({"type": "MultiPolygon", "coordinates": [
        [[[179.0, 60.0], [180.0, 60.0], [180.0, 61.0], [179.0, 61.0], [179.0, 60.0]]],
        [[[-180.0, 60.0], [-179.0, 60.0], [-179.0, 61.0], [-180.0, 61.0], [-180.0, 60.0]]]]}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ANTIMERIDIAN))
def test_antimeridian_aoi_is_refused_or_placed_at_180(tmp_path: Path, case: str) -> None:
    path = _text("am.geojson", ANTIMERIDIAN[case])(tmp_path)
    try:
        aoi = load_aoi(path)
        epsg = aoi.utm_epsg  # the grid is where a wrong placement would do harm
    except AOIError as exc:
        assert "antimeridian" in str(exc) or "180" in str(exc)
        return
    assert epsg in (32601, 32660), f"placed in EPSG:{epsg}, MGRS {aoi.mgrs_tiles[:3]}"
