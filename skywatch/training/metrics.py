"""Segmentation and road-graph metrics on boolean masks (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

__all__ = ["Counts", "counts", "length_metrics", "pooled", "scores"]


@dataclass(frozen=True)
class Counts:
    """Pixel confusion counts."""

    tp: int
    fp: int
    fn: int
    tn: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def counts(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> Counts:
    """Confusion counts of boolean ``pred`` against ``truth`` over ``valid`` pixels."""
    v = np.ones(truth.shape, dtype=bool) if valid is None else valid
    p, t = pred & v, truth & v
    tp = int((p & t).sum())
    fp = int((p & ~t).sum())
    fn = int((~p & t & v).sum())
    return Counts(tp, fp, fn, int(v.sum()) - tp - fp - fn)


def scores(c: Counts) -> dict[str, float]:
    """Precision, recall, F1 and IoU (0 when undefined)."""
    precision = c.tp / (c.tp + c.fp) if c.tp + c.fp else 0.0
    recall = c.tp / (c.tp + c.fn) if c.tp + c.fn else 0.0
    f1 = 2 * c.tp / (2 * c.tp + c.fp + c.fn) if c.tp else 0.0
    iou = c.tp / (c.tp + c.fp + c.fn) if c.tp else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "iou": round(iou, 4)}


def pooled(all_counts: Iterable[Counts]) -> dict[str, float]:
    """Scores of the summed counts (pooled over scenes)."""
    total = Counts(0, 0, 0, 0)
    for c in all_counts:
        total = total + c
    return scores(total)


def length_metrics(pred: np.ndarray, truth: np.ndarray, *, buffer_px: float = 2.0) -> dict[str, float]:
    """Length-based road completeness and correctness (Wiedemann et al. 1998) on skeletons.

    completeness = share of the true centre-line length within ``buffer_px`` of the predicted centre-line;
    correctness = share of the predicted length within ``buffer_px`` of the truth; quality = their combination
    TP / (TP + FP + FN) in length.
    """
    ps, ts = skeletonize(pred), skeletonize(truth)
    if not ts.any():
        return {"completeness": 0.0, "correctness": 0.0, "quality": 0.0}
    near_pred = ndimage.distance_transform_edt(~ps) <= buffer_px if ps.any() else np.zeros_like(ps)
    near_truth = ndimage.distance_transform_edt(~ts) <= buffer_px
    matched_truth = int((ts & near_pred).sum())
    matched_pred = int((ps & near_truth).sum())
    completeness = matched_truth / int(ts.sum())
    correctness = matched_pred / int(ps.sum()) if ps.any() else 0.0
    fn = int(ts.sum()) - matched_truth
    fp = int(ps.sum()) - matched_pred
    quality = matched_truth / (matched_truth + fp + fn) if matched_truth else 0.0
    return {
        "completeness": round(completeness, 4),
        "correctness": round(correctness, 4),
        "quality": round(quality, 4),
    }
