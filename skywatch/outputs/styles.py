"""Layer styles for planners: QGIS 3.22 QML and OGC SLD 1.1 for every skywatch layer kind.

QGIS applies a QML in three ways, all used by skywatch: from the GeoPackage ``layer_styles`` table
(:mod:`skywatch.outputs.layer_styles`), from a ``<name>.qml`` sidecar beside a raster (:func:`write_qml_sidecar`) and
embedded in a project (:mod:`skywatch.outputs.qgis_project`). The SLD goes into ``layer_styles.styleSLD`` for other
clients (GeoServer, MapServer); QGIS reads only the QML (REFERENCE.md, "QGIS and COG").

Everything here is pure: kinds and options in, XML text out; only :func:`write_qml_sidecar` touches the disk.
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from skywatch.errors import DataError
from skywatch.fuse.incidents import LABELS
from skywatch.outputs.atomic import atomic_path

__all__ = [
    "LANGUAGES",
    "QGIS_VERSION",
    "RASTER_KINDS",
    "VECTOR_KINDS",
    "label_field",
    "raster_qml",
    "raster_sld",
    "vector_qml",
    "vector_sld",
    "vector_style",
    "write_qml_sidecar",
]

LANGUAGES = ("en", "ru", "zh")
VECTOR_KINDS = (
    "aoi",
    "detections",
    "alerts",
    "road_centrelines",
    "camera_stations",
    "individual_ranges",
    "activity_centres",
    "hotspots",
)
RASTER_KINDS = ("fire_classes", "change_classes", "presence", "density", "risk")

QGIS_VERSION = "3.22.0-Białowieża"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
for _prefix, _uri in (("sld", _SLD), ("se", _SE), ("ogc", _OGC), ("xsi", _XSI)):
    ET.register_namespace(_prefix, _uri)

Text = dict[str, str]  # language -> text


@dataclass(frozen=True)
class _Sym:
    """One symbol, drawn as a fill, a line or a marker depending on the layer's geometry."""

    color: str  # "#rrggbb"
    alpha: int = 255
    outline: str = "#232323"
    width: float = 0.3  # mm: outline of fills and markers, stroke of lines
    fill: bool = True
    dash: bool = False
    marker: str = "circle"
    size: float = 3.0  # mm, markers


@dataclass(frozen=True)
class _Class:
    value: str | tuple[float, float]  # category value, or (lower, upper): the first range holding v wins
    label: Text
    sym: _Sym


def _t(en: str, ru: str, zh: str) -> Text:
    return {"en": en, "ru": ru, "zh": zh}


_TYPE_SYMBOLS = {
    "fire_active": _Sym("#ff0000", 220, "#8b0000", 0.5, marker="triangle", size=4.0),
    "burn_scar": _Sym("#3b2414", 190, "#000000", 0.3),
    "clearcut": _Sym("#ff8c00", 200, "#a35200", 0.3, marker="square"),
    "road": _Sym("#ff00ff", 230, "#990099", 0.6, marker="diamond"),
}
_INCIDENT_CLASSES = tuple(_Class(t, LABELS[t], s) for t, s in _TYPE_SYMBOLS.items())
_RANGE_CLASSES = (
    _Class(
        "mcp100",
        _t("MCP 100 %", "МВП 100 %", "最小凸多边形 100%"),
        _Sym("#636363", outline="#636363", fill=False, dash=True),
    ),
    _Class(
        "kde95", _t("KDE 95 %", "ЯОП 95 %", "核密度 95%"), _Sym("#807dba", outline="#807dba", width=0.5, fill=False)
    ),
    _Class(
        "kde50",
        _t("KDE 50 % (core)", "ЯОП 50 % (ядро)", "核密度 50%（核心）"),
        _Sym("#3f007d", outline="#3f007d", width=1.0, fill=False),
    ),
)
_SINGLE = {
    "aoi": (_Sym("#006d2c", outline="#006d2c", width=0.9, fill=False), _t("Park", "Парк", "公园")),
    "road_centrelines": (_Sym("#c51b7d", width=0.7), _t("New road centreline", "Ось новой дороги", "新道路中心线")),
    "camera_stations": (
        _Sym("#2171b5", outline="#ffffff", width=0.3, marker="square", size=3.0),
        _t("Camera station", "Фотоловушка", "红外相机位点"),
    ),
    "activity_centres": (
        _Sym("#6a51a3", outline="#ffffff", width=0.3, marker="star", size=5.0),
        _t("Activity centre", "Центр активности", "活动中心"),
    ),
}
_HOT_COLOURS = ("#fed976", "#fd8d3c", "#e31a1c", "#800026")
_HOTSPOT_BREAKS = {"risk": (0.0, 0.25, 0.5, 0.75, 1.0), "rank": (0.5, 3.5, 10.5, 25.5, 1e9)}  # ranks 1-3, 4-10 ...
_LABEL_CANDIDATES = {
    "aoi": ("name",),
    "camera_stations": ("locationID", "location_id", "station"),
    "activity_centres": ("individualID", "individual_id", "individual"),
    "hotspots": ("rank",),
}

