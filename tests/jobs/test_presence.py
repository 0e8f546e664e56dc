"""`skywatch presence` on the SYNTHETIC sample: layers real consumers open, SECR covering the known density."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

CLI = [sys.executable, "-c", "from skywatch.cli.main import main; main()"]


@pytest.fixture(scope="module")
def presence_out(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("presence") / "layers"
    r = subprocess.run([*CLI, "presence", "--camtrap", str(sample_dir / "camtrap"), "--aoi",
                        str(sample_dir / "aoi.geojson"), "--out", str(out)], capture_output=True, text=True,
                       timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "SECR 4 animals" in r.stderr
    return out


def test_layers_open_and_carry_units(presence_out: Path) -> None:
    for name in ("presence_panthera-pardus-orientalis.tif", "density_panthera-pardus-orientalis.tif",
                 "density_panthera-tigris-altaica.tif", "presence_sus-scrofa.tif"):  # fmt: skip
        ok, errors, _ = cog_validate(str(presence_out / name), strict=True)
        assert ok, errors
        with rasterio.open(presence_out / name) as ds:
            assert ds.crs.to_epsg() == 32652 and ds.res == (100.0, 100.0)
            assert ds.transform.c % 100 == 0 and ds.transform.f % 100 == 0  # on the grid
            assert ds.tags()["SKYWATCH_SYNTHETIC"] == "true" and "SKYWATCH_UNITS" in ds.tags()
            data = ds.read(1)
        assert np.nanmin(data) >= 0 and np.isfinite(data).mean() > 0.5
    assert not (presence_out / "density_sus-scrofa.tif").exists()  # no individual IDs, no SECR


def test_secr_covers_the_simulated_density(presence_out: Path, sample_dir: Path) -> None:
    summary = json.loads((presence_out / "presence.json").read_text())
    truth = json.loads((sample_dir / "truth" / "truth.json").read_text())["camtrap"]["species"]
    assert summary["synthetic"] is True and summary["skipped_rows"] == []
    for name in ("Panthera pardus orientalis", "Panthera tigris altaica"):
        secr = summary["species"][name]["secr"]
        d = secr["density_per_100km2"]
        assert secr["fitted"] and secr["converged"]
        assert d["lcl"] <= truth[name]["density_per_100km2"] <= d["ucl"], (name, d, truth[name])
    assert summary["species"]["Panthera pardus orientalis"]["females_with_cubs"] == ["PPO-F01"]
    assert all(
        summary["species"][n]["secr"]["buffer_adequate"]
        for n in ("Panthera pardus orientalis", "Panthera tigris altaica")
    )


def test_individual_layers(presence_out: Path) -> None:
    layers = {name for name, _ in pyogrio.list_layers(presence_out / "individuals.gpkg")}
    assert layers == {"activity_centres", "centre_uncertainty", "ranges", "detections"}
    centres = pyogrio.read_dataframe(presence_out / "individuals.gpkg", layer="activity_centres")
    assert set(centres.individual.str[:3]) == {"PPO", "PTA"} and (centres.sd_m > 0).all()
    assert centres.set_index("individual").loc["PPO-F01", "female_with_cubs"]
    ranges = pyogrio.read_dataframe(presence_out / "individuals.gpkg", layer="ranges")
    assert {"mcp100", "kde50", "kde95"} <= set(ranges["range"])
    assert all(g.is_valid for g in ranges.geometry)


def test_station_outside_the_aoi(sample_dir: Path, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(sample_dir / "camtrap", pkg)
    dep = pd.read_csv(pkg / "deployments.csv", dtype=str, keep_default_na=False)
    dep.loc[dep.locationID == "S03", "longitude"] = "131.5"  # some 35 km east of the sample area
    dep.to_csv(pkg / "deployments.csv", index=False)
    args = [*CLI, "presence", "--camtrap", str(pkg), "--aoi", str(sample_dir / "aoi.geojson"), "--species",
            "Sus scrofa"]  # fmt: skip
    r = subprocess.run([*args, "--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "S03" in r.stderr and "outside the AOI" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a").exists()
    r = subprocess.run([*args, "--skip-outside", "--out", str(tmp_path / "b")], capture_output=True, text=True,
                       timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "b" / "presence.json").read_text())["stations_outside_aoi_left_out"] == ["S03"]
