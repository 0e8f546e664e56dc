"""Evaluation against R package secr on its own example (captdata, GPL: read from ../shared, never copied here).

Targets (../shared/REFERENCE.md, secr's tests test-initial.R / test-derived.R and the stored fit secrdemo.0):
log-likelihood -759.02575 at D 5.4798/ha, g0 0.2732, sigma 29.3658 m (multi-catch, HN, 100 m buffer, 3,936
mask points); fitted D 5.4798 (SE 0.6445, 95 % CI 4.3516-6.9005), g0 0.27319 (SE 0.027051), sigma 29.366 m
(SE 1.3043); RPSV 25.62888.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skywatch.camtrap.secr.capthist import read_secr_text
from skywatch.camtrap.secr.fit import fit_secr
from skywatch.camtrap.secr.likelihood import Detection, log_likelihood
from skywatch.camtrap.secr.mask import make_mask


@pytest.fixture(scope="module")
def captdata(shared: Path) -> tuple[Path, Path]:
    d = shared / "data" / "real" / "secr-captdata"
    return d / "capt.txt", d / "trap.txt"


def test_loglik_at_published_parameters(captdata: tuple[Path, Path]) -> None:
    ch = read_secr_text(*captdata, detector="multi")
    assert ch.summary() == {"animals": 76, "detections": 235, "detectors": 100, "detectors_used": 91, "occasions": 5}
    assert ch.rpsv() == pytest.approx(25.62888, abs=1e-4)
    mask = make_mask(ch.xy, buffer=100.0)
    assert len(mask.xy) == 3936
    ll = log_likelihood(ch, mask, 5.4798, Detection(detectfn="HN", g0=0.2732, sigma=29.3658))
    assert ll == pytest.approx(-759.02575, abs=0.01)


def test_fit_matches_secr(captdata: tuple[Path, Path]) -> None:
    ch = read_secr_text(*captdata, detector="multi")
    fit = fit_secr(ch, make_mask(ch.xy, buffer=100.0))
    assert fit.converged
    for est, (value, se) in ((fit.density, (5.479803, 0.644505)), (fit.g0, (0.273191, 0.027051)),
                             (fit.sigma, (29.365834, 1.304295))):  # fmt: skip
        assert est.estimate == pytest.approx(value, rel=0.005)
        assert est.se == pytest.approx(se, rel=0.02)
    assert (fit.density.lcl, fit.density.ucl) == pytest.approx((4.351622, 6.900471), rel=0.005)
    assert fit.log_likelihood == pytest.approx(-759.02575, abs=0.01)
    assert fit.aic == pytest.approx(1524.0515, abs=0.02)


def test_cli_json(captdata: tuple[Path, Path]) -> None:
    capt, trap = captdata
    r = subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", "camtrap", "secr",
                        "--captures", str(capt), "--traps", str(trap), "--buffer", "100", "--json"],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["density"]["estimate"] == pytest.approx(5.4798, rel=0.005)
    assert doc["density_per_100km2"]["estimate"] == pytest.approx(54798, rel=0.005)
    assert doc["log_likelihood"] == pytest.approx(-759.02575, abs=0.01)
    assert doc["animals"] == 76 and doc["detector"] == "multi" and doc["mask_points"] == 3936
