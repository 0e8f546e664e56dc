"""Areas of interest: the built-in park outlines and user files in any vector format and CRS.

An :class:`AOI` holds one valid (Multi)Polygon in WGS84 lon/lat. Everything downstream asks it for its UTM zone,
its geodesic area and the Sentinel-2 MGRS tiles it touches.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from skywatch.errors import AOIError
from skywatch.geometry import reproject
from skywatch.types import BBox

__all__ = ["AOI", "builtin_aoi_dir", "list_builtin", "load_aoi", "mgrs_tiles", "utm_epsg"]

_GEOD = Geod(ellps="WGS84")
_WGS84 = CRS.from_epsg(4326)
# Sentinel-2 tiles are 109.8 km squares whose upper-left corner is the MGRS 100 km square's (REFERENCE.md).
_S2_TILE_M = 109_800.0
_MGRS_COLUMNS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_MGRS_ROWS = "ABCDEFGHJKLMNPQRSTUV"
_LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".kml", ".gml"}


@dataclass(frozen=True, kw_only=True)
class AOI:
    """An area of interest.

    Attributes:
        name: Short name (built-in name or the file's stem).
        geometry: A valid Polygon or MultiPolygon in WGS84 longitude/latitude.
        properties: Attributes of the outline (for built-ins: names in en/ru/zh, area, source).
        source: Where the outline was read from.
    """

    name: str
    geometry: Polygon | MultiPolygon
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def bbox(self) -> BBox:
        """Longitude/latitude bounds (west, south, east, north)."""
        west, south, east, north = self.geometry.bounds
        return (west, south, east, north)

    @property
    def area_km2(self) -> float:
        """Geodesic area on the WGS84 ellipsoid, in km2."""
        area, _ = _GEOD.geometry_area_perimeter(self.geometry)
        return abs(area) / 1e6

    @property
    def utm_epsg(self) -> int:
        """EPSG code of the UTM zone of the AOI's centroid (32652 for the park).

        Raises:
            AOIError: the AOI spans more than 180 degrees of longitude: it crosses the antimeridian (a ring drawn
                across +-180, or parts split there as RFC 7946 asks) or is wider than any grid skywatch works on.
        """
        minx, _, maxx, _ = self.geometry.bounds
        if maxx - minx > 180:
            raise AOIError(
                f"AOI {self.name!r} spans {maxx - minx:.1f} degrees of longitude, so it crosses the antimeridian or "
                "is wider than any UTM grid; split it at 180 degrees and run each side as its own AOI"
            )
        c = self.geometry.centroid
        return utm_epsg(c.x, c.y)

    @property
    def mgrs_tiles(self) -> list[str]:
        """Sentinel-2 MGRS tiles (e.g. ``52TGN``) of the AOI's UTM zone whose footprint meets the AOI."""
        return mgrs_tiles(self.geometry, self.utm_epsg)

    def to_crs(self, epsg: int) -> BaseGeometry:
        """The geometry reprojected to ``EPSG:epsg``."""
        return reproject(self.geometry, _WGS84, CRS.from_epsg(epsg))

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection with this AOI as its one feature."""
        props = {"name": self.name, **{k: v for k, v in self.properties.items() if k != "name"}}
        return {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": props, "geometry": mapping(self.geometry)}],
        }


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding ``(lon, lat)`` (no Norway/Svalbard exceptions)."""
    zone = min(60, math.floor((lon + 180.0) / 6.0) + 1)
    return (32600 if lat >= 0 else 32700) + zone


def _latitude_band(lat: float) -> str:
    return _LAT_BANDS[min(len(_LAT_BANDS) - 1, max(0, math.floor((lat + 80.0) / 8.0)))]


def mgrs_tiles(geometry: BaseGeometry, epsg: int) -> list[str]:
    """Sentinel-2 tile names of UTM zone ``epsg`` whose 109.8 km footprint intersects ``geometry`` (WGS84).

    The 100 km square letters follow the MGRS lettering (column sets A-H, J-R, S-Z by zone; rows A-V, even
    zones offset by 5); the tile footprint extends 109.8 km east and south of the square's upper-left corner.
    """
    zone = epsg % 100
    utm = reproject(geometry, _WGS84, CRS.from_epsg(epsg))
    minx, miny, maxx, maxy = utm.bounds
    back = Transformer.from_crs(CRS.from_epsg(epsg), _WGS84, always_xy=True)
    names: set[str] = set()
    for col in range(int(minx // 100_000) - 1, int(maxx // 100_000) + 1):
        if not 1 <= col <= 8:
            continue
        for row in range(int(miny // 100_000) - 1, int(maxy // 100_000) + 2):
            left, top = col * 100_000.0, row * 100_000.0
            footprint = box(left, top - _S2_TILE_M, left + _S2_TILE_M, top)
            if not footprint.intersects(utm):
                continue
            # Latitude band from the square's centre (approximation good away from band edges).
            _, lat = back.transform(left + 50_000.0, top - 50_000.0)
            col_letter = _MGRS_COLUMNS[(zone - 1) % 3][col - 1]
            row_letter = _MGRS_ROWS[(row - 1 + (5 if zone % 2 == 0 else 0)) % 20]
            names.add(f"{zone:02d}{_latitude_band(lat)}{col_letter}{row_letter}")
    return sorted(names)


def builtin_aoi_dir() -> Path:
    """The folder of built-in outlines: the repository's ``aoi/`` or the copy inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "aoi", here.parent / "aoi"):
        if candidate.is_dir():
            return candidate
    raise AOIError(f"built-in AOI folder not found next to {here}; reinstall skywatch")


def list_builtin() -> list[AOI]:
    """All built-in AOIs, sorted by name."""
    return [load_aoi(p) for p in sorted(builtin_aoi_dir().glob("*.geojson"))]


def load_aoi(name_or_path: str | Path) -> AOI:
    """Read an AOI by built-in name (``land-of-the-leopard``) or from a vector file in any CRS.

    GeoJSON without a ``crs`` member is WGS84 (RFC 7946); other formats must declare their CRS. Several
    features are dissolved into one (Multi)Polygon.

    Raises:
        AOIError: unknown name, unreadable or empty file, no CRS, non-polygon or invalid geometry,
            coordinates out of range or with longitude and latitude swapped.
    """
    path = Path(name_or_path)
    if not path.exists():
        builtin = builtin_aoi_dir() / f"{name_or_path}.geojson"
        if builtin.exists():
            path = builtin
        else:
            names = ", ".join(p.stem for p in sorted(builtin_aoi_dir().glob("*.geojson")))
            raise AOIError(f"AOI {str(name_or_path)!r} is neither a file nor a built-in name (built-ins: {names})")
    if path.is_dir() or path.suffix.lower() not in _SUFFIXES:
        raise AOIError(
            f"AOI file {str(path)!r} is not a vector file skywatch reads (use one of {', '.join(sorted(_SUFFIXES))})"
        )
    geoms, crs, props = _read_features(path)
    geometry = _to_wgs84(geoms, crs, path)
    _check_polygon(geometry, path)
    return AOI(name=str(props.get("name") or path.stem), geometry=geometry, properties=props, source=str(path))


def _read_features(path: Path) -> tuple[list[BaseGeometry], CRS | None, dict[str, Any]]:
    if path.suffix.lower() in {".geojson", ".json"}:
        return _read_geojson(path)
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ... with GDAL's message
        raise AOIError(f"cannot read AOI file {str(path)!r}: {exc}") from exc
    if frame.crs is None:
        raise AOIError(f"AOI file {str(path)!r} declares no CRS; write it with a CRS (e.g. EPSG:4326)")
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    props: dict[str, Any] = {}
    if len(frame) == 1:
        props = {k: _plain(v) for k, v in frame.drop(columns="geometry").iloc[0].items()}
    return geoms, CRS.from_user_input(frame.crs), props


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _read_geojson(path: Path) -> tuple[list[BaseGeometry], CRS | None, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AOIError(f"AOI file {str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or "type" not in doc:
        raise AOIError(f"AOI file {str(path)!r} is not GeoJSON (no 'type' member)")
    crs: CRS | None = None
    crs_member = doc.get("crs")
    if isinstance(crs_member, dict):  # legacy GeoJSON 2008 named CRS
        name = crs_member.get("properties", {}).get("name")
        try:
            crs = CRS.from_user_input(name)
        except Exception as exc:
            raise AOIError(f"AOI file {str(path)!r} declares an unknown crs {name!r}") from exc
    kind = doc["type"]
    if kind == "FeatureCollection":
        features = doc.get("features") or []
        if not isinstance(features, list):
            got = type(features).__name__
            raise AOIError(f"AOI file {str(path)!r}: 'features' must be a list of Features, got a {got}")
    elif kind == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    geoms: list[BaseGeometry] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise AOIError(f"AOI file {str(path)!r}: feature {i} is a {type(feature).__name__}, not a GeoJSON Feature")
        geom = feature.get("geometry")
        if geom is None:
            continue
        if not _finite(geom):  # checked here: GEOS would only warn (a RuntimeWarning the user would see)
            raise AOIError(f"AOI file {str(path)!r}: feature {i} has an invalid coordinate (NaN or infinity); fix or "
                           "redraw it in a GIS and try again")  # fmt: skip
        try:
            geoms.append(shape(geom))
        except Exception as exc:
            raise AOIError(f"AOI file {str(path)!r}: feature {i} has a malformed geometry ({exc})") from exc
    props = features[0].get("properties") if len(features) == 1 else None
    return geoms, crs, dict(props) if isinstance(props, dict) else {}


def _finite(node: Any) -> bool:
    """False if any number in a GeoJSON geometry (its coordinates, nested geometries) is NaN or infinite."""
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, dict):
        return all(_finite(node[k]) for k in ("coordinates", "geometries") if k in node)
    if isinstance(node, list | tuple):
        return all(_finite(v) for v in node)
    return True


def _to_wgs84(geoms: list[BaseGeometry], crs: CRS | None, path: Path) -> BaseGeometry:
    geoms = [g for g in geoms if not g.is_empty]
    if not geoms:
        raise AOIError(f"AOI file {str(path)!r} holds no geometry; draw at least one polygon")
    for g in geoms:
        if g.geom_type not in {"Polygon", "MultiPolygon"}:
            raise AOIError(f"AOI file {str(path)!r} holds a {g.geom_type}; an AOI must be a Polygon or MultiPolygon")
    for g in geoms:
        if not g.is_valid:
            raise AOIError(
                f"AOI file {str(path)!r} has an invalid polygon: {explain_validity(g)}; "
                "fix it in a GIS (e.g. QGIS 'Fix geometries') and try again"
            )
    geometry = shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]
    if crs is None or CRS.from_user_input(crs).equals(_WGS84, ignore_axis_order=True):
        _check_lonlat(geometry, path)
        return geometry
    if crs.is_projected:
        minx, miny, maxx, maxy = geometry.bounds
        if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
            raise AOIError(
                f"AOI file {str(path)!r} declares the projected CRS {crs.to_string()} but its coordinates look "
                "like degrees; declare EPSG:4326 (or reproject the file)"
            )
    out = reproject(geometry, crs, _WGS84)
    if not math.isfinite(sum(out.bounds)):
        raise AOIError(f"AOI file {str(path)!r}: coordinates do not fit its CRS {crs.to_string()}")
    _check_lonlat(out, path)
    return out


def _check_lonlat(geometry: BaseGeometry, path: Path) -> None:
    minx, miny, maxx, maxy = geometry.bounds
    looks_swapped = min(miny, maxy) >= -180 and max(miny, maxy) <= 180 and (miny < -90 or maxy > 90)
    if looks_swapped and minx >= -90 and maxx <= 90:
        raise AOIError(
            f"AOI file {str(path)!r}: latitudes reach {max(abs(miny), abs(maxy)):.4f} - longitude and latitude "
            "look swapped; GeoJSON order is [longitude, latitude]"
        )
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise AOIError(
            f"AOI file {str(path)!r}: coordinates out of range (bounds {minx:.4f}, {miny:.4f}, {maxx:.4f}, "
            f"{maxy:.4f}); longitude must lie in [-180, 180] and latitude in [-90, 90] - is the CRS right?"
        )


def _check_polygon(geometry: BaseGeometry, path: Path) -> None:
    if geometry.geom_type not in {"Polygon", "MultiPolygon"} or geometry.area <= 0:
        raise AOIError(f"AOI file {str(path)!r} has no area after reading; an AOI must be a polygon with area")
    if not geometry.is_valid:
        raise AOIError(
            f"AOI file {str(path)!r} became invalid after reprojection ({explain_validity(geometry)}); "
            "provide it in EPSG:4326"
        )
