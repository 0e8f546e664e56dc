"""Metrics on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from skywatch.training.metrics import counts, length_metrics, pooled, scores


def test_confusion_and_scores() -> None:
    truth = np.zeros((10, 10), bool)
    truth[:5] = True  # 50 positives
    pred = np.zeros((10, 10), bool)
    pred[:4] = True  # 40 TP
    pred[9, :5] = True  # 5 FP
    c = counts(pred, truth)
    assert (c.tp, c.fp, c.fn, c.tn) == (40, 5, 10, 45)
    s = scores(c)
    assert s["precision"] == pytest.approx(40 / 45, abs=1e-4)
    assert s["recall"] == pytest.approx(0.8)
    assert s["f1"] == pytest.approx(80 / 95, abs=1e-4)
    assert s["iou"] == pytest.approx(40 / 55, abs=1e-4)
    valid = np.ones_like(truth)
    valid[9] = False  # the FPs are outside the valid area
    assert counts(pred, truth, valid).fp == 0
    assert pooled([c, c])["f1"] == s["f1"]


def test_road_length_metrics() -> None:
    truth = np.zeros((50, 50), bool)
    truth[25, 5:45] = True
    half = np.zeros_like(truth)
    half[26, 5:25] = True  # one pixel off, half the length
    m = length_metrics(half, truth, buffer_px=2)
    assert m["correctness"] == pytest.approx(1.0)
    assert 0.45 < m["completeness"] < 0.55
    assert length_metrics(truth, truth)["quality"] == pytest.approx(1.0)
    assert length_metrics(np.zeros_like(truth), truth)["completeness"] == 0
