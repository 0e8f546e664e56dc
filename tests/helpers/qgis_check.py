"""Open a skywatch QGIS project in real QGIS (3.22, headless), check it, render it, print a JSON report.

Run with the system Python that has Debian's QGIS (never in the project venv, whose GDAL differs):

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/helpers/qgis_check.py PROJECT.qgz OUT.png [--each-layer]

Checks: the project reads; its CRS is the one written, with ``ProjectionsEnabled`` 1; the layer tree holds the
groups in the written order; every layer is valid and has the renderer its embedded style designs (categorised,
graduated, paletted, pseudocolour; single symbols must carry the designed colour, not QGIS's random default) with
the designed number of classes and labels when designed; every GeoPackage layer opened on its own picks up its
default style from ``layer_styles`` and every raster its ``.qml`` sidecar; the whole map renders to OUT.png and is not
blank. ``--each-layer`` also renders each layer alone and requires it to draw something.

Exit status: 0 all checks pass, 1 a check failed, 2 bad usage or QGIS cannot start. The report (stdout) lists
``errors`` and, per layer, what was found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

BACKGROUND = (255, 255, 255)


def _designed(qgz: Path) -> dict[str, Any]:
    """What the project file itself says: CRS, groups, and per layer id the renderer its style designs."""
    with zipfile.ZipFile(qgz) as archive:
        names = [n for n in archive.namelist() if n.endswith(".qgs")]
        if len(names) != 1:
            raise ValueError(f"{qgz} holds {len(names)} .qgs files, expected exactly one")
        root = ET.fromstring(archive.read(names[0]))
    layers: dict[str, dict[str, Any]] = {}
    for node in root.iter("maplayer"):
        lid = node.findtext("id") or ""
        renderer = node.find("renderer-v2")
        raster = node.find("pipe/rasterrenderer")
        info: dict[str, Any] = {
            "kind": node.get("type"),
            "datasource": node.findtext("datasource"),
            "provider": node.findtext("provider"),
            "labels": node.get("labelsEnabled") == "1",
        }
        if renderer is not None:
            info["renderer"] = renderer.get("type")
            info["classes"] = len(renderer.findall("categories/category") + renderer.findall("ranges/range"))
            prop = renderer.find("symbols/symbol/layer/prop[@k='color']")
            if prop is None:
                prop = renderer.find("symbols/symbol/layer/prop[@k='line_color']")
            info["single_colour"] = prop.get("v") if prop is not None else None
        elif raster is not None:
            info["renderer"] = raster.get("type")
            info["classes"] = len(
                raster.findall("colorPalette/paletteEntry") + raster.findall(".//colorrampshader/item")
            )
        layers[lid] = info
    groups = [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]
    return {
        "crs": root.findtext("projectCrs/spatialrefsys/authid"),
        "projections_enabled": root.findtext("properties/SpatialRefSys/ProjectionsEnabled"),
        "groups": groups,
        "layers": layers,
    }


def _renderer_summary(layer: Any) -> dict[str, Any]:
    """Renderer type and class count of a loaded vector or raster layer."""
    from qgis.core import QgsRasterLayer

    renderer = layer.renderer()
    if renderer is None:
        return {"renderer": None, "classes": 0}
    rtype = renderer.type()
    if isinstance(layer, QgsRasterLayer):
        if rtype == "paletted":
            count = len(renderer.classes())
        elif rtype == "singlebandpseudocolor":
            count = len(renderer.shader().rasterShaderFunction().colorRampItemList())
        else:
            count = 0
        return {"renderer": rtype, "classes": count}
    if rtype == "categorizedSymbol":
        count = len(renderer.categories())
    elif rtype == "graduatedSymbol":
        count = len(renderer.ranges())
    else:
        count = 0
    out: dict[str, Any] = {"renderer": rtype, "classes": count}
    if rtype == "singleSymbol":
        props = renderer.symbol().symbolLayer(0).properties()
        out["single_colour"] = props.get("color") or props.get("line_color")
    return out


def _style_errors(where: str, found: dict[str, Any], designed: dict[str, Any]) -> list[str]:
    errors = []
    if found["renderer"] != designed.get("renderer"):
        errors.append(f"{where}: renderer {found['renderer']!r}, designed {designed.get('renderer')!r}")
    elif found["classes"] != designed.get("classes", 0):
        errors.append(f"{where}: {found['classes']} classes, designed {designed.get('classes')}")
    elif found["renderer"] == "singleSymbol" and found.get("single_colour") != designed.get("single_colour"):
        errors.append(f"{where}: colour {found.get('single_colour')} is not the designed {designed['single_colour']}")
    return errors


def _label_errors(layer: Any, name: str) -> list[str]:
    """A label expression must parse and give text for the layer's features (QGIS draws nothing otherwise)."""
    from qgis.core import QgsExpression, QgsExpressionContext, QgsExpressionContextUtils, QgsFeatureRequest

    labeling = layer.labeling() if layer.labelsEnabled() else None
    if labeling is None or not hasattr(labeling, "settings") or not labeling.settings().isExpression:
        return []
    expression = QgsExpression(labeling.settings().fieldName)
    if expression.hasParserError():
        return [f"{name}: label expression does not parse: {expression.parserErrorString()}"]
    context = QgsExpressionContext()
    context.appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    for feature in layer.getFeatures(QgsFeatureRequest().setLimit(20)):
        context.setFeature(feature)
        value = expression.evaluate(context)
        if expression.hasEvalError() or value in (None, ""):
            return [
                f"{name}: label expression gives {value!r} for feature {feature.id()}: {expression.evalErrorString()}"
            ]
    return []


