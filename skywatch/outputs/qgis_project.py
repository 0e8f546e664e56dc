"""A QGIS project (``.qgz``) for planners, written by hand: QGIS is not needed (nor importable) at write time.

A ``.qgz`` is a zip holding one ``.qgs`` XML document (REFERENCE.md, "QGIS and COG"). The project is in the park's
UTM CRS (``<ProjectionsEnabled>1``), its layers sit in the groups Alerts, Disturbance, Wildlife and Context (in that
order, top to bottom), each named "English / second language", with paths relative to the project and each layer's
style embedded from its QML so it opens styled. Layer ids are deterministic and longer than 10 characters.

The result is checked in QGIS 3.22 itself by ``tests/helpers/qgis_check.py``.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyogrio
import rasterio
from pyproj import CRS, Transformer

from skywatch.errors import DataError, OutputError
from skywatch.outputs.atomic import atomic_path
from skywatch.outputs.styles import QGIS_VERSION

__all__ = ["GROUPS", "ProjectLayer", "write_qgz"]

GROUPS = ("Alerts", "Disturbance", "Wildlife", "Context")
SECOND_LANGUAGES = ("ru", "zh")
_GROUP_NAMES = {
    "Alerts": {"ru": "Оповещения", "zh": "警报"},
    "Disturbance": {"ru": "Нарушения", "zh": "干扰"},
    "Wildlife": {"ru": "Дикие животные", "zh": "野生动物"},
    "Context": {"ru": "Контекст", "zh": "背景"},
}
_PROVIDERS = {"ogr": "vector", "gdal": "raster"}
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: the same layers give the same bytes

Extent = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax


@dataclass(frozen=True, kw_only=True)
class ProjectLayer:
    """One layer of the project.

    Attributes:
        name_en: English layer name.
        name_second: The name in the project's second language (Russian or Chinese).
        source: File path relative to the project file, e.g. ``skywatch.gpkg`` or ``fire.tif``.
        provider: ``ogr`` (vector, GeoPackage layer) or ``gdal`` (raster).
        group: One of :data:`GROUPS`.
        qml: The layer's style (QML text, e.g. from :mod:`skywatch.outputs.styles`), embedded in the project.
        layer_name: Layer name inside the GeoPackage (``ogr`` only).
        geometry: ``Point``, ``Line`` or ``Polygon`` (any OGC spelling; ``ogr`` only).
        visible: Checked in the layer tree.
    """

    name_en: str
    name_second: str
    source: str
    provider: str
    group: str
    qml: str
    layer_name: str | None = None
    geometry: str | None = None
    visible: bool = True

    def __post_init__(self) -> None:
        if self.provider not in _PROVIDERS:
            raise DataError(f"layer {self.name_en!r}: provider {self.provider!r} must be 'ogr' or 'gdal'")
        if self.group not in GROUPS:
            raise DataError(f"layer {self.name_en!r}: group {self.group!r} must be one of {list(GROUPS)}")
        if self.provider == "ogr" and not self.layer_name:
            raise DataError(f"layer {self.name_en!r}: an 'ogr' layer needs layer_name (the GeoPackage layer)")
        if Path(self.source).is_absolute() or PurePosixPath(self.source).is_absolute():
            raise DataError(f"layer {self.name_en!r}: source {self.source!r} must be relative to the project")

    @property
    def display_name(self) -> str:
        """``"English / second language"`` (just English when both are the same or the second is empty)."""
        second = self.name_second.strip()
        return self.name_en if not second or second == self.name_en else f"{self.name_en} / {second}"

    @property
    def datasource(self) -> str:
        """The QGIS data source string, relative: ``./skywatch.gpkg|layername=detections`` or ``./fire.tif``."""
        rel = PurePosixPath(Path(self.source).as_posix())
        text = str(rel) if str(rel).startswith(".") else f"./{rel}"
        return f"{text}|layername={self.layer_name}" if self.provider == "ogr" else text


def write_qgz(
    path: Path,
    layers: Sequence[ProjectLayer],
    *,
    epsg: int,
    title: str,
    second_language: str = "ru",
    extent: Extent | None = None,
    overwrite: bool = True,
) -> Path:
    """Write a QGIS 3.22 project ``path`` (``.qgz``) showing ``layers``, atomically.

    Args:
        path: Target ``.qgz``; layer sources are relative to its folder.
        layers: The layers, top to bottom within each group.
        epsg: Project CRS: the park's UTM zone (e.g. 32652).
        title: Project title.
        second_language: ``ru`` or ``zh``: group names are "English / <this language>".
        extent: Initial map view in the project CRS; by default the union of the layers' extents (read from the
            sources that exist; a missing source is left to QGIS to report).
        overwrite: Replace an existing project.

    Raises:
        DataError: no layers, a bad second language, duplicate layers, a QML that is not a QGIS style, or an
            unknown EPSG code.
        OutputError: the file exists without ``overwrite`` or cannot be written.
    """
    if not layers:
        raise DataError("a QGIS project needs at least one layer")
    if second_language not in SECOND_LANGUAGES:
        raise DataError(f"second_language {second_language!r} must be one of {list(SECOND_LANGUAGES)}")
    if path.suffix.lower() != ".qgz":
        raise DataError(f"{str(path)!r}: a QGIS project archive must end in .qgz")
    try:
        crs = CRS.from_epsg(epsg)
    except Exception as exc:  # pyproj raises CRSError, a bare Exception subclass with a useful message
        raise DataError(f"EPSG:{epsg} is not a known CRS: {exc}") from exc
    ids = _layer_ids(layers)
    infos = [_source_info(path.parent, layer, crs) for layer in layers]
    view = extent or _union([info[1] for info in infos if info[1] is not None])
    root = _project(layers, ids, infos, crs=crs, epsg=epsg, title=title, language=second_language, view=view)
    ET.indent(root)
    text = f"{_DOCTYPE}\n{ET.tostring(root, encoding='unicode')}\n"
    with atomic_path(path, overwrite=overwrite) as tmp:
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                info = zipfile.ZipInfo(f"{path.stem}.qgs", date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text.encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"could not write {str(path)!r}: {exc.strerror or exc}") from exc
    return path


# ------------------------------------------------------------------------------------------------------------ sources
def _layer_ids(layers: Sequence[ProjectLayer]) -> list[str]:
    ids: list[str] = []
    for layer in layers:
        slug = re.sub(r"[^a-z0-9]+", "_", layer.name_en.lower()).strip("_") or "layer"
        digest = hashlib.sha256(f"{layer.datasource}|{layer.provider}".encode()).hexdigest()[:16]
        lid = f"{slug}_{digest}"
        if lid in ids:
            raise DataError(f"layer {layer.name_en!r} ({layer.datasource}) is listed twice")
        ids.append(lid)
    return ids


def _source_info(folder: Path, layer: ProjectLayer, project_crs: CRS) -> tuple[CRS, Extent | None]:
    """The layer's CRS and its extent in the project CRS, read from the source when it exists."""
    file = folder / layer.source
    if not file.exists():
        return project_crs, None
    try:
        if layer.provider == "gdal":
            with rasterio.open(file) as src:
                crs = CRS.from_user_input(src.crs.to_wkt()) if src.crs else project_crs
                left, bottom, right, top = (float(v) for v in src.bounds)
        else:
            meta = pyogrio.read_info(file, layer=layer.layer_name)
            crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else project_crs
            if meta.get("total_bounds") is None:  # an empty layer (a run without detections): no extent
                return crs, None
            left, bottom, right, top = (float(v) for v in meta["total_bounds"])
    except Exception as exc:  # rasterio/pyogrio/pyproj errors: a project may still point at it
        raise DataError(f"cannot read layer {layer.name_en!r} from {str(file)!r}: {exc}") from exc
    bounds: Extent = (left, bottom, right, top)
    if not all(math.isfinite(v) and abs(v) < 1e300 for v in bounds) or left > right:  # an empty layer
        return crs, None
    if crs != project_crs:
        bounds = Transformer.from_crs(crs, project_crs, always_xy=True).transform_bounds(*bounds)
    return crs, bounds


