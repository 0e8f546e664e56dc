"""The planners' delivery: one GeoPackage with styled layers, COGs with ``.qml`` sidecars, and a QGIS project
(``skywatch.qgz``) that opens every layer grouped and styled in the park's UTM CRS, with names in English and a
second language (Russian or Chinese)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import shape

from skywatch.aoi import AOI
from skywatch.errors import DataError
from skywatch.fuse.incidents import LABELS, Incident
from skywatch.outputs.alert_csv import flat_properties
from skywatch.outputs.geopackage import write_geopackage
from skywatch.outputs.qgis_project import GROUPS, ProjectLayer, write_qgz
from skywatch.outputs.styles import raster_qml, vector_qml, vector_style, write_qml_sidecar

__all__ = [
    "LAYER_NAMES",
    "RasterLayer",
    "VectorLayer",
    "alerts_frame",
    "aoi_frame",
    "detections_frame",
    "write_delivery",
]

# layer kind -> (English, Russian, Chinese)
LAYER_NAMES: dict[str, tuple[str, str, str]] = {
    "alerts": ("Alerts", "Оповещения", "警报"),
    "detections": ("Detections", "Обнаружения", "检测结果"),
    "hotspots": ("Risk hotspots", "Очаги риска", "风险热点"),
    "road_centrelines": ("New road centrelines", "Оси новых дорог", "新道路中心线"),
    "camera_stations": ("Camera stations", "Фотоловушки", "红外相机位点"),
    "activity_centres": ("Activity centres", "Центры активности", "活动中心"),
    "individual_ranges": ("Detection ranges", "Участки регистрации", "个体检测范围"),
    "aoi": ("Park boundary", "Граница парка", "公园边界"),
}
_EMPTY_GEOMETRY = {"road_centrelines": "LineString", "camera_stations": "Point", "activity_centres": "Point"}


@dataclass(frozen=True, kw_only=True)
class VectorLayer:
    """A GeoPackage layer: its name in the file, style kind (:data:`skywatch.outputs.styles.VECTOR_KINDS`),
    project group and data."""

    name: str
    kind: str
    group: str
    frame: gpd.GeoDataFrame
    visible: bool = True


@dataclass(frozen=True, kw_only=True)
class RasterLayer:
    """A COG already written under the delivery folder (``source`` relative to it), with its style."""

    source: str
    kind: str
    group: str
    names: tuple[str, str, str]
    vmin: float | None = None
    vmax: float | None = None
    change_type: str = "clearcut"
    visible: bool = True


def _second(names: tuple[str, str, str], language: str) -> str:
    return names[1] if language == "ru" else names[2]


def write_delivery(out: Path, *, vectors: Sequence[VectorLayer], rasters: Sequence[RasterLayer], epsg: int,
                   title: str, language: str = "ru", gpkg_name: str = "skywatch.gpkg") -> list[Path]:  # fmt: skip
    """Write the styled GeoPackage, the rasters' sidecars and the project into ``out``; returns the files.

    Raises:
        DataError: an unknown language or group; OutputError: a file cannot be written.
    """
    if language not in {"ru", "zh"}:
        raise DataError(f"second language must be ru or zh, got {language!r}")
    bad = sorted(({v.group for v in vectors} | {r.group for r in rasters}) - set(GROUPS))
    if bad:
        raise DataError(f"unknown layer group(s) {bad}; use {list(GROUPS)}")
    gpkg = out / gpkg_name
    styles: dict[str, tuple[str, str]] = {}
    project: list[ProjectLayer] = []
    for lyr in vectors:
        geometry = str(lyr.frame.geom_type.iloc[0]) if len(lyr.frame) else _EMPTY_GEOMETRY.get(lyr.kind, "Polygon")
        fields = [str(c) for c in lyr.frame.columns]
        styles[lyr.name] = vector_style(lyr.kind, geometry=geometry, language=language, fields=fields, name=lyr.name)
        names = LAYER_NAMES[lyr.kind]
        qml = vector_qml(lyr.kind, geometry=geometry, language=language, fields=fields)
        project.append(ProjectLayer(name_en=names[0], name_second=_second(names, language), source=gpkg_name,
                                    provider="ogr", layer_name=lyr.name, geometry=geometry, group=lyr.group, qml=qml,
                                    visible=lyr.visible))  # fmt: skip
    write_geopackage(gpkg, {lyr.name: lyr.frame for lyr in vectors}, styles=styles)
    files = [gpkg]
    for r in rasters:
        qml = raster_qml(r.kind, vmin=r.vmin, vmax=r.vmax, language=language, change_type=r.change_type)
        files.append(write_qml_sidecar(out / r.source, qml))
        project.append(ProjectLayer(name_en=r.names[0], name_second=_second(r.names, language), source=r.source,
                                    provider="gdal", group=r.group, qml=qml, visible=r.visible))  # fmt: skip
    order = {g: i for i, g in enumerate(GROUPS)}
    project.sort(key=lambda lyr: order[lyr.group])  # stable: vectors above rasters within a group
    files.append(write_qgz(out / "skywatch.qgz", project, epsg=epsg, title=title, second_language=language))
    return files


def detections_frame(incidents: Sequence[Incident], crs: str) -> gpd.GeoDataFrame:
    """The ``detections`` layer: one row per incident with its figures and labels (in the grid's ``crs``)."""
    rows = [{"type": i.type, "acq_date": i.detected.isoformat(), "confidence": i.confidence,
             "confidence_pct": i.confidence_pct, "area_ha": i.area_ha, "length_km": i.length_km,
             "severity": i.severity or "", "label_en": LABELS[i.type]["en"], "label_ru": LABELS[i.type]["ru"],
             "label_zh": LABELS[i.type]["zh"], "geometry": i.geometry} for i in incidents]  # fmt: skip
    return gpd.GeoDataFrame(rows or {"type": [], "geometry": []}, geometry="geometry", crs=crs)


def alerts_frame(collection: Mapping[str, Any], crs: str) -> gpd.GeoDataFrame:
    """The ``alerts`` layer from an alerts FeatureCollection (WGS84), properties flattened, in ``crs``."""
    rows = [{**flat_properties(f["properties"]), "geometry": shape(f["geometry"])} for f in collection["features"]]
    frame = gpd.GeoDataFrame(rows or {"id": [], "geometry": []}, geometry="geometry", crs="EPSG:4326")
    return frame.to_crs(crs)


def aoi_frame(aoi: AOI, crs: str) -> gpd.GeoDataFrame:
    """The ``aoi`` layer: the AOI's outline with its name, in ``crs``."""
    return gpd.GeoDataFrame({"name": [aoi.name]}, geometry=[aoi.geometry], crs="EPSG:4326").to_crs(crs)
