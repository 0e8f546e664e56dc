"""Common Alerting Protocol (CAP 1.2) XML for the alert FeatureCollection, validated against the official XSD.

One ``<alert>`` document per feature of the collection that :func:`~skywatch.outputs.alerts.alerts_feature_collection`
makes, so a fire team's CAP aggregator or phone app can take skywatch alerts beside weather warnings.

What each document holds:

- ``identifier`` is the feature's stable ``id``; ``msgType`` Alert; ``scope`` Public; ``sent`` is one time for the
  whole run. Times are written with a numeric offset, UTC as ``-00:00`` (CAP 1.2 forbids ``Z``).
- One ``<info>`` per language (``en``, ``ru``, ``zh``): ``category`` Fire (fire_active, burn_scar) or Env (clearcut,
  road); ``event`` the type's label in that language; ``onset`` and ``effective`` the detection time; a headline, a
  description with the figures (area or length, dNBR severity, confidence, centre, exposure and nearby
  animals/stations when the feature has them), ``parameter`` pairs for machines (``skywatch:id``,
  ``skywatch:confidence_pct``, ``skywatch:area_ha``, ``skywatch:source_scenes``, ``skywatch:method``, ...) and one
  ``<area>``.
- Urgency, severity and certainty (see :data:`CAP_MAPPING`; certainty follows the confidence percentage):

  ============  =========  ====================================  =============================================
  type          urgency    severity                              certainty
  ============  =========  ====================================  =============================================
  fire_active   Immediate  Severe                                Observed >= 80 %, Likely >= 50 %, else Possible
  burn_scar     Past       Moderate (dNBR moderate-high, high),  Observed >= 80 %, Likely >= 50 %, else Possible
                           else Minor
  clearcut      Unknown    Minor                                 Likely >= 80 %, else Possible
  road          Unknown    Minor                                 Likely >= 80 %, else Possible
  ============  =========  ====================================  =============================================

  Fires and burn scars are seen directly by the satellite, so high confidence means "Observed"; clear-cuts and
  roads are inferred from a change between two scenes (the cause is not seen), so they stop at "Likely". A burn
  scar is past; whether logging or road building goes on is unknown from two scenes.
- ``<area>``: CAP polygons are ``"lat,lon"`` pairs (latitude first, the reverse of GeoJSON), closed, at least
  4 pairs, WGS 84. A Polygon gives its exterior ring (CAP has no holes; holes are dropped, so the area is a
  little larger than the detection); a MultiPolygon one ``<polygon>`` per part; a LineString (a road centreline)
  a polygon of the line buffered by ``road_buffer_m`` on each side in its UTM zone, which keeps the road's shape
  where a circle around a long road would cover far too much forest; a Point a ``<circle>`` ``"lat,lon r_km"``
  whose area equals ``area_ha`` (at least :data:`MIN_CIRCLE_KM`).
- Synthetic features (``synthetic: true``, the demo's) are never "Actual": their status becomes Exercise and the
  alert carries the note ``SYNTHETIC``; the headline says so in every language.

:func:`validate_cap` checks a document against the vendored OASIS XSD (``schemas/CAP-v1.2.xsd``) and the rules
the XSD leaves to the specification's prose (polygon and circle syntax, identifier and sender characters).
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from skywatch.errors import DataError, DependencyError, OutputError
from skywatch.fuse.incidents import LABELS
from skywatch.geometry import reproject
from skywatch.outputs.atomic import atomic_dir

__all__ = [
    "CAP_MAPPING",
    "CAP_NS",
    "LANGUAGES",
    "MIN_CIRCLE_KM",
    "CapMapping",
    "CapValidationError",
    "cap_alerts",
    "cap_datetime",
    "validate_cap",
    "write_cap",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
LANGUAGES: tuple[str, ...] = ("en", "ru", "zh")
MIN_CIRCLE_KM = 0.1
_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
# CAP forbids spaces, commas, "<" and "&" in identifier and sender; the identifier is also a file name here.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SENDER = re.compile(r"[^\s,<&]+")


class CapValidationError(OutputError):
    """A CAP document is not valid CAP 1.2 (XSD or specification rule); the message names the first problem."""


@dataclass(frozen=True, kw_only=True)
class CapMapping:
    """How one alert type becomes CAP's category, urgency, severity and certainty.

    Attributes:
        category: CAP ``category``.
        urgency: CAP ``urgency``.
        severity: CAP ``severity`` (burn scars: see ``severe_dnbr``).
        observed: True when the satellite sees the event itself (certainty may reach "Observed"); False when it is
            inferred from a change (certainty stops at "Likely").
        response: CAP ``responseType``.
        severe_dnbr: dNBR classes that raise a burn scar's severity to Moderate (others are Minor).
    """

    category: str
    urgency: str
    severity: str
    observed: bool
    response: str
    severe_dnbr: frozenset[str] = frozenset()

    def certainty(self, confidence_pct: float) -> str:
        """CAP ``certainty`` for a confidence percentage (80 and 50 are the high/nominal bounds of incidents)."""
        if confidence_pct >= 80:
            return "Observed" if self.observed else "Likely"
        if confidence_pct >= 50 and self.observed:
            return "Likely"
        return "Possible"

    def severity_for(self, dnbr_class: str | None) -> str:
        """CAP ``severity``, raised to Moderate for the dNBR classes in ``severe_dnbr``."""
        if self.severe_dnbr:
            return "Moderate" if dnbr_class in self.severe_dnbr else "Minor"
        return self.severity


CAP_MAPPING: Mapping[str, CapMapping] = {
    "fire_active": CapMapping(
        category="Fire", urgency="Immediate", severity="Severe", observed=True, response="Assess"
    ),
    "burn_scar": CapMapping(
        category="Fire",
        urgency="Past",
        severity="Minor",
        observed=True,
        response="Monitor",
        severe_dnbr=frozenset({"moderate-high", "high"}),
    ),
    "clearcut": CapMapping(category="Env", urgency="Unknown", severity="Minor", observed=False, response="Assess"),
    "road": CapMapping(category="Env", urgency="Unknown", severity="Minor", observed=False, response="Assess"),
}

# Sentences of headline, description and areaDesc, per language. {label} is the type's label in that language.
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "headline": "{synthetic}{label}: {size}, {when} UTC",
        "synthetic_tag": "[SYNTHETIC] ",
        "detected": "{label} detected by {satellite} on {when} UTC (scenes: {scenes}).",
        "area": "Area: {v} ha.",
        "length": "Length: {v} km.",
        "severity": "Burn severity (dNBR): {v}.",
        "confidence": "Confidence: {v} ({pct} %).",
        "centre": "Centre: {lat}, {lon}.",
        "exposure": "Exposure of leopards and tigers: {v}.",
        "score": "score {v}",
        "rank": "rank {v}",
        "nearby": "Nearby: {v}.",
        "individuals": "{v} individual(s)",
        "stations": "{v} camera station(s)",
        "method": "Method: {v}.",
        "synthetic": "SYNTHETIC: generated test data, not a real event.",
        "area_desc": "{label} near {lat}, {lon}",
        "ha": "{v} ha",
        "km": "{v} km",
        "N": "{v} N",
        "S": "{v} S",
        "E": "{v} E",
        "W": "{v} W",
    },
    "ru": {
        "headline": "{synthetic}{label}: {size}, {when} UTC",
        "synthetic_tag": "[СИНТЕТИЧЕСКИЕ ДАННЫЕ] ",
        "detected": "{label}: обнаружено по снимку {satellite} {when} UTC (сцены: {scenes}).",
        "area": "Площадь: {v} га.",
        "length": "Длина: {v} км.",
        "severity": "Степень повреждения огнём (dNBR): {v}.",
        "confidence": "Достоверность: {v} ({pct} %).",
        "centre": "Центр: {lat}, {lon}.",
        "exposure": "Воздействие на леопардов и тигров: {v}.",
        "score": "индекс {v}",
        "rank": "ранг {v}",
        "nearby": "Рядом: {v}.",
        "individuals": "особей: {v}",
        "stations": "фотоловушек: {v}",
        "method": "Метод: {v}.",
        "synthetic": "СИНТЕТИЧЕСКИЕ ДАННЫЕ: тестовый пример, не реальное событие.",
        "area_desc": "{label}: район {lat}, {lon}",
        "ha": "{v} га",
        "km": "{v} км",
        "N": "{v} с. ш.",
        "S": "{v} ю. ш.",
        "E": "{v} в. д.",
        "W": "{v} з. д.",
    },
    "zh": {
        "headline": "{synthetic}{label}：{size}，{when} UTC",
        "synthetic_tag": "[合成数据] ",
        "detected": "{label}：{satellite} 影像于 {when} UTC 发现（景：{scenes}）。",
        "area": "面积：{v} 公顷。",
        "length": "长度：{v} 公里。",
        "severity": "火烧严重程度（dNBR）：{v}。",
        "confidence": "置信度：{v}（{pct}%）。",
        "centre": "中心：{lat}，{lon}。",
        "exposure": "对豹和虎的暴露：{v}。",
        "score": "得分 {v}",
        "rank": "排名 {v}",
        "nearby": "附近：{v}。",
        "individuals": "个体 {v} 只",
        "stations": "红外相机站 {v} 个",
        "method": "方法：{v}。",
        "synthetic": "合成数据：测试示例，并非真实事件。",
        "area_desc": "{label}：{lat}，{lon} 附近",
        "ha": "{v} 公顷",
        "km": "{v} 公里",
        "N": "北纬 {v}",
        "S": "南纬 {v}",
        "E": "东经 {v}",
        "W": "西经 {v}",
    },
}
_CONFIDENCE_WORDS: dict[str, dict[str, str]] = {
    "en": {"low": "low", "nominal": "nominal", "high": "high"},
    "ru": {"low": "низкая", "nominal": "средняя", "high": "высокая"},
    "zh": {"low": "低", "nominal": "中", "high": "高"},
}
_SEVERITY_WORDS: dict[str, dict[str, str]] = {
    "ru": {
        "enhanced regrowth (high)": "усиленное восстановление (сильное)",
        "enhanced regrowth (low)": "усиленное восстановление (слабое)",
        "unburned": "не затронуто огнём",
        "low": "низкая",
        "moderate-low": "умеренно-низкая",
        "moderate-high": "умеренно-высокая",
        "high": "высокая",
    },
    "zh": {
        "enhanced regrowth (high)": "增强再生（高）",
        "enhanced regrowth (low)": "增强再生（低）",
        "unburned": "未过火",
        "low": "低",
        "moderate-low": "中低",
        "moderate-high": "中高",
        "high": "高",
    },
}


def cap_datetime(value: datetime) -> str:
    """``value`` as a CAP 1.2 time: seconds precision, numeric offset, UTC written ``-00:00`` (never ``Z``).

    Raises:
        DataError: ``value`` has no time zone (it would be ambiguous).
    """
    offset = value.utcoffset()
    if offset is None:
        raise DataError(f"time {value.isoformat()!r} has no time zone; pass an aware datetime (e.g. tzinfo=UTC)")
    if offset.total_seconds() % 60:
        value, offset = value.astimezone(UTC), timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes <= 0 else "+"  # CAP 1.2 3.3.2: UTC is "-00:00"
    hours, mins = divmod(abs(minutes), 60)
    return f"{value.replace(microsecond=0, tzinfo=None).isoformat()}{sign}{hours:02d}:{mins:02d}"


def _num(value: float, digits: int = 6) -> str:
    """A short decimal (no exponent, no trailing zeros)."""
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pair(lon: float, lat: float) -> str:
    return f"{_num(lat)},{_num(lon)}"


def _utm_epsg(lon: float, lat: float) -> int:
    zone = min(max(int((lon + 180) // 6) + 1, 1), 60)
    return (32600 if lat >= 0 else 32700) + zone


def _circle(point: BaseGeometry, area_ha: float | None) -> str:
    radius = math.sqrt(max(area_ha or 0.0, 0.0) * 10_000 / math.pi) / 1000
    return f"{_pair(point.x, point.y)} {_num(max(radius, MIN_CIRCLE_KM), 3)}"


def _ring(coords: Sequence[Sequence[float]]) -> str | None:
    """A closed ``lat,lon`` ring from GeoJSON ``[lon, lat]`` positions, or None if fewer than 3 distinct vertices."""
    pairs: list[str] = []
    for pos in coords:
        pair = _pair(float(pos[0]), float(pos[1]))
        if not pairs or pair != pairs[-1]:
            pairs.append(pair)
    if pairs and pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    return " ".join(pairs) if len(pairs) >= 4 else None


def _cap_area(geom: BaseGeometry, props: Mapping[str, Any], road_buffer_m: float) -> tuple[list[str], list[str]]:
    """(polygons, circles) of a WGS 84 geometry, per the rules in the module docstring."""
    polygons: list[str] = []
    circles: list[str] = []
    area_ha = props.get("area_ha")
    kind = geom.geom_type
    if kind in {"LineString", "MultiLineString", "LinearRing"}:
        centre = geom.centroid
        epsg = _utm_epsg(centre.x, centre.y)
        buffered = reproject(geom, 4326, epsg).buffer(road_buffer_m, quad_segs=4)
        geom = reproject(buffered.simplify(road_buffer_m / 10), epsg, 4326)
        kind = geom.geom_type
    if kind == "Polygon":
        parts: list[BaseGeometry] = [geom]
    elif kind == "MultiPolygon":
        parts = list(geom.geoms)
    elif kind in {"Point", "MultiPoint"}:
        for pt in getattr(geom, "geoms", [geom]):
            if not pt.is_empty:
                circles.append(_circle(pt, area_ha if kind == "Point" else None))
        return polygons, circles
    elif kind == "GeometryCollection":
        for sub in geom.geoms:
            more_p, more_c = _cap_area(sub, props, road_buffer_m)
            polygons += more_p
            circles += more_c
        return polygons, circles
    else:
        raise DataError(f"alert {props.get('id')!r} has geometry type {kind!r}, which CAP cannot describe")
    for part in parts:
        if part.is_empty:
            continue
        ring = _ring(list(orient(part, sign=1.0).exterior.coords))
        if ring is None:  # degenerate sliver: a circle at its centre keeps the alert locatable
            circles.append(_circle(part.centroid, area_ha))
        else:
            polygons.append(ring)
    return polygons, circles


def _detected_at(props: Mapping[str, Any]) -> datetime:
    """The detection time; skywatch and FIRMS times are UTC, so a time without zone is read as UTC."""
    text = props.get("detected_at")
    if not text and props.get("acq_date"):
        hhmm = str(props.get("acq_time") or "0000")
        text = f"{props['acq_date']}T{hhmm[:2]}:{hhmm[2:4]}:00"
    if not text:
        raise DataError(f"alert {props.get('id')!r} has neither detected_at nor acq_date; cannot date the CAP alert")
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise DataError(f"alert {props.get('id')!r}: detected_at {text!r} is not an ISO 8601 time") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _lat_lon_words(lang: str, lat: float, lon: float, digits: int = 6) -> tuple[str, str]:
    words = _TEXT[lang]
    return (
        words["N" if lat >= 0 else "S"].format(v=_num(abs(lat), digits)),
        words["E" if lon >= 0 else "W"].format(v=_num(abs(lon), digits)),
    )


def _exposure_text(lang: str, props: Mapping[str, Any]) -> str | None:
    words = _TEXT[lang]
    exposure = props.get("exposure")
    if isinstance(exposure, Mapping) and exposure.get("known") is False:
        return None  # no presence data around this alert: a score would mislead
    score = exposure.get("score") if isinstance(exposure, Mapping) else exposure
    rank = exposure.get("rank") if isinstance(exposure, Mapping) else None
    score = props.get("exposure_score", score)
    rank = props.get("exposure_rank", rank)
    bits = []
    if isinstance(score, int | float):
        bits.append(words["score"].format(v=_num(float(score), 3)))
    if isinstance(rank, int | float):
        bits.append(words["rank"].format(v=_num(float(rank), 0)))
    return words["exposure"].format(v=", ".join(bits)) if bits else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple):
        return len(value)
    return None


def _label(kind: str, lang: str, props: Mapping[str, Any]) -> str:
    return str(props.get(f"label_{lang}") or LABELS.get(kind, {}).get(lang) or kind)


def _texts(lang: str, kind: str, props: Mapping[str, Any], when: datetime, synthetic: bool) -> dict[str, str]:
    """headline, description and areaDesc of one feature in one language."""
    words = _TEXT[lang]
    label = _label(kind, lang, props)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    length, area = props.get("length_km"), props.get("area_ha")
    if kind == "road" and isinstance(length, int | float):
        size = words["km"].format(v=_num(float(length), 2))
    elif isinstance(area, int | float):
        size = words["ha"].format(v=_num(float(area), 2))
    else:
        size = "?"
    lines = [
        words["detected"].format(
            label=label,
            satellite=props.get("satellite") or "?",
            when=stamp,
            scenes=", ".join(str(s) for s in props.get("source_scenes") or []) or "?",
        )
    ]
    if isinstance(area, int | float):
        lines.append(words["area"].format(v=_num(float(area), 2)))
    if isinstance(length, int | float):
        lines.append(words["length"].format(v=_num(float(length), 3)))
    if props.get("severity"):
        sev = str(props["severity"])
        lines.append(words["severity"].format(v=_SEVERITY_WORDS.get(lang, {}).get(sev, sev)))
    if props.get("confidence") is not None or props.get("confidence_pct") is not None:
        conf = str(props.get("confidence") or "?")
        lines.append(
            words["confidence"].format(
                v=_CONFIDENCE_WORDS[lang].get(conf, conf), pct=_num(float(props.get("confidence_pct") or 0), 0)
            )
        )
    lat, lon = props.get("latitude"), props.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        lat_t, lon_t = _lat_lon_words(lang, float(lat), float(lon))
        lines.append(words["centre"].format(lat=lat_t, lon=lon_t))
        lat_s, lon_s = _lat_lon_words(lang, float(lat), float(lon), 4)
        area_desc = words["area_desc"].format(label=label, lat=lat_s, lon=lon_s)
    else:
        area_desc = label
    exposure = _exposure_text(lang, props)
    if exposure:
        lines.append(exposure)
    nearby = [
        words[key].format(v=n)
        for key in ("individuals", "stations")
        if (n := _count(props.get(f"{key}_nearby"))) is not None
    ]
    if nearby:
        lines.append(words["nearby"].format(v=", ".join(nearby)))
    if props.get("method"):
        lines.append(words["method"].format(v=props["method"]))
    if synthetic:
        lines.append(words["synthetic"])
    headline = words["headline"].format(
        synthetic=words["synthetic_tag"] if synthetic else "", label=label, size=size, when=stamp
    )
    return {"headline": headline, "description": "\n".join(lines), "area_desc": area_desc}


def _parameters(kind: str, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``skywatch:*`` name/value pairs for machines (values as in the GeoJSON, lists space-separated)."""
    out = [("skywatch:id", str(props["id"])), ("skywatch:type", kind)]
    for key in (
        "confidence",
        "confidence_pct",
        "area_ha",
        "length_km",
        "severity",
        "acq_date",
        "acq_time",
        "satellite",
        "latitude",
        "longitude",
        "method",
        "sha256",
    ):
        value = props.get(key)
        if value is not None and value != "":
            out.append((f"skywatch:{key}", _num(value) if isinstance(value, float) else str(value)))
    scenes = props.get("source_scenes")
    if scenes:
        out.append(("skywatch:source_scenes", " ".join(str(s) for s in scenes)))
    if props.get("synthetic"):
        out.append(("skywatch:synthetic", "true"))
    return out


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _alert(
    feature: Mapping[str, Any],
    *,
    sender: str,
    sent: str,
    status: str,
    languages: Sequence[str],
    web: str | None,
    road_buffer_m: float,
) -> tuple[str, bytes]:
    props: Mapping[str, Any] = feature.get("properties") or {}
    ident = str(props.get("id") or feature.get("id") or "")
    if not _IDENTIFIER.fullmatch(ident):
        raise DataError(
            f"alert id {ident!r} cannot be a CAP identifier (file name): use letters, digits, '.', '_' and '-' only"
        )
    kind = str(props.get("type") or "")
    mapping = CAP_MAPPING.get(kind)
    if mapping is None:
        raise DataError(f"alert {ident!r} has type {kind!r}; CAP export knows {sorted(CAP_MAPPING)}")
    props = {**props, "id": ident}
    when = _detected_at(props)
    geometry = feature.get("geometry")
    if geometry:
        try:
            geom = shape(geometry)
        except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            raise DataError(f"alert {ident!r} has an unreadable geometry: {exc}") from exc
    elif isinstance(props.get("latitude"), int | float) and isinstance(props.get("longitude"), int | float):
        geom = shapely.Point(float(props["longitude"]), float(props["latitude"]))
    else:
        raise DataError(f"alert {ident!r} has no geometry and no latitude/longitude; CAP needs an area")
    if geom.is_empty:
        raise DataError(f"alert {ident!r} has an empty geometry; CAP needs an area")
    if not (isinstance(props.get("latitude"), int | float) and isinstance(props.get("longitude"), int | float)):
        centre = geom.centroid
        props = {**props, "latitude": round(centre.y, 6), "longitude": round(centre.x, 6)}
    polygons, circles = _cap_area(geom, props, road_buffer_m)
    synthetic = bool(props.get("synthetic"))
    confidence_pct = float(props.get("confidence_pct") or 0)

    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", ident)
    _sub(root, "sender", sender)
    _sub(root, "sent", sent)
    _sub(root, "status", "Exercise" if synthetic and status == "Actual" else status)
    _sub(root, "msgType", "Alert")
    _sub(root, "source", f"skywatch {props.get('method') or ''}".strip())
    _sub(root, "scope", "Public")
    if synthetic:
        _sub(root, "note", "SYNTHETIC: generated test data (skywatch demo), not a real event")
    onset = cap_datetime(when)
    for lang in languages:
        texts = _texts(lang, kind, props, when, synthetic)
        info = _sub(root, "info")
        _sub(info, "language", lang)
        _sub(info, "category", mapping.category)
        _sub(info, "event", _label(kind, lang, props))
        _sub(info, "responseType", mapping.response)
        _sub(info, "urgency", mapping.urgency)
        _sub(info, "severity", mapping.severity_for(props.get("severity")))
        _sub(info, "certainty", mapping.certainty(confidence_pct))
        code = _sub(info, "eventCode")
        _sub(code, "valueName", "skywatch:type")
        _sub(code, "value", kind)
        _sub(info, "effective", onset)
        _sub(info, "onset", onset)
        _sub(info, "senderName", "skywatch")
        _sub(info, "headline", texts["headline"])
        _sub(info, "description", texts["description"])
        if web:
            _sub(info, "web", web)
        for name, value in _parameters(kind, props):
            param = _sub(info, "parameter")
            _sub(param, "valueName", name)
            _sub(param, "value", value)
        area = _sub(info, "area")
        _sub(area, "areaDesc", texts["area_desc"])
        for ring in polygons:
            _sub(area, "polygon", ring)
        for circle in circles:
            _sub(area, "circle", circle)
    ET.indent(root, space=" ")
    return ident, ET.tostring(root, encoding="UTF-8", xml_declaration=True, default_namespace=CAP_NS) + b"\n"