def _nonblank(image: Any) -> float:
    """Fraction of pixels that differ from the white background."""
    from qgis.PyQt.QtGui import QImage

    img = image.convertToFormat(QImage.Format_ARGB32)
    w, h = img.width(), img.height()
    if w == 0 or h == 0:
        return 0.0
    try:
        import numpy as np
    except ImportError:  # sample the image instead
        step = 4
        hits = total = 0
        for y in range(0, h, step):
            for x in range(0, w, step):
                c = img.pixelColor(x, y)
                total += 1
                hits += (c.red(), c.green(), c.blue()) != BACKGROUND
        return hits / max(total, 1)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    rows = np.frombuffer(ptr, dtype=np.uint8).reshape(h, img.bytesPerLine())
    bgra = rows[:, : w * 4].reshape(h, w, 4)
    blue, green, red = BACKGROUND[2], BACKGROUND[1], BACKGROUND[0]
    differs = (bgra[..., 0] != blue) | (bgra[..., 1] != green) | (bgra[..., 2] != red)
    return float(differs.mean())


def _render(layers: list[Any], crs: Any, extent: Any, width: int) -> tuple[Any, list[str]]:
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(crs)
    settings.setBackgroundColor(QColor(*BACKGROUND))
    aspect = extent.height() / extent.width() if extent.width() > 0 else 1.0
    settings.setOutputSize(QSize(width, max(1, round(width * aspect))))
    settings.setExtent(extent)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage(), [f"{e.layerID}: {e.message}" for e in job.errors()]


