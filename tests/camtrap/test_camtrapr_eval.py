"""Evaluation on REAL records: camtrapR's leopard-cat sample (GPL, read from ../shared, never copied here), from
individual records to effort, capture histories and an SECR fit; and `camtrap secr` on the SYNTHETIC sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skywatch.camtrap.effort import capture_histories, detection_history, trap_days
from skywatch.camtrap.readers import read_detections
from skywatch.camtrap.secr.run import run_secr


def test_camtrapr_records_to_capture_histories(shared: Path) -> None:
    root = shared / "data" / "real" / "camtrapr-leopardcat-individuals"
    table = read_detections(root / "recordTableIndividualSample.csv", stations=root / "camtraps.csv", epsg=32650,
                            timezone="+08:00")  # fmt: skip
    days = trap_days(table).set_index("station")
    # StationC: set up 04/04/2009, retrieved 17/05, malfunction 12/05 to 17/05 inclusive (camtrapR's Problem1_to
    # is the last day of the malfunction): it recorded 04/04-11/05, 38 whole days, and nothing after
    assert days["trap_days"].to_dict() == {"StationA": 43.0, "StationB": 44.0, "StationC": 38.0}
    caps = capture_histories(table, "LeopardCat", occasion_days=1)
    # 21 photographs collapse into 17 individual x day x station cells
    assert len(caps) == 17 and caps.groupby("individual").size().to_dict() == {"1": 8, "2": 7, "3": 2}
    history = detection_history(table, "LeopardCat", occasion_days=1)
    assert history.sum(axis=1).to_dict() == {"StationA": 3.0, "StationB": 7.0, "StationC": 6.0}
    assert history.loc["StationC"].isna().sum() > history.loc["StationA"].isna().sum()  # camera off: NA
    run = run_secr(table=table, species="LeopardCat", epsg=32650, detector="proximity")
    fit = run.fit
    assert run.capthist.summary()["animals"] == 3 and fit.converged
    # three animals at three cameras: the buffer had to grow past the first guess (sigma is far above the RPSV),
    # and the estimate, though it exists, says little
    assert fit.buffer_adequate and any("refitted" in n for n in run.notes)
    d = fit.density_per_100km2()
    assert d.lcl < d.estimate < d.ucl and d.ucl / d.lcl > 5


def test_camtrap_secr_cli_on_the_synthetic_package(sample_dir: Path) -> None:
    truth = json.loads((sample_dir / "truth" / "truth.json").read_text())["camtrap"]["species"]
    name = "Panthera pardus orientalis"
    r = subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", "camtrap", "secr",
                        str(sample_dir / "camtrap"), "--species", name, "--json"], capture_output=True, text=True,
                       timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    d = doc["density_per_100km2"]
    assert doc["detector"] == "proximity" and doc["epsg"] == 32652 and doc["animals"] == 4
    assert d["lcl"] <= truth[name]["density_per_100km2"] <= d["ucl"]
    assert doc["sigma"]["lcl"] <= truth[name]["sigma_m"] <= doc["sigma"]["ucl"]
    human = subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", "camtrap", "secr",
                            str(sample_dir / "camtrap"), "--species", "Sus scrofa"], capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert human.returncode == 1 and "no identified individuals of 'Sus scrofa'" in human.stderr
    usage = subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", "camtrap", "secr",
                            str(sample_dir / "camtrap")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert usage.returncode == 2 and "--species" in usage.stderr


@pytest.mark.parametrize("bad", ["--buffer=-5", "--detectfn=XX"])
def test_secr_cli_usage_errors(bad: str, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", "camtrap", "secr",
                        str(tmp_path), "--species", "x", bad], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
