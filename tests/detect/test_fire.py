"""Spectral baselines against hand-computed values."""

from __future__ import annotations

import numpy as np

from skywatch.detect.fire import SEVERITY_NAMES, active_fire, burn_scar_baseline, dnbr_severity


def test_dnbr_classes_at_key_and_benson_boundaries() -> None:
    values = np.array([-0.30, -0.25, -0.11, -0.10, 0.0999, 0.10, 0.269, 0.27, 0.44, 0.659, 0.66, 1.2, np.nan])
    names = [SEVERITY_NAMES[c - 1] if c else "nodata" for c in dnbr_severity(values)]
    assert names == [
        "enhanced regrowth (high)",
        "enhanced regrowth (low)",
        "enhanced regrowth (low)",
        "unburned",
        "unburned",
        "low",
        "low",
        "moderate-low",
        "moderate-high",
        "moderate-high",
        "high",
        "high",
        "nodata",
    ]


def test_burn_scar_needs_dnbr_and_dark_char() -> None:
    shape = (40, 40)
    nbr_pre = np.full(shape, 0.7)
    nbr_post = np.full(shape, 0.7)
    red_post = np.full(shape, 0.02)
    nbr_post[5:20, 5:20] = 0.0  # dNBR 0.7, dark: burned
    nbr_post[25:35, 25:35] = 0.0
    red_post[25:35, 25:35] = 0.12  # bright: a clear-cut, not a burn
    valid = np.ones(shape, dtype=bool)
    valid[10, 10] = False  # masked pixels never alert
    mask, dnbr = burn_scar_baseline(nbr_pre, nbr_post, red_post, valid, min_area_px=10)
    assert mask[6:19, 6:19].sum() == 13 * 13 - 1 and not mask[10, 10]
    assert not mask[25:35, 25:35].any()
    assert np.isnan(dnbr[10, 10]) and dnbr[6, 6] == np.float64(0.7)


def test_active_fire_unambiguous_rule() -> None:
    shape = (80, 80)
    blue, nir08 = np.full(shape, 0.03), np.full(shape, 0.25)
    swir16, swir22 = np.full(shape, 0.10), np.full(shape, 0.04)
    nir08[40, 40], swir16[40, 40], swir22[40, 40] = 0.15, 0.45, 0.75  # r7/r5 = 5, r7 - r5 = 0.6, r7 > 0.5
    nir08[10, 10], swir16[10, 10], swir22[10, 10] = 0.30, 0.30, 0.45  # hot-ish soil: fails every rule
    fire, unamb = active_fire(blue, nir08, swir16, swir22, np.ones(shape, dtype=bool))
    assert fire[40, 40] and unamb[40, 40]
    assert fire.sum() == 1


def test_rdnbr_against_hand_values() -> None:
    from skywatch.detect.fire import rdnbr

    pre = np.array([0.64, 0.25, 0.0])
    post = np.array([0.0, 0.05, -0.1])
    np.testing.assert_allclose(rdnbr(pre, post), [0.64 / 0.8, 0.2 / 0.5, 0.1 / np.sqrt(0.001)])
