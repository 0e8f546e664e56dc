"""Tiled inference equals whole-array inference; masked pixels never become detections."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import torch
from torchgeo.models import FCN

from skywatch.detect.models import ModelSpec, SegModel
from skywatch.detect.tiled import predict_tiled


def _model(n_features: int = 3) -> SegModel:
    torch.manual_seed(0)
    spec = ModelSpec(name="t", task="clearcut", version="0", inputs=["post:red"], features=["post:red"] * n_features,
                     architecture={"model": "fcn", "num_filters": 8}, classes=["a", "b"], threshold=0.5, sha256="",
                     file="", halo=6)  # fmt: skip
    return SegModel(spec, FCN(in_channels=n_features, classes=2, num_filters=8).eval())


def test_tiles_equal_whole_and_show_no_seams() -> None:
    m = _model()
    x = np.random.default_rng(1).random((3, 300, 257)).astype(np.float32)
    whole = m.predict_features(x)
    tiled = predict_tiled(m.predict_features, da.from_array(x), halo=6, chunk_px=64).compute()
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
    # a too-small halo does leave seams: the test can fail
    seamy = predict_tiled(m.predict_features, da.from_array(x), halo=2, chunk_px=64).compute()
    assert np.abs(seamy - whole).max() > 1e-4


def test_masked_pixels_give_nodata() -> None:
    m = _model()
    x = np.random.default_rng(2).random((3, 64, 64)).astype(np.float32)
    x[:, 10:20, 10:20] = np.nan
    prob = m.predict_features(x)
    assert np.isnan(prob[10:20, 10:20]).all() and np.isfinite(prob[:10]).all()
    assert not (np.nan_to_num(prob[10:20, 10:20]) >= 0.5).any()


def test_strips_equal_one_pass_with_nan_at_strip_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """SegModel's strips (STRIP_ROWS rows + the model's halo) against one pass over the whole array: rows not a
    multiple of the strip, NaN/inf just either side of a strip boundary stay NaN there and only there."""
    from skywatch.detect import models

    m = _model()
    strip = models.STRIP_ROWS
    x = np.random.default_rng(3).random((3, 2 * strip + 37, 70)).astype(np.float32)
    x[1, strip - 1, 10] = np.nan
    x[0, strip, 20] = np.inf
    strips = m.predict_features(x)
    monkeypatch.setattr(models, "STRIP_ROWS", x.shape[1])  # one pass
    whole = m.predict_features(x)
    assert np.argwhere(np.isnan(strips)).tolist() == [[strip - 1, 10], [strip, 20]]
    np.testing.assert_allclose(strips, whole, atol=1e-6, equal_nan=True)
