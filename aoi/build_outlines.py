"""Rebuild the approximate park outlines in this folder.

    .venv/bin/python aoi/build_outlines.py

The outlines are APPROXIMATE (no authoritative boundary polygon is available offline; see
../shared/REFERENCE.md "The place"). They follow an approximate Russia-China border line traced by hand from
well-known places (Khasan, Hunchun, Dongning/Poltavka, Suifenhe/Pogranichny) and are widened away from the border
until their geodesic areas match the published figures: Land of the Leopard NP 2,620 km2 (2012 decree) and the
Northeast China Tiger and Leopard NP ~14,600 km2 (2017 plan, 1.46 Mha). Replace them with the official WDPA
polygons (protectedplanet.net) for any legal or area-accounting use.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyproj import Geod
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

HERE = Path(__file__).resolve().parent
GEOD = Geod(ellps="WGS84")

# Approximate Russia-China border, south to north (lon, lat).
BORDER = [
    (130.60, 42.42),
    (130.62, 42.60),
    (130.66, 42.80),
    (130.80, 42.98),
    (131.00, 43.15),
    (131.12, 43.40),
    (131.20, 43.70),
    (131.25, 44.00),
    (131.20, 44.30),
    (131.10, 44.60),
    (131.00, 44.90),
]
RU_NORTH = 43.70  # Land of the Leopard NP ends about here (REFERENCE.md: 42.6-43.7 N)
CN_SOUTH_TUMEN = (130.45, 42.30)  # the Chinese park reaches the Tumen river, ~42.3 N

TARGET_KM2 = {"land-of-the-leopard": 2620.0, "ne-china-tiger-leopard": 14600.0}


def _area_km2(poly: Polygon) -> float:
    area, _ = GEOD.geometry_area_perimeter(poly)
    return abs(area) / 1e6


def _russian(k: float) -> Polygon:
    west = [p for p in BORDER if p[1] <= RU_NORTH]
    # Narrow in the south, where the strip between border and sea (Posyet) is thin.
    east = [(lon + k * min(1.0, 0.45 + (lat - 42.42) / 1.2), lat) for lon, lat in reversed(west)]
    return Polygon(west + east)


def _chinese(k: float) -> Polygon:
    east = [CN_SOUTH_TUMEN, *BORDER]
    west = [(lon - k * (0.6 if lat < 42.5 else 1.0), lat) for lon, lat in reversed(east)]
    return Polygon(list(reversed(east)) + list(reversed(west)))


def _solve(make, target: float) -> Polygon:  # type: ignore[no-untyped-def]
    lo, hi = 0.01, 2.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _area_km2(make(mid)) < target:
            lo = mid
        else:
            hi = mid
    return make(round((lo + hi) / 2, 5))


def _feature(name: str, geom: Polygon, names: dict[str, str], km2: float) -> dict[str, object]:
    oriented = orient(geom, sign=1.0)  # RFC 7946: exterior rings counter-clockwise
    rounded = {
        "type": "Polygon",
        "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring] for ring in mapping(oriented)["coordinates"]],
    }
    return {
        "type": "Feature",
        "properties": {
            "name": name,
            **names,
            "area_km2": round(km2, 1),
            "source": (
                "APPROXIMATE outline drawn by skywatch (aoi/build_outlines.py) along an approximate border line "
                "and sized to the published area; replace with the official WDPA polygon before any legal or "
                "area-accounting use."
            ),
        },
        "geometry": rounded,
    }


def main() -> None:
    ru = _solve(_russian, TARGET_KM2["land-of-the-leopard"])
    cn = _solve(_chinese, TARGET_KM2["ne-china-tiger-leopard"])
    union = unary_union([ru, cn])
    assert union.geom_type == "Polygon", union.geom_type  # contiguous across the border
    parks = {
        "land-of-the-leopard": (
            ru,
            {
                "name_en": "Land of the Leopard National Park",
                "name_ru": "Национальный парк «Земля леопарда»",
                "name_zh": "豹之乡国家公园",
            },
        ),
        "ne-china-tiger-leopard": (
            cn,
            {
                "name_en": "Northeast China Tiger and Leopard National Park",
                "name_ru": "Национальный парк амурского тигра и дальневосточного леопарда (КНР)",
                "name_zh": "东北虎豹国家公园",
            },
        ),
        "transboundary-park": (
            union,
            {
                "name_en": "Transboundary Amur tiger and leopard park (both national parks)",
                "name_ru": "Трансграничный парк амурского тигра и леопарда",
                "name_zh": "中俄跨境虎豹公园",
            },
        ),
    }
    for name, (geom, names) in parks.items():
        fc = {"type": "FeatureCollection", "features": [_feature(name, geom, names, _area_km2(geom))]}
        (HERE / f"{name}.geojson").write_text(json.dumps(fc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: {_area_km2(geom):.1f} km2")


if __name__ == "__main__":
    main()