def _union(extents: Sequence[Extent]) -> Extent | None:
    if not extents:
        return None
    return (
        min(e[0] for e in extents),
        min(e[1] for e in extents),
        max(e[2] for e in extents),
        max(e[3] for e in extents),
    )


# ---------------------------------------------------------------------------------------------------------------- XML
def _sub(parent: ET.Element, tag: str, attrs: dict[str, str] | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs or {})
    if text is not None:
        el.text = text
    return el


def _srs(parent: ET.Element, crs: CRS) -> None:
    """A ``<spatialrefsys>``; QGIS resolves it by ``authid`` and falls back on the WKT."""
    ref = _sub(parent, "spatialrefsys", {"nativeFormat": "Wkt"})
    _sub(ref, "wkt", text=crs.to_wkt())
    authority = crs.to_authority()
    _sub(ref, "srid", text=authority[1] if authority else "0")
    _sub(ref, "authid", text=":".join(authority) if authority else "")
    _sub(ref, "description", text=crs.name)
    _sub(ref, "geographicflag", text="true" if crs.is_geographic else "false")


def _extent(parent: ET.Element, tag: str, extent: Extent) -> None:
    box = _sub(parent, tag)
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        _sub(box, name, text=repr(float(value)))


def _style(layer: ProjectLayer) -> ET.Element:
    try:
        style = ET.fromstring(layer.qml)
    except ET.ParseError as exc:
        raise DataError(f"layer {layer.name_en!r}: its QML is not XML: {exc}") from exc
    if style.tag != "qgis":
        raise DataError(f"layer {layer.name_en!r}: its QML root is <{style.tag}>, not <qgis>")
    return style


def _geometry(geometry: str | None) -> str:
    g = (geometry or "").lower()
    return "Polygon" if "polygon" in g else "Line" if "line" in g or "curve" in g else "Point" if "point" in g else ""