def _iter_alerts(
    collection: Mapping[str, Any],
    *,
    sender: str,
    sent: datetime | None,
    status: str,
    languages: Sequence[str],
    web: str | None,
    road_buffer_m: float,
) -> Iterator[tuple[str, bytes]]:
    """Check the arguments at once, then yield one ``(identifier, xml)`` per feature."""
    if not isinstance(collection, Mapping) or collection.get("type") != "FeatureCollection":
        raise DataError("CAP export needs a GeoJSON FeatureCollection (the alerts.geojson skywatch writes)")
    if not _SENDER.fullmatch(sender):
        raise DataError(f"sender {sender!r} must be non-empty without spaces, commas, '<' or '&' (e.g. an e-mail)")
    if status not in _STATUSES:
        raise DataError(f"status {status!r} is not a CAP status; use one of {list(_STATUSES)}")
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise DataError(f"languages {list(languages)!r}: choose one or more of {list(LANGUAGES)}")
    if road_buffer_m <= 0:
        raise DataError(f"road_buffer_m must be positive, got {road_buffer_m}")
    sent_text = cap_datetime(sent if sent is not None else datetime.now(UTC))

    def generate() -> Iterator[tuple[str, bytes]]:
        seen: set[str] = set()
        for feature in collection.get("features") or []:
            ident, xml = _alert(
                feature,
                sender=sender,
                sent=sent_text,
                status=status,
                languages=languages,
                web=web,
                road_buffer_m=road_buffer_m,
            )
            if ident in seen:
                raise DataError(f"alert id {ident!r} appears twice; CAP identifiers must be unique")
            seen.add(ident)
            yield ident, xml

    return generate()


