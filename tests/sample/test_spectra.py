"""Evaluation: the measured spectra in skywatch/sample/spectra.py come from the real eo-learn patch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skywatch.sample.spectra import BANDS, SPECTRA, WAVELENGTH_UM

L1C_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
EOLEARN_CLASS = {"forest": 2, "meadow": 3, "cropland": 1, "shrubland": 4, "settlement": 8}


@pytest.mark.evaluation
def test_measured_spectra_recomputed_from_real_data(shared: Path) -> None:
    root = shared / "data" / "real" / "eolearn-slovenia-s2l1c"
    scenes = np.load(root / "REFERENCE_SCENES_L1C_13band.npy")[2:5]  # the three cloud-free frames
    lulc = np.load(root / "mask_timeless_LULC.npy")[..., 0]
    dark = np.percentile(scenes.reshape(-1, 13), 0.5, axis=0)
    haze_b02 = dark[L1C_BANDS.index("B02")] - 0.01
    for name, code in EOLEARN_CLASS.items():
        median = np.median(scenes[:, lulc == code, :].reshape(-1, 13), axis=0)
        expected = [
            median[L1C_BANDS.index(b)] - haze_b02 * (WAVELENGTH_UM[b] / WAVELENGTH_UM["B02"]) ** -4 for b in BANDS
        ]
        np.testing.assert_allclose(SPECTRA[name], expected, atol=6e-4, err_msg=name)