def _maplayer(parent: ET.Element, layer: ProjectLayer, lid: str, crs: CRS, extent: Extent | None) -> None:
    style = _style(layer)
    kind = _PROVIDERS[layer.provider]
    attrs = {k: v for k, v in style.attrib.items() if k not in {"version", "styleCategories"}}
    attrs |= {"type": kind, "styleCategories": "AllStyleCategories", "autoRefreshEnabled": "0"}
    if kind == "vector":
        attrs |= {"geometry": _geometry(layer.geometry), "readOnly": "0"}
    node = _sub(parent, "maplayer", attrs)
    if extent is not None:
        _extent(node, "extent", extent)
    _sub(node, "id", text=lid)
    _sub(node, "datasource", text=layer.datasource)
    _sub(_sub(node, "keywordList"), "value", text="")
    _sub(node, "layername", text=layer.display_name)
    _srs(_sub(node, "srs"), crs)
    _sub(node, "provider", {"encoding": "UTF-8"} if kind == "vector" else {}, layer.provider)
    if kind == "raster":
        _sub(_sub(node, "noData"), "noDataList", {"bandNo": "1", "useSrcNoData": "1"})
    manager = _sub(node, "map-layer-style-manager", {"current": "default"})
    _sub(manager, "map-layer-style", {"name": "default"})
    flags = _sub(node, "flags")
    for flag, value in (("Identifiable", "1"), ("Removable", "1"), ("Searchable", "1"), ("Private", "0")):
        _sub(flags, flag, text=value)
    for child in style:
        node.append(copy.deepcopy(child))


def _project(
    layers: Sequence[ProjectLayer],
    ids: list[str],
    infos: list[tuple[CRS, Extent | None]],
    *,
    crs: CRS,
    epsg: int,
    title: str,
    language: str,
    view: Extent | None,
) -> ET.Element:
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": title, "saveUser": "skywatch"})
    _sub(root, "homePath", {"path": ""})
    _sub(root, "title", text=title)
    _sub(root, "transaction", {"mode": "Disabled"})
    _srs(_sub(root, "projectCrs"), crs)

    tree = _sub(root, "layer-tree-group")
    _sub(tree, "customproperties")
    order: list[str] = []
    for group in GROUPS:
        members = [(layer, lid) for layer, lid in zip(layers, ids, strict=True) if layer.group == group]
        if not members:
            continue
        name = f"{group} / {_GROUP_NAMES[group][language]}"
        node = _sub(tree, "layer-tree-group", {"name": name, "checked": "Qt::Checked", "expanded": "1"})
        _sub(node, "customproperties")
        for layer, lid in members:
            entry = {
                "id": lid,
                "name": layer.display_name,
                "source": layer.datasource,
                "providerKey": layer.provider,
                "checked": "Qt::Checked" if layer.visible else "Qt::Unchecked",
                "expanded": "1",
                "legend_exp": "",
                "patch_size": "-1,-1",
                "legend_split_behavior": "0",
            }
            _sub(_sub(node, "layer-tree-layer", entry), "customproperties")
            order.append(lid)
    custom = _sub(tree, "custom-order", {"enabled": "0"})
    for lid in order:
        _sub(custom, "item", text=lid)

    canvas = _sub(root, "mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    _sub(canvas, "units", text="meters")
    if view is not None:
        _extent(canvas, "extent", view)
    _sub(canvas, "rotation", text="0")
    _srs(_sub(canvas, "destinationsrs"), crs)
    _sub(canvas, "rendermaptile", text="0")

    project_layers = _sub(root, "projectlayers")
    for layer, lid, (layer_crs, extent) in zip(layers, ids, infos, strict=True):
        _maplayer(project_layers, layer, lid, layer_crs, extent)
    layer_order = _sub(root, "layerorder")
    for lid in order:
        _sub(layer_order, "layer", {"id": lid})

    props = _sub(root, "properties")
    _sub(_sub(props, "Paths"), "Absolute", {"type": "bool"}, "false")
    srs = _sub(props, "SpatialRefSys")
    _sub(srs, "ProjectionsEnabled", {"type": "int"}, "1")
    _sub(srs, "ProjectCrs", {"type": "QString"}, f"EPSG:{epsg}")
    gui = _sub(props, "Gui")
    for part in ("Red", "Green", "Blue"):
        _sub(gui, f"CanvasColor{part}Part", {"type": "int"}, "255")
    meta = _sub(root, "projectMetadata")
    for tag, value in (("identifier", ""), ("parentidentifier", ""), ("language", "en"), ("type", "")):
        _sub(meta, tag, text=value)
    _sub(meta, "title", text=title)
    _sub(meta, "abstract", text="Sentinel-2 disturbance alerts and camera-trap layers (skywatch)")
    _sub(meta, "author", text="skywatch")
    settings = _sub(root, "ProjectViewSettings", {"UseProjectScales": "0", "rotation": "0"})
    _sub(settings, "Scales")
    if view is not None:
        keys = ("xmin", "ymin", "xmax", "ymax")
        default = _sub(settings, "DefaultViewExtent", {k: repr(float(v)) for k, v in zip(keys, view, strict=True)})
        _srs(default, crs)
    return root