def cap_alerts(
    collection: Mapping[str, Any],
    *,
    sender: str,
    sent: datetime | None = None,
    status: str = "Actual",
    languages: Sequence[str] = LANGUAGES,
    web: str | None = None,
    road_buffer_m: float = 50.0,
) -> list[tuple[str, bytes]]:
    """One CAP 1.2 ``<alert>`` document per feature of an alert FeatureCollection.

    Args:
        collection: The alerts FeatureCollection (properties as :mod:`skywatch.outputs.alerts` writes them).
        sender: CAP ``sender``: who issues the alerts, unique and without spaces (e.g. ``"fire@leopard.example"``).
        sent: Issue time shared by all documents (aware; default now, UTC).
        status: CAP ``status`` of real features; synthetic features are always Exercise when this is Actual.
        languages: One ``<info>`` per language, from ``en``, ``ru``, ``zh``.
        web: Optional link for more information (CAP ``web``), e.g. the team's map.
        road_buffer_m: Half-width of the polygon drawn around road centrelines (LineString geometries).

    Returns:
        ``(identifier, xml_bytes)`` pairs in the collection's order, UTF-8 with an XML declaration.

    Raises:
        DataError: a bad argument, or a feature without a usable id, type, time or geometry.
    """
    return list(
        _iter_alerts(
            collection,
            sender=sender,
            sent=sent,
            status=status,
            languages=languages,
            web=web,
            road_buffer_m=road_buffer_m,
        )
    )


