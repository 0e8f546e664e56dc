"""The synthetic Camtrap DP package: valid against the vendored 1.0.2 schemas, with the designed structure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from frictionless import Package, system

SCHEMAS = Path(__file__).resolve().parents[2] / "skywatch" / "camtrap" / "schemas"


def _local_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    doc = json.loads((dst / "datapackage.json").read_text())
    assert doc["profile"].startswith("https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/")
    doc.pop("profile")  # the profile is checked separately below (its $ref needs the network)
    for res in doc["resources"]:
        assert res["schema"].startswith("https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/")
        res["schema"] = str(SCHEMAS / Path(res["schema"]).name)
    (dst / "datapackage.json").write_text(json.dumps(doc))
    return dst / "datapackage.json"


def test_package_is_valid_camtrap_dp(sample_dir: Path, tmp_path: Path) -> None:
    descriptor = _local_copy(sample_dir / "camtrap", tmp_path / "pkg")
    with system.use_context(trusted=True):
        report = Package(str(descriptor)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_package_metadata_meets_the_profile(sample_dir: Path) -> None:
    import jsonschema

    profile = json.loads((SCHEMAS / "camtrap-dp-profile.json").read_text())
    doc = json.loads((sample_dir / "camtrap" / "datapackage.json").read_text())
    camtrap_part = dict(profile["allOf"][1])  # [0] is Frictionless' own profile (remote $ref)
    camtrap_part["$defs"] = profile.get("$defs", {})
    spatial = dict(camtrap_part["properties"]["spatial"])
    spatial.pop("$ref")  # remote GeoJSON schema; the type check stays
    camtrap_part["properties"] = {**camtrap_part["properties"], "spatial": spatial}
    jsonschema.validate(doc, camtrap_part)
    assert "SYNTHETIC" in doc["project"]["description"]


def test_structure(sample_dir: Path) -> None:
    dep = pd.read_csv(sample_dir / "camtrap" / "deployments.csv")
    obs = pd.read_csv(sample_dir / "camtrap" / "observations.csv", keep_default_na=False)
    assert 20 <= dep["locationID"].nunique() <= 40
    gaps = dep.groupby("locationID").size()
    assert (gaps == 2).sum() == 1  # one station with a malfunction gap, split in two deployments
    assert dep.deploymentComments.fillna("").str.contains("malfunction").sum() == 2
    cats = obs[obs.scientificName.str.startswith("Panthera")]
    assert (cats.individualID != "").all()
    assert cats.individualID.str.startswith("PPO").any() and cats.individualID.str.startswith("PTA").any()
    assert {"human", "vehicle"} <= set(obs.observationType)
    assert (obs.lifeStage == "juvenile").any()
    assert dep.deploymentStart.str.endswith("+10:00").all()
    truth = json.loads((sample_dir / "truth" / "truth.json").read_text())["camtrap"]
    assert truth["species"]["Panthera pardus orientalis"]["density_per_100km2"] > 0
