"""CAP 1.2 export: every document valid against the official OASIS XSD, CAP's own conventions kept."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import LineString, Polygon

from skywatch.errors import DataError, OutputError
from skywatch.fuse.incidents import Incident
from skywatch.geometry import reproject
from skywatch.outputs.alerts import alerts_feature_collection
from skywatch.outputs.cap import CapValidationError, cap_alerts, validate_cap, write_cap

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
SENT = datetime(2025, 6, 1, 4, 30, tzinfo=UTC)
SENDER = "fire-desk@leopard.example"
TIME_TAGS = ("sent", "effective", "onset", "expires")


def feature(fid: str, kind: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": fid,
        "type": kind,
        "acq_date": "2025-06-01",
        "acq_time": "0212",
        "detected_at": "2025-06-01T02:12:00Z",
        "satellite": "Sentinel-2B",
        "confidence": "high",
        "confidence_pct": 90,
        "area_ha": 4.2,
        "method": "test-method v1",
        "source_scenes": ["S2B_52TGN_20250601_0_L2A", "S2B_52TGN_20250527_0_L2A"],
    }
    base.update(props)
    return {"type": "Feature", "id": fid, "properties": base, "geometry": geometry}


BURN_RING = [[131.2, 43.1], [131.21, 43.1], [131.21, 43.11], [131.2, 43.11], [131.2, 43.1]]
HOLE = [[131.204, 43.104], [131.204, 43.106], [131.206, 43.106], [131.206, 43.104], [131.204, 43.104]]
ROAD = [[131.30, 43.20], [131.31, 43.205], [131.32, 43.21]]


def collection() -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            feature(
                "burn_scar-20250601-aaaaaaaaaa",
                "burn_scar",
                {"type": "Polygon", "coordinates": [BURN_RING, HOLE]},
                severity="moderate-high",
                exposure={"score": 0.72, "rank": 3},
                individuals_nearby=["AL-12", "AL-31"],
                stations_nearby=4,
            ),
            feature(
                "clearcut-20250601-bbbbbbbbbb",
                "clearcut",
                {
                    "type": "MultiPolygon",
                    "coordinates": [
                        [[[131.4, 43.3], [131.401, 43.3], [131.401, 43.301], [131.4, 43.301], [131.4, 43.3]]],
                        [[[131.41, 43.31], [131.412, 43.31], [131.412, 43.312], [131.41, 43.31]]],
                    ],
                },
                confidence="nominal",
                confidence_pct=65,
            ),
            feature(
                "road-20250601-cccccccccc",
                "road",
                {"type": "LineString", "coordinates": ROAD},
                length_km=1.86,
                area_ha=0.9,
            ),
            feature(
                "fire_active-20250601-dddddddddd",
                "fire_active",
                {"type": "Point", "coordinates": [131.5, 43.4]},
                confidence_pct=95,
                area_ha=3.1416,
            ),
            feature(
                "fire_active-20250601-eeeeeeeeee",
                "fire_active",
                {
                    "type": "Polygon",
                    "coordinates": [[[131.6, 43.5], [131.601, 43.5], [131.601, 43.501], [131.6, 43.5]]],
                },
                confidence="nominal",
                confidence_pct=60,
            ),
        ],
    }


def docs(coll: dict[str, Any] | None = None, **kw: Any) -> dict[str, ET.Element]:
    kw.setdefault("sender", SENDER)
    kw.setdefault("sent", SENT)
    return {ident: ET.fromstring(xml) for ident, xml in cap_alerts(coll or collection(), **kw)}


def info(root: ET.Element, lang: str = "en") -> ET.Element:
    (found,) = [i for i in root.findall("cap:info", NS) if i.findtext("cap:language", namespaces=NS) == lang]
    return found


def pairs(text: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in (p.split(",") for p in text.split())]


def test_every_document_validates_with_three_languages() -> None:
    out = cap_alerts(collection(), sender=SENDER, sent=SENT)
    assert [ident for ident, _ in out] == [f["id"] for f in collection()["features"]]
    for ident, xml in out:
        validate_cap(xml)
        root = ET.fromstring(xml)
        assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
        assert root.findtext("cap:identifier", namespaces=NS) == ident
        assert root.findtext("cap:msgType", namespaces=NS) == "Alert"
        assert root.findtext("cap:scope", namespaces=NS) == "Public"
        assert root.findtext("cap:status", namespaces=NS) == "Actual"
        assert [i.findtext("cap:language", namespaces=NS) for i in root.findall("cap:info", NS)] == ["en", "ru", "zh"]


def test_event_is_the_label_in_each_language() -> None:
    root = docs()["burn_scar-20250601-aaaaaaaaaa"]
    events = {lang: info(root, lang).findtext("cap:event", namespaces=NS) for lang in ("en", "ru", "zh")}
    assert events == {"en": "Burn scar", "ru": "Гарь", "zh": "火烧迹地"}
    assert "Гарь" in (info(root, "ru").findtext("cap:headline", namespaces=NS) or "")


def test_times_use_numeric_offsets_never_z() -> None:
    for root in docs().values():
        stamps = [el.text or "" for tag in TIME_TAGS for el in root.iter(f"{{{NS['cap']}}}{tag}")]
        assert stamps and all(not s.endswith("Z") and s[-6] in "+-" for s in stamps)
        assert root.findtext("cap:sent", namespaces=NS) == "2025-06-01T04:30:00-00:00"
        assert info(root).findtext("cap:onset", namespaces=NS) == "2025-06-01T02:12:00-00:00"
        assert info(root).findtext("cap:effective", namespaces=NS) == "2025-06-01T02:12:00-00:00"
    vladivostok = timezone(timedelta(hours=10))
    (root, *_) = docs(sent=datetime(2025, 6, 1, 14, 30, 15, 999, tzinfo=vladivostok)).values()
    assert root.findtext("cap:sent", namespaces=NS) == "2025-06-01T14:30:15+10:00"


def test_polygon_pairs_are_lat_lon_closed_exterior_ring() -> None:
    area = info(docs()["burn_scar-20250601-aaaaaaaaaa"]).find("cap:area", NS)
    assert area is not None
    (polygon,) = [el.text or "" for el in area.findall("cap:polygon", NS)]  # the hole is dropped
    got = pairs(polygon)
    assert got[0] == (43.1, 131.2)  # GeoJSON [131.2, 43.1] -> "43.1,131.2"
    assert got[0] == got[-1] and len(got) == 5
    assert {(lat, lon) for lon, lat in BURN_RING} == set(got)
    assert "43.1" in (area.findtext("cap:areaDesc", namespaces=NS) or "")


def test_multipolygon_gives_one_polygon_per_part() -> None:
    area = info(docs()["clearcut-20250601-bbbbbbbbbb"]).find("cap:area", NS)
    assert area is not None
    polygons = [pairs(el.text or "") for el in area.findall("cap:polygon", NS)]
    assert len(polygons) == 2 and [len(p) for p in polygons] == [5, 4]
    assert all(p[0] == p[-1] for p in polygons)
    assert polygons[1][0] == (43.31, 131.41)


def test_road_line_becomes_a_buffered_polygon() -> None:
    area = info(docs()["road-20250601-cccccccccc"]).find("cap:area", NS)
    assert area is not None
    (text,) = [el.text or "" for el in area.findall("cap:polygon", NS)]
    assert area.find("cap:circle", NS) is None
    ring = pairs(text)
    assert ring[0] == ring[-1] and len(ring) >= 4
    corridor = reproject(Polygon([(lon, lat) for lat, lon in ring]), 4326, 32652)
    line = reproject(LineString(ROAD), 4326, 32652)
    assert corridor.is_valid and corridor.buffer(1).contains(line)
    assert line.hausdorff_distance(corridor.exterior) == pytest.approx(50, abs=5)  # 50 m on each side
    assert corridor.area == pytest.approx(line.length * 100, rel=0.1)


def test_point_fire_becomes_a_circle_of_its_area() -> None:
    area = info(docs()["fire_active-20250601-dddddddddd"]).find("cap:area", NS)
    assert area is not None
    assert area.find("cap:polygon", NS) is None
    # 3.1416 ha = pi * (100 m)^2 -> radius 0.1 km
    assert area.findtext("cap:circle", namespaces=NS) == "43.4,131.5 0.1"


@pytest.mark.parametrize(
    ("fid", "expected"),
    [
        ("fire_active-20250601-dddddddddd", ("Fire", "Immediate", "Severe", "Observed")),
        ("fire_active-20250601-eeeeeeeeee", ("Fire", "Immediate", "Severe", "Likely")),
        ("burn_scar-20250601-aaaaaaaaaa", ("Fire", "Past", "Moderate", "Observed")),
        ("clearcut-20250601-bbbbbbbbbb", ("Env", "Unknown", "Minor", "Possible")),
        ("road-20250601-cccccccccc", ("Env", "Unknown", "Minor", "Likely")),
    ],
)
def test_category_urgency_severity_certainty(fid: str, expected: tuple[str, ...]) -> None:
    root = docs()[fid]
    for lang in ("en", "ru", "zh"):
        got = tuple(
            info(root, lang).findtext(f"cap:{t}", namespaces=NS)
            for t in ("category", "urgency", "severity", "certainty")
        )
        assert got == expected


def test_low_burn_severity_is_minor() -> None:
    coll = collection()
    coll["features"][0]["properties"]["severity"] = "low"
    assert info(docs(coll)["burn_scar-20250601-aaaaaaaaaa"]).findtext("cap:severity", namespaces=NS) == "Minor"


def test_description_and_parameters_carry_the_figures() -> None:
    en = info(docs()["burn_scar-20250601-aaaaaaaaaa"])
    text = en.findtext("cap:description", namespaces=NS) or ""
    for needle in (
        "Area: 4.2 ha",
        "moderate-high",
        "high (90 %)",
        "score 0.72",
        "rank 3",
        "2 individual(s)",
        "4 camera station(s)",
        "S2B_52TGN_20250601_0_L2A",
        "test-method v1",
    ):
        assert needle in text
    params = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in en.findall("cap:parameter", NS)
    }
    assert params["skywatch:id"] == "burn_scar-20250601-aaaaaaaaaa"
    assert params["skywatch:confidence_pct"] == "90"
    assert params["skywatch:area_ha"] == "4.2"
    assert params["skywatch:method"] == "test-method v1"
    assert params["skywatch:source_scenes"] == "S2B_52TGN_20250601_0_L2A S2B_52TGN_20250527_0_L2A"
    coll = collection()
    coll["features"][0]["properties"]["exposure"] = {"score": 0.0, "rank": 9, "known": False}
    unknown = info(docs(coll)["burn_scar-20250601-aaaaaaaaaa"]).findtext("cap:description", namespaces=NS) or ""
    assert "Exposure" not in unknown
    road = info(docs()["road-20250601-cccccccccc"], "ru")
    assert "Длина: 1.86 км" in (road.findtext("cap:description", namespaces=NS) or "")


def test_synthetic_features_are_exercises_with_a_note() -> None:
    coll = collection()
    coll["features"][0]["properties"]["synthetic"] = True
    out = docs(coll)
    root = out["burn_scar-20250601-aaaaaaaaaa"]
    assert root.findtext("cap:status", namespaces=NS) == "Exercise"
    assert "SYNTHETIC" in (root.findtext("cap:note", namespaces=NS) or "")
    assert all(
        "SYNTHETIC" in (info(root, "en").findtext(t, namespaces=NS) or "") for t in ("cap:headline", "cap:description")
    )
    assert out["road-20250601-cccccccccc"].findtext("cap:status", namespaces=NS) == "Actual"
    assert out["road-20250601-cccccccccc"].find("cap:note", NS) is None


def test_alerts_feature_collection_converts() -> None:
    """The collection skywatch really writes (UTM incidents -> RFC 7946) goes through unchanged."""
    square = shapely.box(700_000, 4_780_000, 700_200, 4_780_300)
    incidents = [
        Incident(
            type="burn_scar",
            geometry=square,
            detected=date(2025, 6, 1),
            confidence="high",
            confidence_pct=88,
            area_ha=6.0,
            severity="high",
        ),
        Incident(
            type="road",
            geometry=square.buffer(-90),
            detected=date(2025, 6, 1),
            confidence="low",
            confidence_pct=20,
            area_ha=0.6,
            length_km=0.3,
        ),
    ]
    coll = alerts_feature_collection(
        incidents,
        epsg=32652,
        satellite="Sentinel-2A",
        acq_time="0212",
        source_scenes=["S2A_x"],
        method="m",
        synthetic=True,
    )
    out = cap_alerts(coll, sender=SENDER, sent=SENT, web="https://example.org/map")
    assert len(out) == 2
    for _, xml in out:
        validate_cap(xml)
        root = ET.fromstring(xml)
        assert root.findtext("cap:status", namespaces=NS) == "Exercise"
        (polygon,) = [el.text or "" for el in root.iter(f"{{{NS['cap']}}}polygon")][:1]
        lat, lon = pairs(polygon)[0]
        assert 42 < lat < 45 and 130 < lon < 133  # latitude first


def test_empty_collection_gives_no_documents() -> None:
    assert cap_alerts({"type": "FeatureCollection", "features": []}, sender=SENDER) == []


def _one(**changes: str) -> bytes:
    (_, xml) = cap_alerts(collection(), sender=SENDER, sent=SENT)[0]
    root = ET.fromstring(xml)
    for tag, value in changes.items():
        el = next(root.iter(f"{{{NS['cap']}}}{tag}"))
        el.text = value
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True, default_namespace=NS["cap"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "BOGUS"}, r"/alert/status = 'BOGUS'.*Actual"),
        ({"sent": "2025-06-01T04:30:00Z"}, r"/alert/sent = '2025-06-01T04:30:00Z'.*never 'Z'"),
        ({"urgency": "Soon"}, r"urgency = 'Soon'"),
        ({"polygon": "131.2,43.1 131.21,43.1 131.21,43.11 131.2,43.1"}, r"outside lat.*lon,lat"),
        ({"polygon": "43.1,131.2 43.1,131.21 43.11,131.21"}, r"3 pairs; CAP needs at least 4"),
        ({"polygon": "43.1,131.2 43.1,131.21 43.11,131.21 43.2,131.2"}, r"not closed"),
        ({"identifier": "two words"}, r"<identifier> 'two words' must not contain spaces"),
    ],
)
def test_broken_documents_fail_with_a_clear_message(changes: dict[str, str], message: str) -> None:
    with pytest.raises(CapValidationError, match=message) as info_:
        validate_cap(_one(**changes))
    assert isinstance(info_.value, OutputError)


def test_missing_element_and_bad_xml_fail() -> None:
    xml = _one().replace(b"<msgType>Alert</msgType>", b"")
    with pytest.raises(CapValidationError, match=r"not valid CAP 1\.2"):
        validate_cap(xml)
    with pytest.raises(CapValidationError, match="not well-formed"):
        validate_cap(b"<alert><identifier>x</alert>")


def test_write_cap_writes_one_valid_file_per_alert(tmp_path: Path) -> None:
    out = tmp_path / "cap"
    paths = write_cap(out, collection(), sender=SENDER, sent=SENT)
    assert [p.name for p in paths] == [f"{f['id']}.xml" for f in collection()["features"]]
    assert sorted(out.iterdir()) == sorted(paths)
    for p in paths:
        validate_cap(p.read_bytes())
    with pytest.raises(OutputError, match="--overwrite"):
        write_cap(out, collection(), sender=SENDER)


def test_write_cap_failure_leaves_no_partial_folder(tmp_path: Path) -> None:
    coll = collection()
    bad = copy.deepcopy(coll["features"][1])
    bad["properties"]["type"] = "landslide"  # fails after the first file is written
    coll["features"].insert(1, bad)
    with pytest.raises(DataError, match="landslide"):
        write_cap(tmp_path / "cap", coll, sender=SENDER)
    assert list(tmp_path.iterdir()) == []
    old = tmp_path / "old"
    write_cap(old, collection(), sender=SENDER)
    before = sorted(p.name for p in old.iterdir())
    with pytest.raises(DataError):
        write_cap(old, coll, sender=SENDER, overwrite=True)
    assert sorted(p.name for p in old.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"sent": datetime(2025, 6, 1, 4, 30)}, "no time zone"),
        ({"sender": "fire desk"}, "spaces"),
        ({"status": "Real"}, "not a CAP status"),
        ({"languages": ("en", "fr")}, "choose one or more"),
    ],
)
def test_bad_arguments_raise(kw: dict[str, Any], message: str) -> None:
    kw.setdefault("sender", SENDER)
    with pytest.raises(DataError, match=message):
        cap_alerts(collection(), **kw)


def test_bad_features_raise() -> None:
    coll = collection()
    coll["features"].append(copy.deepcopy(coll["features"][0]))
    with pytest.raises(DataError, match="appears twice"):
        cap_alerts(coll, sender=SENDER)
    coll = collection()
    coll["features"][0]["properties"]["id"] = "../escape"
    with pytest.raises(DataError, match="cannot be a CAP identifier"):
        cap_alerts(coll, sender=SENDER)
    with pytest.raises(DataError, match="FeatureCollection"):
        cap_alerts({"type": "Feature"}, sender=SENDER)