@functools.cache
def _cap_schema() -> Any:
    """The vendored OASIS CAP 1.2 XSD, parsed once (0.2 s): a read-only constant of the package, not state."""
    try:
        import xmlschema
    except ImportError as exc:  # pragma: no cover - xmlschema is a core dependency
        raise DependencyError("validating CAP needs xmlschema: pip install 'xmlschema>=4.3'") from exc
    resource = importlib.resources.files("skywatch.outputs").joinpath("schemas", "CAP-v1.2.xsd")
    with importlib.resources.as_file(resource) as path:
        return xmlschema.XMLSchema10(str(path))


def _check_prose_rules(root: Any, name: str) -> None:
    """CAP 1.2 rules the XSD types as plain strings: identifier/sender characters, polygon and circle syntax."""
    ns = {"cap": CAP_NS}
    for tag in ("identifier", "sender"):
        text = root.findtext(f"cap:{tag}", default="", namespaces=ns)
        if not _SENDER.fullmatch(text):
            raise CapValidationError(f"CAP alert {name}: <{tag}> {text!r} must not contain spaces, commas, '<' or '&'")
    for el in root.iter(f"{{{CAP_NS}}}polygon"):
        text = (el.text or "").strip()
        try:
            pairs = [tuple(float(v) for v in pair.split(",")) for pair in text.split()]
        except ValueError:
            pairs = [()]
        problem = None
        if any(len(p) != 2 for p in pairs):
            problem = 'is not space-separated "lat,lon" pairs'
        elif len(pairs) < 4:
            problem = f"has {len(pairs)} pairs; CAP needs at least 4"
        elif pairs[0] != pairs[-1]:
            problem = "is not closed (first pair != last pair)"
        elif any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in pairs):
            problem = "has a pair outside lat -90..90 / lon -180..180 (is it lon,lat?)"
        if problem:
            raise CapValidationError(f"CAP alert {name}: <polygon> {text[:60]!r} {problem}")
    for el in root.iter(f"{{{CAP_NS}}}circle"):
        text = (el.text or "").strip()
        match = re.fullmatch(r"(-?[\d.]+),(-?[\d.]+)\s+([\d.]+)", text)
        if not match or not (-90 <= float(match[1]) <= 90 and -180 <= float(match[2]) <= 180):
            raise CapValidationError(f'CAP alert {name}: <circle> {text!r} is not "lat,lon radius_km"')


