"""Evaluation: model and spectral baseline on the same pixels, per scene and pooled.

Baselines: fire - dNBR >= 0.10 (Key & Benson "low"), from ``pre_fire/`` or the chip's ``dnbr/``; clearcut -
:mod:`skywatch.detect.clearcut`; roads - :mod:`skywatch.detect.roads`. Scores are computed only where both
methods have data (valid pixels, finite dNBR).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dask.array as da
import numpy as np

from skywatch.detect.clearcut import bright_change, clearcut_baseline, forest_mask
from skywatch.detect.fire import active_fire
from skywatch.detect.models import SegModel, compute_features
from skywatch.detect.roads import road_baseline
from skywatch.detect.tiled import predict_tiled
from skywatch.training.metrics import counts, length_metrics, pooled, scores
from skywatch.training.scenes import Scene

__all__ = ["DNBR_BASELINE", "baseline_mask", "evaluate", "model_probability"]

DNBR_BASELINE = 0.10


def model_probability(model: SegModel, scene: Scene) -> np.ndarray:
    """The model's probability over the scene, predicted tile by tile under Dask."""
    model.check_inputs(list(scene.arrays))
    feats = compute_features(model.spec.features, scene.arrays)
    lazy = predict_tiled(model.predict_features, da.from_array(feats, chunks=(-1, 512, 512)), halo=model.spec.halo,
                         chunk_px=512)  # fmt: skip
    return np.asarray(lazy.compute())


def baseline_mask(task: str, scene: Scene) -> np.ndarray | None:
    """The spectral baseline's detection, None when the scene lacks what it needs."""
    a = scene.arrays
    if task == "active-fire":
        fire, _ = active_fire(a["post:blue"], a["post:nir08"], a["post:swir16"], a["post:swir22"], scene.valid)
        return fire
    if task == "fire":
        if scene.dnbr is None:
            return None
        with np.errstate(invalid="ignore"):
            return np.asarray(scene.dnbr >= DNBR_BASELINE)
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi_pre = (a["pre:nir"] - a["pre:red"]) / (a["pre:nir"] + a["pre:red"])
        ndvi_post = (a["post:nir"] - a["post:red"]) / (a["post:nir"] + a["post:red"])
    if task == "clearcut":
        change = bright_change(ndvi_pre, ndvi_post, a["post:red"], scene.valid)
        return clearcut_baseline(change, forest_mask(ndvi_pre, a["pre:swir16"]))
    if task == "roads":
        change = bright_change(ndvi_pre, ndvi_post, a["post:red"], scene.valid, ndvi_drop=0.2)
        with np.errstate(invalid="ignore"):
            road, _ = road_baseline(change, ndvi_pre >= 0.6)
        return road
    raise ValueError(task)


def evaluate(model: SegModel, scenes: Iterable[Scene], *, task: str) -> dict[str, Any]:
    """``{"pooled": {"model": ..., "baseline": ...}, "per_scene": [...]}`` (+ ``roads`` length metrics)."""
    per_scene = []
    model_counts, base_counts = [], []
    for scene in scenes:
        prob = model_probability(model, scene)
        base = baseline_mask(task, scene)
        same = scene.valid & np.isfinite(prob)
        if base is not None and scene.dnbr is not None:
            same &= np.isfinite(scene.dnbr)
        pred = np.nan_to_num(prob) >= model.spec.threshold
        mc = counts(pred, scene.truth, same)
        entry: dict[str, Any] = {"scene": scene.name, "synthetic": scene.synthetic, "pixels": int(same.sum()),
                                 "model": scores(mc)}  # fmt: skip
        model_counts.append(mc)
        if base is not None:
            bc = counts(base, scene.truth, same)
            base_counts.append(bc)
            entry["baseline"] = scores(bc)
        if task == "roads":
            entry["model_length"] = length_metrics(pred & same, scene.truth & same)
            if base is not None:
                entry["baseline_length"] = length_metrics(base & same, scene.truth & same)
        per_scene.append(entry)
    result: dict[str, Any] = {"pooled": {"model": pooled(model_counts)}, "per_scene": per_scene}
    if base_counts:
        result["pooled"]["baseline"] = pooled(base_counts)
    if task == "roads":
        for key in ("model_length", "baseline_length"):
            rows = [s[key] for s in per_scene if key in s]
            if rows:
                result["pooled"][key] = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
    return result
