"""Export to Camtrap DP 1.0.2, offline validation, and the `skywatch camtrap import|validate` commands."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from frictionless import Package, system

from skywatch.camtrap.export import write_camtrap_dp
from skywatch.camtrap.readers import read_camtrap_dp_table, read_detections
from skywatch.camtrap.schema import SCHEMA_DIR, table_fields
from skywatch.camtrap.validate import Problem, validate_package
from skywatch.errors import OutputError

DATA = Path(__file__).resolve().parents[1] / "data" / "camtrap"
EXAMPLE = DATA / "camtrap-dp-example"
STATIONS = DATA / "stations.csv"
CANONICAL = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/"


def _frictionless_valid(pkg: Path, tmp_path: Path) -> None:
    """Validate with frictionless directly (schemas pointed at the vendored copies), independent of validate.py."""
    doc = json.loads((pkg / "datapackage.json").read_text())
    assert doc["profile"] == CANONICAL + "camtrap-dp-profile.json"
    doc.pop("profile")
    for res in doc["resources"]:
        assert res["schema"] == CANONICAL + f"{res['name']}-table-schema.json"
        res["schema"] = str(SCHEMA_DIR / Path(res["schema"]).name)
        res["path"] = str((pkg / res["path"]).resolve())
    copy = tmp_path / "descriptor.json"
    copy.write_text(json.dumps(doc))
    with system.use_context(trusted=True):
        report = Package(str(copy)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_example_round_trip(tmp_path: Path) -> None:
    assert validate_package(EXAMPLE) == []
    table = read_camtrap_dp_table(EXAMPLE)
    out = write_camtrap_dp(table, tmp_path / "pkg", title="MICA sample, events only")
    assert validate_package(out) == []
    _frictionless_valid(out, tmp_path)
    for name in ("deployments", "media", "observations"):
        assert tuple(pd.read_csv(out / f"{name}.csv", nrows=0).columns) == table_fields(name)
    obs = pd.read_csv(out / "observations.csv", dtype=str, keep_default_na=False)
    assert (obs["observationLevel"] == "event").all() and obs["eventID"].is_unique
    assert set(obs.loc[obs["scientificName"] == "Ardea", "classificationProbability"]) == {"0.9", "0.89"}
    doc = json.loads((out / "datapackage.json").read_text())
    assert doc["project"]["observationLevel"] == ["event"] and doc["project"]["title"].startswith("Management")
    assert doc["licenses"][0] == {"name": "CC0-1.0", "scope": "data"} and "synthetic" not in doc
    again = read_camtrap_dp_table(out)
    cols = ["station", "deployment", "timestamp", "kind", "species", "count", "sex", "life_stage", "behavior"]
    pd.testing.assert_frame_equal(again.events[cols], table.events[cols], check_dtype=False)
    pd.testing.assert_frame_equal(again.deployments, table.deployments, check_dtype=False)
    assert len(read_camtrap_dp_table(out).events) == 39  # and reads back


def test_synthetic_sample_is_valid(sample_dir: Path) -> None:
    assert validate_package(sample_dir / "camtrap") == []


def test_megadetector_export_is_valid_and_marks_synthetic(tmp_path: Path) -> None:
    table = read_detections(DATA / "megadetector.json", stations=STATIONS, timezone="Asia/Vladivostok",
                            on_error="skip")  # fmt: skip
    out = write_camtrap_dp(table, tmp_path / "md", title="Fixture detections", synthetic=True)
    assert validate_package(out) == []
    doc = json.loads((out / "datapackage.json").read_text())
    assert doc["synthetic"] is True and "SYNTHETIC" in doc["title"] and "SYNTHETIC" in doc["description"]
    assert doc["project"]["individualAnimals"] is False
    assert [t["scientificName"] for t in doc["taxonomic"]] == ["Capreolus pygargus", "Panthera pardus orientalis"]
    obs = pd.read_csv(out / "observations.csv", dtype=str, keep_default_na=False)
    assert list(obs["observationType"]) == ["animal", "animal", "human", "vehicle", "animal"]
    assert obs.loc[0, "eventStart"] == "2024-05-14T11:13:05Z"
    with pytest.raises(OutputError, match="--overwrite"):
        write_camtrap_dp(table, out, title="again")
    write_camtrap_dp(table, out, title="again", overwrite=True)
    assert json.loads((out / "datapackage.json").read_text())["title"] == "again"


def test_camtrapr_export_is_valid(shared: Path, tmp_path: Path) -> None:
    root = shared / "data" / "real" / "camtrapr-leopardcat-individuals"
    table = read_detections(root / "recordTableIndividualSample.csv", stations=root / "camtraps.csv", epsg=32650,
                            timezone="+08:00")  # fmt: skip
    out = write_camtrap_dp(table, tmp_path / "lc", title="camtrapR leopard cat sample")
    assert validate_package(out) == []
    dep = pd.read_csv(out / "deployments.csv")
    assert (dep["locationID"] == "StationC").sum() == 1  # its malfunction ran to the retrieval day
    assert json.loads((out / "datapackage.json").read_text())["project"]["individualAnimals"] is True


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_validate_reports_file_row_column(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(EXAMPLE, pkg)
    dep = pd.read_csv(pkg / "deployments.csv", dtype=str, keep_default_na=False)
    dep.loc[1, "deploymentEnd"] = "2020-07-01T00:00:00+02:00"  # row 3: before its start
    dep.to_csv(pkg / "deployments.csv", index=False)
    obs = pd.read_csv(pkg / "observations.csv", dtype=str, keep_default_na=False)
    obs.loc[0, "eventStart"] = "2020-05-30T02:57:37"  # row 2: no zone
    obs.loc[3, "deploymentID"] = "nosuchdep"  # row 5
    obs.loc[6, "observationID"] = obs.loc[1, "observationID"]  # row 8 repeats row 3
    obs.loc[9, "count"] = "0"  # row 11: below the schema minimum (frictionless' finding)
    obs.to_csv(pkg / "observations.csv", index=False)
    doc = json.loads((pkg / "datapackage.json").read_text())
    doc["project"]["samplingDesign"] = "haphazard"
    (pkg / "datapackage.json").write_text(json.dumps(doc))
    before = _digest(pkg)
    problems = validate_package(pkg)
    assert _digest(pkg) == before  # the user's files are only read
    where = {(Path(p.file).name, p.row, p.column) for p in problems}
    assert {
        ("datapackage.json", None, "project.samplingDesign"),
        ("deployments.csv", 3, "deploymentEnd"),
        ("observations.csv", 2, "eventStart"),
        ("observations.csv", 5, "deploymentID"),
        ("observations.csv", 8, "observationID"),
        ("observations.csv", 11, "count"),
    } <= where
    assert len([p for p in problems if p.row == 8]) == 1  # frictionless' unique + primary-key errors folded in
    text = [str(p) for p in problems]
    line = f"{pkg / 'observations.csv'}:2:eventStart: timestamp '2020-05-30T02:57:37' has no time zone"
    assert any(t.startswith(line) for t in text)
    assert str(Problem("a.csv", None, "", "m")) == "a.csv:-:-: m"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_cli_import_and_validate(tmp_path: Path) -> None:
    out = tmp_path / "md"
    base = ["camtrap", "import", str(DATA / "megadetector.json"), "--out", str(out)]
    r = _cli(*base, "--stations", str(STATIONS), "--timezone", "Asia/Vladivostok")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "row 6 column 'failure'" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
    r = _cli(*base, "--stations", str(STATIONS), "--timezone", "Asia/Vladivostok", "--skip-bad-rows")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("megadetector: 5 event(s) at 3 station(s), 4 deployment(s)")
    assert "skipped 3 row(s)" in r.stderr and r.stderr.count("\n") == 1
    r = _cli(*base, "--timezone", "Asia/Vladivostok")  # MegaDetector output without a station table
    assert r.returncode == 2 and "--stations" in r.stderr
    r = _cli(*base, "--stations", str(STATIONS), "--timezone", "Mars/Olympus")
    assert r.returncode == 2 and "--timezone" in r.stderr
    r = _cli("camtrap", "validate", str(out), "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"valid": True, "problems": []}

    (out / "deployments.csv").write_text((out / "deployments.csv").read_text().replace("Z,", "+10,", 1))
    r = _cli("camtrap", "validate", str(out))
    assert r.returncode == 1 and "problem(s)" in r.stderr
    assert r.stdout.splitlines()[0].startswith(f"{out / 'deployments.csv'}:2:deploymentStart: ")