def validate_cap(xml: bytes) -> None:
    """Check one CAP document against the OASIS CAP 1.2 XSD and the specification's polygon/circle rules.

    Raises:
        CapValidationError: the document is not well-formed or not valid; the message names the first problem
            (element path, value, reason).
        DependencyError: xmlschema is not installed.
    """
    import xmlschema

    schema = _cap_schema()
    try:
        resource = xmlschema.XMLResource(xml, defuse="always")
    except (xmlschema.XMLResourceError, ET.ParseError) as exc:
        raise CapValidationError(f"CAP document is not well-formed XML: {exc}") from exc
    root = resource.root
    name = repr(root.findtext(f"{{{CAP_NS}}}identifier") or "?")
    error = next(iter(schema.iter_errors(resource)), None)
    if error is not None:
        elem = error.elem
        value = elem.text if elem is not None and len(elem) == 0 else None
        shown = f" = {value!r}" if value is not None else ""
        hint = ""
        if value and elem is not None and elem.tag.rsplit("}", 1)[-1] in {"sent", "effective", "onset", "expires"}:
            hint = "; CAP 1.2 times need seconds and a numeric offset, UTC as -00:00 (never 'Z')"
        raise CapValidationError(f"CAP alert {name} is not valid CAP 1.2: {error.path}{shown}: {error.reason}{hint}")
    _check_prose_rules(root, name)