_NODATA = _t("No data", "Нет данных", "无数据")
_FIRE_PALETTE: tuple[tuple[int, str, int, Text], ...] = (
    (1, "#f0f0f0", 0, _t("Unburned", "Не пройдено огнём", "未燃烧")),
    (2, "#fee391", 255, _t("Low severity", "Низкая степень", "低烈度")),
    (3, "#fe9929", 255, _t("Moderate-low severity", "Умеренно-низкая степень", "中低烈度")),
    (4, "#cc4c02", 255, _t("Moderate-high severity", "Умеренно-высокая степень", "中高烈度")),
    (5, "#662506", 255, _t("High severity", "Высокая степень", "高烈度")),
    (6, "#ff0000", 255, LABELS["fire_active"]),
)
_NO_CHANGE = _t("No change", "Без изменений", "无变化")
_RAMPS: dict[str, tuple[str, ...]] = {
    "presence": ("#f7fcb9", "#addd8e", "#41ab5d", "#005a32"),
    "density": ("#edf8fb", "#b3cde3", "#8c96c6", "#6e016b"),
    "risk": ("#ffffb2", "#fecc5c", "#fd8d3c", "#bd0026"),
}
_RAMP_UNITS = {
    "presence": _t("events per 100 trap-days", "событий на 100 ловушко-суток", "事件/100 相机日"),
    "density": _t("animals per km²", "особей на км²", "只/平方公里"),
    "risk": _t("relative risk", "относительный риск", "相对风险"),
}


# ----------------------------------------------------------------------------------------------------------- helpers
def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise DataError(f"language {language!r} is not supported; use one of {list(LANGUAGES)}")


def _text(text: Text, language: str) -> str:
    """English, followed by the chosen language when it is not English: "Burn scar / Гарь"."""
    return text["en"] if language == "en" else f"{text['en']} / {text[language]}"


def _geometry_family(geometry: str) -> str:
    g = geometry.lower()
    if "polygon" in g or "surface" in g:
        return "Polygon"
    if "line" in g or "curve" in g:
        return "Line"
    if "point" in g:
        return "Point"
    raise DataError(f"geometry {geometry!r} is not a point, line or polygon type")


def _quote(text: str) -> str:
    """A QGIS expression string literal."""
    return "'" + text.replace("'", "''") + "'"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _sub(parent: ET.Element, tag: str, attrs: dict[str, str] | None = None, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs or {})
    if text is not None:
        el.text = text
    return el


def _num(x: float) -> str:
    f = float(x)
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def _serialise_qml(root: ET.Element) -> str:
    ET.indent(root)
    return f"{_DOCTYPE}\n{ET.tostring(root, encoding='unicode')}\n"


def _serialise_sld(root: ET.Element) -> str:
    ET.indent(root)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{ET.tostring(root, encoding="unicode")}\n'


def label_field(kind: str, fields: Collection[str] | None, language: str = "en") -> str | None:
    """The attribute a layer of ``kind`` is labelled with: ``label_<language>``, else ``label_en``, else a kind default.

    Returns None when the layer has none of them (detections and alerts then get a translated expression instead).
    """
    _check_language(language)
    present = set(fields or ())
    for name in (f"label_{language}", "label_en", *_LABEL_CANDIDATES.get(kind, ())):
        if name in present:
            return name
    return None