def check(qgz: Path, png: Path, *, each_layer: bool, width: int) -> dict[str, Any]:
    """Run every check; the report's ``errors`` is empty when all pass."""
    from qgis.core import Qgis, QgsMapSettings, QgsProject, QgsProviderRegistry, QgsVectorLayer

    designed = _designed(qgz)
    errors: list[str] = []
    missing = {"ogr", "gdal"} - set(QgsProviderRegistry.instance().providerList())
    if missing:
        errors.append(f"QGIS lacks the {sorted(missing)} provider(s): install qgis-providers")
    project = QgsProject.instance()
    if not project.read(str(qgz)):
        return {"qgis": Qgis.QGIS_VERSION, "errors": [f"QGIS could not read {qgz}: {project.error()}"]}
    crs = project.crs()
    if crs.authid() != designed["crs"] or not crs.isValid():
        errors.append(f"project CRS {crs.authid()!r}, written {designed['crs']!r}")
    if designed["projections_enabled"] != "1":
        errors.append("<ProjectionsEnabled> is not 1")
    root = project.layerTreeRoot()
    groups = [g.name() for g in root.children() if g.nodeType() == 0]  # NodeGroup
    if groups != designed["groups"] or not groups:
        errors.append(f"layer tree groups {groups}, written {designed['groups']}")

    home = qgz.resolve().parent
    report_layers = []
    for node in root.findLayers():
        layer = node.layer()
        lid = node.layerId()
        want = designed["layers"].get(lid, {})
        entry: dict[str, Any] = {"id": lid, "name": node.name(), "group": node.parent().name()}
        if len(lid) <= 10:
            errors.append(f"{node.name()}: layer id {lid!r} is not longer than 10 characters")
        if layer is None or not layer.isValid():
            entry["valid"] = False
            errors.append(f"{node.name()}: layer is not valid (source {want.get('datasource')})")
            report_layers.append(entry)
            continue
        entry["valid"] = True
        entry["provider"] = layer.providerType()
        entry |= _renderer_summary(layer)
        entry["designed_renderer"] = want.get("renderer")
        errors += _style_errors(f"{node.name()} (project)", entry, want)
        if isinstance(layer, QgsVectorLayer):
            entry["labels"] = bool(layer.labelsEnabled() and layer.labeling() is not None)
            entry["features"] = layer.featureCount()
            if want.get("labels") and not entry["labels"]:
                errors.append(f"{node.name()}: labels are designed but not enabled")
            errors += _label_errors(layer, node.name())
        entry["default_style"] = _direct(layer, home, want, errors, node.name())
        report_layers.append(entry)
    if not report_layers:
        errors.append("the project has no layers")

    visible = [node.layer() for node in root.findLayers() if node.isVisible() and node.layer() is not None]
    ordered = [lyr for lyr in root.layerOrder() if lyr in visible]
    probe = QgsMapSettings()
    probe.setLayers(ordered)
    probe.setDestinationCrs(crs)
    extent = probe.fullExtent()
    extent.scale(1.05)
    view = project.viewSettings().defaultViewExtent()
    image, render_errors = _render(ordered, crs, extent, width)
    png.parent.mkdir(parents=True, exist_ok=True)
    saved = image.save(str(png), "PNG")
    fraction = _nonblank(image)
    errors += [f"render: {e}" for e in render_errors]
    if not saved:
        errors.append(f"could not save {png}")
    if fraction <= 0.0:
        errors.append("the rendered map is blank")
    if view.isEmpty():
        errors.append("the project has no default view extent")
    if each_layer:
        for entry, lyr in zip(report_layers, [n.layer() for n in root.findLayers()], strict=True):
            if lyr is None or not lyr.isValid():
                continue
            alone, _ = _render([lyr], crs, extent, 256)
            entry["nonblank_fraction"] = round(_nonblank(alone), 5)
            if entry["nonblank_fraction"] <= 0.0:
                errors.append(f"{entry['name']}: draws nothing on the map")
    return {
        "qgis": Qgis.QGIS_VERSION,
        "project": str(qgz),
        "crs": crs.authid(),
        "groups": groups,
        "default_view": [view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum()],
        "layers": report_layers,
        "render": {
            "png": str(png),
            "width": image.width(),
            "height": image.height(),
            "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
            "nonblank_fraction": round(fraction, 5),
        },
        "errors": errors,
    }


def _direct(layer: Any, home: Path, want: dict[str, Any], errors: list[str], name: str) -> dict[str, Any]:
    """Open the layer's source on its own, as a user adding it would: is the stored default style applied?"""
    from qgis.core import QgsProviderRegistry, QgsRasterLayer, QgsVectorLayer

    source = layer.source()
    if isinstance(layer, QgsVectorLayer):
        alone = QgsVectorLayer(source, "direct", "ogr")
        stored = QgsProviderRegistry.instance().loadStyle("ogr", source, "")
        qml = stored[0] if isinstance(stored, tuple) else stored
        origin = "layer_styles"
        if not qml:
            errors.append(f"{name}: no default style in the GeoPackage's layer_styles")
    else:
        alone = QgsRasterLayer(source, "direct", "gdal")
        sidecar = Path(source).with_suffix(".qml")
        origin = sidecar.name
        if not sidecar.is_file():
            errors.append(f"{name}: no .qml sidecar beside {Path(source).name}")
    if not alone.isValid():
        errors.append(f"{name}: its source does not open on its own")
        return {"from": origin, "valid": False}
    found = _renderer_summary(alone)
    style_errors = _style_errors(f"{name} (opened alone, style from {origin})", found, want)
    errors += style_errors
    same = alone.renderer().dump() == layer.renderer().dump() if isinstance(layer, QgsVectorLayer) else None
    return {"from": origin, "valid": True, **found, "applied": not style_errors, "same_as_project": same}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start QGIS headless, run :func:`check`, print the report; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="the .qgz to check")
    parser.add_argument("png", type=Path, help="where to write the rendered map")
    parser.add_argument("--each-layer", action="store_true", help="also require each layer alone to draw something")
    parser.add_argument("--width", type=int, default=800, help="rendered width in pixels")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from qgis.core import QgsApplication
    except ImportError as exc:
        print(json.dumps({"errors": [f"QGIS is not importable by {sys.executable}: {exc}"]}))
        return 2
    app = QgsApplication([], False)
    app.initQgis()
    try:
        report = check(args.project, args.png, each_layer=args.each_layer, width=args.width)
    except Exception as exc:  # report, never a bare traceback, so the caller sees what broke
        report = {"errors": [f"{type(exc).__name__}: {exc}"]}
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # QGIS 3.22's Python teardown can crash after a project was read; the report is out already