def write_cap(
    out_dir: Path,
    collection: Mapping[str, Any],
    *,
    overwrite: bool = False,
    sender: str,
    sent: datetime | None = None,
    status: str = "Actual",
    languages: Sequence[str] = LANGUAGES,
    web: str | None = None,
    road_buffer_m: float = 50.0,
) -> list[Path]:
    """Write ``<identifier>.xml`` per alert into ``out_dir``, each validated first, all or nothing.

    The folder is built beside ``out_dir`` and swapped in only when every document is valid and written, so a
    failure leaves the old folder (or none) and no partial one. Arguments after ``overwrite`` are those of
    :func:`cap_alerts`.

    Returns:
        The paths written, in the collection's order.

    Raises:
        OutputError: ``out_dir`` exists without ``overwrite``, or cannot be written.
        CapValidationError: a document failed validation (nothing is written).
        DataError: as :func:`cap_alerts`.
    """
    alerts = _iter_alerts(
        collection,
        sender=sender,
        sent=sent,
        status=status,
        languages=languages,
        web=web,
        road_buffer_m=road_buffer_m,
    )
    names: list[str] = []
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        for ident, xml in alerts:
            validate_cap(xml)
            (tmp / f"{ident}.xml").write_bytes(xml)
            names.append(f"{ident}.xml")
    return [out_dir / name for name in names]