# --------------------------------------------------------------------------------------------------------- QML parts
def _qgis_root(*, labels: bool, categories: str) -> ET.Element:
    return ET.Element(
        "qgis",
        {
            "version": QGIS_VERSION,
            "styleCategories": categories,
            "labelsEnabled": "1" if labels else "0",
            "hasScaleBasedVisibilityFlag": "0",
            "minScale": "100000000",
            "maxScale": "0",
        },
    )


def _symbol_layer(symbol: ET.Element, cls: str, props: dict[str, str]) -> None:
    layer = _sub(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    option = _sub(layer, "Option", {"type": "Map"})
    for k, v in props.items():  # QGIS 3.22 writes both forms; older readers take <prop>, newer <Option>
        _sub(option, "Option", {"name": k, "value": v, "type": "QString"})
    for k, v in props.items():
        _sub(layer, "prop", {"k": k, "v": v})


def _qml_symbol(parent: ET.Element, name: str, sym: _Sym, family: str) -> None:
    kind = {"Point": "marker", "Line": "line", "Polygon": "fill"}[family]
    symbol = _sub(parent, "symbol", {"type": kind, "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"})
    stroke_style = "dash" if sym.dash else "solid"
    if family == "Polygon":
        _symbol_layer(
            symbol,
            "SimpleFill",
            {
                "color": _rgba(sym.color, sym.alpha),
                "style": "solid" if sym.fill else "no",
                "outline_color": _rgba(sym.outline),
                "outline_style": stroke_style,
                "outline_width": _num(sym.width),
                "outline_width_unit": "MM",
                "joinstyle": "bevel",
            },
        )
    elif family == "Line":
        _symbol_layer(
            symbol,
            "SimpleLine",
            {
                "line_color": _rgba(sym.color if sym.fill else sym.outline, sym.alpha),
                "line_style": stroke_style,
                "line_width": _num(max(sym.width, 0.5)),
                "line_width_unit": "MM",
                "capstyle": "round",
                "joinstyle": "round",
            },
        )
    else:
        _symbol_layer(
            symbol,
            "SimpleMarker",
            {
                "name": sym.marker,
                "color": _rgba(sym.color, sym.alpha),
                "outline_color": _rgba(sym.outline),
                "outline_style": "solid",
                "outline_width": _num(sym.width),
                "outline_width_unit": "MM",
                "size": _num(sym.size),
                "size_unit": "MM",
                "angle": "0",
            },
        )


def _qml_renderer(root: ET.Element, attr: str | None, classes: Sequence[_Class], family: str, language: str) -> str:
    """Append ``renderer-v2`` and return its type: single, categorised (str values) or graduated (ranges)."""
    common = {"symbollevels": "0", "forceraster": "0", "enableorderby": "0", "referencescale": "-1"}
    if attr is None:
        renderer = _sub(root, "renderer-v2", {"type": "singleSymbol", **common})
        _qml_symbol(_sub(renderer, "symbols"), "0", classes[0].sym, family)
        _sub(renderer, "rotation")
        _sub(renderer, "sizescale")
        return "singleSymbol"
    graduated = isinstance(classes[0].value, tuple)
    rtype = "graduatedSymbol" if graduated else "categorizedSymbol"
    extra = {"graduatedMethod": "GraduatedColor"} if graduated else {}
    renderer = _sub(root, "renderer-v2", {"type": rtype, "attr": attr, **extra, **common})
    items = _sub(renderer, "ranges" if graduated else "categories")
    for i, c in enumerate(classes):
        label = _text(c.label, language)
        if isinstance(c.value, tuple):
            lo, hi = c.value
            _sub(
                items,
                "range",
                {"lower": _num(lo), "upper": _num(hi), "label": label, "symbol": str(i), "render": "true"},
            )
        else:
            _sub(items, "category", {"value": c.value, "label": label, "symbol": str(i), "render": "true"})
    symbols = _sub(renderer, "symbols")
    for i, c in enumerate(classes):
        _qml_symbol(symbols, str(i), c.sym, family)
    if graduated:
        method = _sub(renderer, "classificationMethod", {"id": "EqualInterval"})
        _sub(method, "symmetricMode", {"enabled": "0", "symmetrypoint": "0", "astride": "0"})
        _sub(method, "labelFormat", {"format": "%1 - %2", "labelprecision": "2", "trimtrailingzeroes": "1"})
        _sub(method, "parameters")
        _sub(method, "extraInformation")
    _sub(renderer, "rotation")
    _sub(renderer, "sizescale")
    return rtype


def _qml_labeling(root: ET.Element, expression: str, is_expression: bool, family: str) -> None:
    settings = _sub(_sub(root, "labeling", {"type": "simple"}), "settings", {"calloutType": "simple"})
    style = _sub(
        settings,
        "text-style",
        {
            "fieldName": expression,
            "isExpression": "1" if is_expression else "0",
            "fontFamily": "Sans Serif",
            "fontSize": "9",
            "fontSizeUnit": "Point",
            "fontWeight": "50",
            "textColor": "40,40,40,255",
            "textOpacity": "1",
            "namedStyle": "Regular",
        },
    )
    _sub(
        style,
        "text-buffer",
        {"bufferDraw": "1", "bufferSize": "0.8", "bufferSizeUnits": "MM", "bufferColor": "255,255,255,255"},
    )
    placement = {"Point": "0", "Line": "2", "Polygon": "1"}[family]
    _sub(
        settings,
        "placement",
        {"placement": placement, "dist": "1", "distUnits": "MM", "placementFlags": "10", "priority": "5"},
    )
    _sub(settings, "rendering", {"drawLabels": "1", "obstacle": "1", "obstacleType": "1", "maxNumLabels": "2000"})


def _qml_tail(root: ET.Element, opacity: float = 1.0) -> None:
    _sub(root, "blendMode", text="0")
    _sub(root, "featureBlendMode", text="0")
    _sub(root, "layerOpacity", text=_num(opacity))
    _sub(root, "legend", {"type": "default-vector"})


# ------------------------------------------------------------------------------------------------ vector kind specs
@dataclass(frozen=True)
class _VectorSpec:
    attr: str | None
    classes: tuple[_Class, ...]
    label: str | None  # field or expression
    label_is_expression: bool
    recode: tuple[str, dict[str, str]] | None  # SLD label: field -> {value: text}


def _vector_spec(kind: str, fields: Collection[str] | None, language: str) -> _VectorSpec:
    _check_language(language)
    if kind not in VECTOR_KINDS:
        raise DataError(f"unknown vector style kind {kind!r}; known: {list(VECTOR_KINDS)}")
    label = label_field(kind, fields, language)
    if kind in {"detections", "alerts"}:
        if label is not None:
            return _VectorSpec("type", _INCIDENT_CLASSES, label, False, None)
        mapping = {t: text[language] for t, text in LABELS.items()}
        cases = " ".join(f'WHEN "type" = {_quote(t)} THEN {_quote(text)}' for t, text in mapping.items())
        return _VectorSpec("type", _INCIDENT_CLASSES, f'CASE {cases} ELSE "type" END', True, ("type", mapping))
    if kind == "individual_ranges":
        return _VectorSpec("range", _RANGE_CLASSES, None, False, None)
    if kind == "hotspots":
        present = set(fields or ())
        attr = "risk" if "risk" in present and "rank" not in present else "rank"  # a ranked list ranks first
        breaks = _HOTSPOT_BREAKS[attr]
        colours = _HOT_COLOURS if attr == "risk" else tuple(reversed(_HOT_COLOURS))  # rank 1 is the hottest
        classes = []
        for i, (lo, hi) in enumerate(itertools.pairwise(breaks)):
            if attr == "rank":
                text = f"{round(lo + 0.5)}+" if hi >= 1e9 else f"{round(lo + 0.5)}–{round(hi - 0.5)}"
                name = _t(f"Rank {text}", f"Ранг {text}", f"排名 {text}")
            else:
                name = _t(f"Risk {lo:g}–{hi:g}", f"Риск {lo:g}–{hi:g}", f"风险 {lo:g}–{hi:g}")
            classes.append(_Class((lo, hi), name, _Sym(colours[i], 230, "#4d4d4d", 0.3, size=3.0 + i)))
        return _VectorSpec(attr, tuple(classes), label, False, None)
    sym, name = _SINGLE[kind]
    return _VectorSpec(None, (_Class("", name, sym),), label, False, None)


def vector_qml(kind: str, *, geometry: str, language: str = "en", fields: Collection[str] | None = None) -> str:
    """QGIS 3.22 QML for a vector layer of ``kind``.

    Args:
        kind: One of :data:`VECTOR_KINDS`: ``aoi`` (outline), ``detections``/``alerts`` (categorised on ``type``),
            ``road_centrelines``, ``camera_stations``, ``individual_ranges`` (categorised on ``range``),
            ``activity_centres``, ``hotspots`` (graduated on ``risk`` 0-1, else ``rank``).
        geometry: The layer's geometry type (``Point``, ``MultiPolygon``, ``LineString`` ...): picks marker, line
            or fill symbols.
        language: ``en``, ``ru`` or ``zh``: legend text (English plus this language) and the label attribute.
        fields: The layer's attribute names; labels use ``label_<language>`` (else ``label_en``, else a kind
            default such as ``locationID``) when present. Detections and alerts without label attributes are
            labelled with a translated expression on ``type``.

    Raises:
        DataError: unknown kind, language or geometry type.
    """
    spec = _vector_spec(kind, fields, language)
    family = _geometry_family(geometry)
    root = _qgis_root(labels=spec.label is not None, categories="Symbology|Labeling|Rendering")
    _qml_renderer(root, spec.attr, spec.classes, family, language)
    if spec.label is not None:
        _qml_labeling(root, spec.label, spec.label_is_expression, family)
    _qml_tail(root)
    return _serialise_qml(root)


# --------------------------------------------------------------------------------------------------------- SLD parts
def _sld_root(name: str, *, coverage: bool) -> tuple[ET.Element, ET.Element]:
    root = ET.Element(
        f"{{{_SLD}}}StyledLayerDescriptor",
        {
            "version": "1.1.0",
            f"{{{_XSI}}}schemaLocation": f"{_SLD} http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
        },
    )
    layer = _sub(root, f"{{{_SLD}}}NamedLayer")
    _sub(layer, f"{{{_SE}}}Name", text=name)
    style = _sub(layer, f"{{{_SLD}}}UserStyle")
    _sub(style, f"{{{_SE}}}Name", text=name)
    return root, _sub(style, f"{{{_SE}}}CoverageStyle" if coverage else f"{{{_SE}}}FeatureTypeStyle")


def _svg(parent: ET.Element, name: str, value: str) -> None:
    _sub(parent, f"{{{_SE}}}SvgParameter", {"name": name}, value)


def _sld_stroke(parent: ET.Element, colour: str, width_mm: float, dash: bool) -> None:
    stroke = _sub(parent, f"{{{_SE}}}Stroke")
    _svg(stroke, "stroke", colour)
    _svg(stroke, "stroke-width", _num(round(width_mm * 3.78, 2)))  # mm -> pixels at 96 dpi
    if dash:
        _svg(stroke, "stroke-dasharray", "6 3")


def _sld_symbolizer(rule: ET.Element, sym: _Sym, family: str) -> None:
    if family == "Polygon":
        poly = _sub(rule, f"{{{_SE}}}PolygonSymbolizer")
        if sym.fill:
            fill = _sub(poly, f"{{{_SE}}}Fill")
            _svg(fill, "fill", sym.color)
            _svg(fill, "fill-opacity", _num(round(sym.alpha / 255, 3)))
        _sld_stroke(poly, sym.outline, sym.width, sym.dash)
    elif family == "Line":
        _sld_stroke(
            _sub(rule, f"{{{_SE}}}LineSymbolizer"),
            sym.color if sym.fill else sym.outline,
            max(sym.width, 0.5),
            sym.dash,
        )
    else:
        graphic = _sub(_sub(rule, f"{{{_SE}}}PointSymbolizer"), f"{{{_SE}}}Graphic")
        mark = _sub(graphic, f"{{{_SE}}}Mark")
        _sub(mark, f"{{{_SE}}}WellKnownName", text={"diamond": "square"}.get(sym.marker, sym.marker))
        _svg(_sub(mark, f"{{{_SE}}}Fill"), "fill", sym.color)
        _sld_stroke(mark, sym.outline, sym.width, False)
        _sub(graphic, f"{{{_SE}}}Size", text=_num(round(sym.size * 3.78, 1)))


def _prop(parent: ET.Element, op: str, field: str, value: str) -> None:
    cmp = _sub(parent, f"{{{_OGC}}}{op}")
    _sub(cmp, f"{{{_OGC}}}PropertyName", text=field)
    _sub(cmp, f"{{{_OGC}}}Literal", text=value)


def _sld_filter(rule: ET.Element, attr: str, cls: _Class, first: bool) -> None:
    flt = _sub(rule, f"{{{_OGC}}}Filter")
    if isinstance(cls.value, tuple):  # as QGIS: the first range with lower <= v <= upper wins
        both = _sub(flt, f"{{{_OGC}}}And")
        _prop(both, "PropertyIsGreaterThanOrEqualTo" if first else "PropertyIsGreaterThan", attr, _num(cls.value[0]))
        _prop(both, "PropertyIsLessThanOrEqualTo", attr, _num(cls.value[1]))
    else:
        _prop(flt, "PropertyIsEqualTo", attr, cls.value)


def _sld_text(fts: ET.Element, spec: _VectorSpec, family: str) -> None:
    rule = _sub(fts, f"{{{_SE}}}Rule")
    _sub(rule, f"{{{_SE}}}Name", text="labels")
    text = _sub(rule, f"{{{_SE}}}TextSymbolizer")
    label = _sub(text, f"{{{_SE}}}Label")
    if spec.recode is not None:
        field, mapping = spec.recode
        recode = _sub(label, f"{{{_SE}}}Recode", {"fallbackValue": ""})
        _sub(_sub(recode, f"{{{_SE}}}LookupValue"), f"{{{_OGC}}}PropertyName", text=field)
        for value, shown in mapping.items():
            item = _sub(recode, f"{{{_SE}}}MapItem")
            _sub(item, f"{{{_SE}}}Data", text=value)
            _sub(item, f"{{{_SE}}}Value", text=shown)
    else:
        _sub(label, f"{{{_OGC}}}PropertyName", text=spec.label)
    font = _sub(text, f"{{{_SE}}}Font")
    _svg(font, "font-family", "Sans-Serif")
    _svg(font, "font-size", "12")
    placement = _sub(text, f"{{{_SE}}}LabelPlacement")
    if family == "Line":
        _sub(placement, f"{{{_SE}}}LinePlacement")
    else:
        _sub(placement, f"{{{_SE}}}PointPlacement")
    halo = _sub(text, f"{{{_SE}}}Halo")
    _sub(halo, f"{{{_SE}}}Radius", text="2")
    _svg(_sub(halo, f"{{{_SE}}}Fill"), "fill", "#ffffff")
    _svg(_sub(text, f"{{{_SE}}}Fill"), "fill", "#282828")


def vector_sld(
    kind: str, *, geometry: str, language: str = "en", fields: Collection[str] | None = None, name: str | None = None
) -> str:
    """OGC SLD 1.1 (Symbology Encoding 1.1) equivalent of :func:`vector_qml`; ``name`` names the layer (default kind).

    Raises:
        DataError: unknown kind, language or geometry type.
    """
    spec = _vector_spec(kind, fields, language)
    family = _geometry_family(geometry)
    root, fts = _sld_root(name or kind, coverage=False)
    for i, cls in enumerate(spec.classes):
        rule = _sub(fts, f"{{{_SE}}}Rule")
        _sub(rule, f"{{{_SE}}}Name", text=str(cls.value) if not isinstance(cls.value, tuple) else f"class{i}")
        _sub(_sub(rule, f"{{{_SE}}}Description"), f"{{{_SE}}}Title", text=_text(cls.label, language))
        if spec.attr is not None:
            _sld_filter(rule, spec.attr, cls, i == 0)
        _sld_symbolizer(rule, cls.sym, family)
    if spec.label is not None:
        _sld_text(fts, spec, family)
    return _serialise_sld(root)


def vector_style(
    kind: str, *, geometry: str, language: str = "en", fields: Collection[str] | None = None, name: str | None = None
) -> tuple[str, str]:
    """``(qml, sld)`` for a vector layer: the pair :func:`skywatch.outputs.layer_styles.write_layer_styles` takes.

    Raises:
        DataError: unknown kind, language or geometry type.
    """
    return (
        vector_qml(kind, geometry=geometry, language=language, fields=fields),
        vector_sld(kind, geometry=geometry, language=language, fields=fields, name=name),
    )


# ----------------------------------------------------------------------------------------------------------- rasters
@dataclass(frozen=True)
class _RasterSpec:
    paletted: bool
    stops: tuple[tuple[float, str, int, str], ...]  # value, colour, alpha, label
    vmin: float
    vmax: float
    opacity: float


def _raster_spec(kind: str, *, vmin: float | None, vmax: float | None, language: str, change_type: str) -> _RasterSpec:
    _check_language(language)
    if kind == "fire_classes":
        stops = [(0.0, "#000000", 0, _text(_NODATA, language))]
        stops += [(float(v), c, a, _text(t, language)) for v, c, a, t in _FIRE_PALETTE]
        return _RasterSpec(True, tuple(stops), 0.0, 6.0, 1.0)
    if kind == "change_classes":
        if change_type not in LABELS:
            raise DataError(f"change_type {change_type!r} is not a detection type; use one of {sorted(LABELS)}")
        colour = _TYPE_SYMBOLS[change_type].color
        stops = [
            (0.0, "#000000", 0, _text(_NODATA, language)),
            (1.0, "#ffffff", 0, _text(_NO_CHANGE, language)),
            (2.0, colour, 255, _text(LABELS[change_type], language)),
        ]
        if change_type == "burn_scar":  # `skywatch detect fire` / `skywatch run`: 2 burn scar, 3 active fire
            front = _TYPE_SYMBOLS["fire_active"].color
            stops.append((3.0, front, 255, _text(LABELS["fire_active"], language)))
            return _RasterSpec(True, tuple(stops), 0.0, 3.0, 1.0)
        return _RasterSpec(True, tuple(stops), 0.0, 2.0, 1.0)
    if kind not in _RAMPS:
        raise DataError(f"unknown raster style kind {kind!r}; known: {list(RASTER_KINDS)}")
    lo = 0.0 if vmin is None else float(vmin)
    hi = (1.0 if kind == "risk" else math.nan) if vmax is None else float(vmax)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise DataError(f"{kind} ramp needs finite vmin and vmax (got {vmin!r}, {vmax!r}); pass the layer's range")
    if hi <= lo:  # a constant or empty surface: a ramp of width one keeps QGIS happy
        hi = lo + 1.0
    colours = _RAMPS[kind]
    unit = _RAMP_UNITS[kind][language]
    out = []
    for i, colour in enumerate(colours):
        value = lo + (hi - lo) * i / (len(colours) - 1)
        label = f"{value:.3g} {unit}" if i in (0, len(colours) - 1) else f"{value:.3g}"
        out.append((value, colour, 0 if i == 0 else 230, label))
    return _RasterSpec(False, tuple(out), lo, hi, 0.85)


def raster_qml(
    kind: str,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    language: str = "en",
    change_type: str = "clearcut",
) -> str:
    """QGIS 3.22 QML for a single-band raster of ``kind`` (write it beside the COG with :func:`write_qml_sidecar`).

    Args:
        kind: ``fire_classes`` (paletted: 0 nodata and 1 unburned transparent, 2-5 Key & Benson dNBR severity low
            to high, 6 active fire), ``change_classes`` (paletted: 0 nodata, 1 no change transparent, 2 detected),
            ``presence`` (events per 100 trap-days), ``density`` (animals per km²) or ``risk`` (0-1): pseudocolour
            ramps from ``vmin`` (transparent) to ``vmax``.
        vmin: Ramp minimum (default 0).
        vmax: Ramp maximum; required for presence and density (default 1 for risk).
        language: ``en``, ``ru`` or ``zh`` for legend text.
        change_type: For ``change_classes``: which detection class 2 is (``clearcut``, ``road`` ...): colour and label.

    Raises:
        DataError: unknown kind or language, or a ramp without a finite range.
    """
    spec = _raster_spec(kind, vmin=vmin, vmax=vmax, language=language, change_type=change_type)
    root = _qgis_root(labels=False, categories="Symbology|Rendering")
    pipe = _sub(root, "pipe")
    provider = _sub(pipe, "provider")
    _sub(provider, "resampling", {"enabled": "false", "maxOversampling": "2"})
    common = {"band": "1", "opacity": _num(spec.opacity), "alphaBand": "-1", "nodataColor": ""}
    if spec.paletted:
        renderer = _sub(pipe, "rasterrenderer", {"type": "paletted", **common})
    else:
        bounds = {"classificationMin": _num(spec.vmin), "classificationMax": _num(spec.vmax)}
        renderer = _sub(pipe, "rasterrenderer", {"type": "singlebandpseudocolor", **common, **bounds})
    _sub(renderer, "rasterTransparency")
    origin = _sub(renderer, "minMaxOrigin")
    for tag, setting in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated")):
        _sub(origin, tag, text=setting)
    if spec.paletted:
        palette = _sub(renderer, "colorPalette")
        for value, colour, alpha, label in spec.stops:
            entry = {"value": _num(value), "color": colour, "alpha": str(alpha), "label": label}
            _sub(palette, "paletteEntry", entry)
    else:
        shader = _sub(
            _sub(renderer, "rastershader"),
            "colorrampshader",
            {
                "colorRampType": "INTERPOLATED",
                "classificationMode": "1",
                "clip": "0",
                "minimumValue": _num(spec.vmin),
                "maximumValue": _num(spec.vmax),
                "labelPrecision": "3",
            },
        )
        for value, colour, alpha, label in spec.stops:
            _sub(shader, "item", {"value": _num(value), "color": colour, "alpha": str(alpha), "label": label})
    _sub(pipe, "brightnesscontrast", {"brightness": "0", "contrast": "0", "gamma": "1"})
    _sub(pipe, "huesaturation", {"saturation": "0", "grayscaleMode": "0", "invertColors": "0", "colorizeOn": "0"})
    _sub(pipe, "rasterresampler", {"maxOversampling": "2"})
    _sub(pipe, "resamplingStage", text="resamplingFilter")
    _sub(root, "blendMode", text="0")
    return _serialise_qml(root)


def raster_sld(
    kind: str,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    language: str = "en",
    change_type: str = "clearcut",
    name: str | None = None,
) -> str:
    """SLD 1.1 (SE ``RasterSymbolizer``) equivalent of :func:`raster_qml`: ``Categorize`` for class rasters,
    ``Interpolate`` for ramps. SE colours carry no alpha: transparent classes are written white.

    Raises:
        DataError: unknown kind or language, or a ramp without a finite range.
    """
    spec = _raster_spec(kind, vmin=vmin, vmax=vmax, language=language, change_type=change_type)
    root, style = _sld_root(name or kind, coverage=True)
    rule = _sub(style, f"{{{_SE}}}Rule")
    _sub(rule, f"{{{_SE}}}Name", text=kind)
    symbolizer = _sub(rule, f"{{{_SE}}}RasterSymbolizer")
    _sub(symbolizer, f"{{{_SE}}}Opacity", text=_num(spec.opacity))
    colour_map = _sub(symbolizer, f"{{{_SE}}}ColorMap")

    def shown(colour: str, alpha: int) -> str:
        return colour if alpha else "#ffffff"

    if spec.paletted:
        fn = _sub(colour_map, f"{{{_SE}}}Categorize", {"fallbackValue": "#ffffff", "threshholdsBelongTo": "succeeding"})
        _sub(fn, f"{{{_SE}}}LookupValue", text="Rasterdata")
        _sub(fn, f"{{{_SE}}}Value", text="#ffffff")  # below the first class
        for value, colour, alpha, _label in spec.stops:
            _sub(fn, f"{{{_SE}}}Threshold", text=_num(value))
            _sub(fn, f"{{{_SE}}}Value", text=shown(colour, alpha))
    else:
        fn = _sub(
            colour_map, f"{{{_SE}}}Interpolate", {"fallbackValue": "#ffffff", "mode": "linear", "method": "color"}
        )
        _sub(fn, f"{{{_SE}}}LookupValue", text="Rasterdata")
        for value, colour, alpha, _label in spec.stops:
            point = _sub(fn, f"{{{_SE}}}InterpolationPoint")
            _sub(point, f"{{{_SE}}}Data", text=_num(value))
            _sub(point, f"{{{_SE}}}Value", text=shown(colour, alpha))
    return _serialise_sld(root)


def write_qml_sidecar(tif_path: Path, qml: str, *, overwrite: bool = True) -> Path:
    """Write ``qml`` as ``<name>.qml`` beside ``tif_path`` (QGIS applies it when the raster is loaded); atomic.

    Raises:
        OutputError: the sidecar exists without ``overwrite`` or cannot be written.
    """
    sidecar = tif_path.with_suffix(".qml")
    with atomic_path(sidecar, overwrite=overwrite) as tmp:
        tmp.write_text(qml, encoding="utf-8")
    return sidecar
