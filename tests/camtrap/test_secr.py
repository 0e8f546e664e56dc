"""SECR: the likelihood on hand-computed cases, the fit recovering known densities from SYNTHETIC surveys, and
the capture-history builder. The reference numbers of R package secr are in test_secr_reference.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from skywatch.camtrap.secr.capthist import from_records, read_secr_text
from skywatch.camtrap.secr.fit import fit_secr
from skywatch.camtrap.secr.likelihood import Detection, _log_hazard, log_likelihood, site_terms
from skywatch.camtrap.secr.mask import Mask, make_mask
from skywatch.camtrap.secr.simulate import simulate_capthist
from skywatch.camtrap.secr.surface import _chunks, posterior_surfaces
from skywatch.errors import CamtrapError


def test_proximity_likelihood_by_hand() -> None:
    # 2 detectors, 2 occasions, 2 mask cells of 1 ha; one animal seen at detector 0 on occasion 0 only.
    xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    mask = Mask(xy=np.array([[0.0, 0.0], [100.0, 0.0]]), spacing=100.0, buffer=100.0)
    ch = from_records([("a", 0, 0)], ["t0", "t1"], xy, np.ones((2, 2)), detector="proximity")
    det = Detection(detectfn="HN", g0=0.3, sigma=50.0)
    g_far = 0.3 * math.exp(-(100.0**2) / (2 * 50.0**2))  # g at 100 m
    # centre at cell 0: p00 = 0.3, p01 = g_far; caught at 0 on occasion 0, missed at 1, missed both on occasion 1
    pr0 = 0.3 * (1 - g_far) * (1 - 0.3) * (1 - g_far)
    pr1 = g_far * (1 - 0.3) * (1 - g_far) * (1 - 0.3)  # centre at cell 1: roles swap
    pdot = 1 - ((1 - 0.3) * (1 - g_far)) ** 2  # same for both cells by symmetry
    a = 2 * pdot * 1.0
    d = 0.7
    expected = math.log(d) - d * a + math.log((pr0 + pr1) * 1.0)  # one history, multinomial term log(1!) = 0
    assert log_likelihood(ch, mask, d, det) == pytest.approx(expected, rel=1e-12)


def test_multi_catch_likelihood_by_hand() -> None:
    xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    mask = Mask(xy=np.array([[0.0, 0.0]]), spacing=100.0, buffer=100.0)
    ch = from_records([("a", 0, 1)], ["t0", "t1"], xy, np.ones((2, 1)), detector="multi")
    det = Detection(detectfn="HN", g0=0.4, sigma=80.0)
    g = [0.4, 0.4 * math.exp(-(100.0**2) / (2 * 80.0**2))]
    h = [-math.log(1 - v) for v in g]
    total = sum(h)
    pr = (1 - math.exp(-total)) * h[1] / total  # caught, and by detector 1 (competing hazards)
    pdot = 1 - math.exp(-total)
    d = 2.0
    expected = math.log(d) - d * pdot + math.log(pr)
    assert log_likelihood(ch, mask, d, det) == pytest.approx(expected, rel=1e-12)


def test_identical_histories_carry_the_multinomial_term() -> None:
    xy = np.array([[0.0, 0.0], [60.0, 0.0]])
    mask = make_mask(xy, buffer=100.0)
    det = Detection(detectfn="HN", g0=0.3, sigma=40.0)
    one = from_records([("a", 0, 0), ("b", 1, 1)], ["t0", "t1"], xy, np.ones((2, 2)), detector="proximity")
    same = from_records([("a", 0, 0), ("b", 0, 0)], ["t0", "t1"], xy, np.ones((2, 2)), detector="proximity")
    alt = from_records([("a", 0, 0), ("b", 1, 0)], ["t0", "t1"], xy, np.ones((2, 2)), detector="proximity")
    # "same" has two identical histories: n!/n_w! = 1 instead of 2! = 2, i.e. log L lower by log 2 than the
    # same data counted as distinct; alt has the same per-animal terms as same but distinct histories.
    assert log_likelihood(alt, mask, 1.0, det) - log_likelihood(same, mask, 1.0, det) == pytest.approx(math.log(2))
    assert np.isfinite(log_likelihood(one, mask, 1.0, det))


def _survey(seed: int, detector: str = "proximity", detectfn: str = "HN") -> tuple[float, object, Mask, object]:
    rng = np.random.default_rng(seed)
    g = np.arange(6) * 3000.0
    xy = np.array([(x, y) for x in g for y in g]) + rng.uniform(-500, 500, (36, 2))
    mask = make_mask(xy, buffer=6000.0)
    truth = 2e-4  # animals per ha = 2 per 100 km2
    det = Detection(detectfn=detectfn, g0=0.06, sigma=1500.0, z=4.0)
    ch, _ = simulate_capthist(xy, np.ones((36, 60)), mask, density_ha=truth, det=det, detector=detector, rng=rng)
    return truth, ch, mask, det


def test_fit_recovers_known_density_from_synthetic_surveys() -> None:
    estimates, covered = [], 0
    for seed in range(8):
        truth, ch, mask, _ = _survey(seed)
        fit = fit_secr(ch, mask)
        assert fit.converged
        estimates.append(fit.density.estimate)
        covered += fit.density.lcl <= truth <= fit.density.ucl
        assert fit.density.lcl < fit.density.estimate < fit.density.ucl
    assert np.mean(estimates) == pytest.approx(2e-4, rel=0.25)  # 8 surveys of ~30 animals each
    assert covered >= 6


def test_hazard_rate_and_multi_catch_fit() -> None:
    truth, ch, mask, _ = _survey(11, detector="multi", detectfn="HR")
    fit = fit_secr(ch, mask, detectfn="HR")
    assert fit.z is not None and fit.z.estimate > 0 and fit.detector == "multi"
    assert fit.density.lcl <= truth * 3 and fit.density.ucl >= truth / 3


def test_density_surface_integrates_to_the_population_in_the_mask() -> None:
    _, ch, mask, _ = _survey(3)
    fit = fit_secr(ch, mask)
    surface, centres = posterior_surfaces(ch, mask, fit, budget=997 * 200)  # evaluated in pieces == one pass
    expected_total = fit.density.estimate * mask.area_ha  # at the MLE, D = n / a, so n + D (A - a) = D A
    assert surface.sum() * mask.cell_ha / 100 == pytest.approx(expected_total, rel=1e-3)
    assert len(centres) == ch.n and (centres.sd_x > 0).all()
    pieces = posterior_surfaces(ch, mask, fit, budget=300 * 200)[1]
    np.testing.assert_allclose(pieces[["x", "y", "sd_x", "sd_y"]], centres[["x", "y", "sd_x", "sd_y"]], rtol=1e-9)


def test_log_hazard_is_the_closed_form_near_and_log_g_far() -> None:
    d = np.concatenate([np.linspace(0.0, 40_000.0, 4001), np.geomspace(40_000.0, 1e7, 200)])
    for det in (Detection(detectfn="HN", g0=0.9, sigma=1500.0), Detection(detectfn="HR", g0=0.2, sigma=900.0, z=3.0)):
        with np.errstate(divide="ignore", over="ignore"):
            if det.detectfn == "HN":
                log_g = math.log(det.g0) - d**2 / (2 * det.sigma**2)
            else:
                log_g = math.log(det.g0) + np.log(-np.expm1(-((np.maximum(d, 1e-300) / det.sigma) ** -det.z)))
            g = np.exp(log_g)
            expected = np.where(g > 1e-8, np.log(-np.log1p(-g)), log_g)  # h = -log(1 - g), and h = g when tiny
        got = _log_hazard((d**2)[:, None], det)[:, 0]
        assert (g > 1e-8).any() and (g <= 1e-8).any()  # both branches are exercised
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_proximity_terms_grouped_by_detector_and_usage_equal_one_column_per_detection() -> None:
    # repeat visits to one station, fractional usage (a camera that ran part of an occasion), two animals
    xy = np.array([[0.0, 0.0], [800.0, 0.0], [0.0, 900.0]])
    usage = np.array([[1.0, 1.0, 0.5, 1.0], [1.0, 0.25, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]])
    records = [("a", 0, 0), ("a", 1, 0), ("a", 2, 0), ("a", 1, 1), ("b", 1, 1), ("b", 3, 2), ("b", 2, 2)]
    ch = from_records(records, ["t0", "t1", "t2"], xy, usage, detector="proximity")
    traps, uses, counts = ch.effort_pairs  # (t0, 1) (t0, .5) (t1, .25) (t2, 1) for 7 detections
    assert traps.tolist() == [0, 0, 1, 2] and uses.tolist() == [0.5, 1.0, 0.25, 1.0] and counts.sum() == len(records)
    mask = make_mask(xy, buffer=2000.0, spacing=100.0)
    det = Detection(detectfn="HN", g0=0.2, sigma=600.0)
    logp, pdot = site_terms(ch, mask, det)
    # the per-detection form: each detection's log p - log(1 - p) at its own detector and usage
    h = np.exp(_log_hazard(((mask.xy[:, None, :] - xy[None]) ** 2).sum(-1), det))
    expected = np.tile(-(h @ usage.sum(axis=1)), (ch.n, 1))
    for i, k, s in zip(ch.animal, ch.trap, ch.occasion, strict=True):
        hu = h[:, k] * usage[k, s]
        expected[i] += np.log(-np.expm1(-hu)) + hu
    np.testing.assert_allclose(logp, expected, rtol=1e-12)
    np.testing.assert_allclose(pdot, -np.expm1(-(h @ usage.sum(axis=1))), rtol=1e-12)


def test_posterior_surfaces_in_one_piece_equal_many() -> None:
    _, ch, mask, _ = _survey(5)
    fit = fit_secr(ch, mask)
    whole, centres = posterior_surfaces(ch, mask, fit)
    assert len(_chunks(mask, ch, 400 * 200)) > 1 and len(_chunks(mask, ch)) == 1
    parts, pieces = posterior_surfaces(ch, mask, fit, budget=400 * 200)  # several pieces, two passes
    np.testing.assert_allclose(parts, whole, rtol=1e-10)
    cols = ["x", "y", "sd_x", "sd_y"]
    np.testing.assert_allclose(pieces[cols], centres[cols], rtol=1e-9)


def test_secr_needs_recaptures_and_reports_bad_text(tmp_path: Path) -> None:
    xy = np.array([[0.0, 0.0], [60.0, 0.0]])
    lonely = from_records([("a", 0, 0)], ["t0", "t1"], xy, np.ones((2, 1)), detector="multi")
    with pytest.raises(CamtrapError, match="several identified animals"):
        fit_secr(lonely, make_mask(xy, buffer=100))
    (tmp_path / "trap.txt").write_text("# ID X Y\nA 0 0\nB 60 0\n")
    (tmp_path / "capt.txt").write_text("1 an1 1 A\n1 an1 2 C\n")
    with pytest.raises(CamtrapError, match=r"capt.txt' line 2 column 'Detector': 'C'"):
        read_secr_text(tmp_path / "capt.txt", tmp_path / "trap.txt")
    (tmp_path / "capt.txt").write_text("1 an1 x A\n")
    with pytest.raises(CamtrapError, match="'Occasion': 'x' is not a whole number"):
        read_secr_text(tmp_path / "capt.txt", tmp_path / "trap.txt")
    (tmp_path / "capt.txt").write_text("1 an1 1 A\n1 an1 1 B\n")
    ch = read_secr_text(tmp_path / "capt.txt", tmp_path / "trap.txt", detector="multi")
    assert ch.merged == 1  # multi-catch: the second detection on occasion 1 is merged, and counted
    # usage strings (secr's binary usage): B was off on occasion 2, so a capture there is an error
    (tmp_path / "trap.txt").write_text("# ID X Y usage\nA 0 0 111\nB 60 0 101\n")
    (tmp_path / "capt.txt").write_text("1 an1 1 A\n1 an1 3 B\n")
    ch = read_secr_text(tmp_path / "capt.txt", tmp_path / "trap.txt")
    assert ch.occasions == 3 and ch.usage.tolist() == [[1, 1, 1], [1, 0, 1]]
    (tmp_path / "capt.txt").write_text("1 an1 1 A\n1 an1 2 B\n")
    with pytest.raises(CamtrapError, match="'B' on occasion 2, when that detector was not in use"):
        read_secr_text(tmp_path / "capt.txt", tmp_path / "trap.txt")
    (tmp_path / "trap.txt").write_text("A 0 0\nB 60 0\n")
    with pytest.raises(CamtrapError, match="captures on occasion 2, but only 1 occasions"):
        read_secr_text(tmp_path / "capt.txt", tmp_path / "trap.txt", occasions=1)
