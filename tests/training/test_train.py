"""A short training run on a tiny SYNTHETIC set lowers the loss; exported weights load back by sha256."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from skywatch.detect.models import ModelError, build_module, compute_features, get_model, list_models
from skywatch.training.scenes import synthetic_scenes
from skywatch.training.train import TrainConfig, export_model, train_state

CFG = TrainConfig(
    name="tiny-clearcut", task="clearcut", version="0.0.1",
    inputs=["pre:red", "pre:nir", "post:red", "post:nir"],
    features=["pre:red", "pre:nir", "post:red", "post:nir", "ndvi(pre)", "ndvi(post)"],
    classes=["no_change", "clearcut"], architecture={"model": "fcn", "num_filters": 8},
    data={"kind": "synthetic", "label": "clearcut"},
    train={"epochs": 3, "patch_size": 32, "batch_size": 8, "length": 64, "lr": 0.01, "seed": 0,
           "class_weights": [1.0, 5.0]},
)  # fmt: skip


def _loss(state: dict[str, torch.Tensor] | None, feats: np.ndarray, truth: np.ndarray) -> float:
    module = build_module(CFG.architecture, len(CFG.features), 2)
    if state is None:
        torch.manual_seed(0)
        module = build_module(CFG.architecture, len(CFG.features), 2)
    else:
        module.load_state_dict(state)
    with torch.no_grad():
        logits = module(torch.from_numpy(np.nan_to_num(feats)[None]))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(truth[None].astype(np.int64)),
                                                 weight=torch.tensor([1.0, 5.0]))  # fmt: skip
    return float(loss)


@pytest.mark.slow
def test_short_training_lowers_the_loss_and_exports(tmp_path: Path) -> None:
    scenes = list(synthetic_scenes([11, 12], label="clearcut", size_px=160))
    held = next(iter(synthetic_scenes([13], label="clearcut", size_px=160)))
    feats = compute_features(CFG.features, held.arrays)
    before = _loss(None, feats, held.truth)
    state, losses = train_state(CFG, scenes, [])
    after = _loss(state, feats, held.truth)
    assert after < before * 0.8, (before, after, losses)
    spec = export_model(CFG, state, metrics={"note": "test"}, out_dir=tmp_path)
    assert [s.name for s in list_models(tmp_path)] == ["tiny-clearcut"]
    model = get_model("tiny-clearcut", root=tmp_path)
    prob = model.predict(held.arrays)
    assert prob.shape == held.truth.shape
    with pytest.raises(ModelError, match="needs inputs"):
        model.predict({"post:red": held.arrays["post:red"]})
    # a damaged file is refused
    weights = tmp_path / spec.file
    weights.write_bytes(weights.read_bytes()[:-8] + b"\\0" * 8)
    with pytest.raises(ModelError, match="checksum"):
        get_model("tiny-clearcut", root=tmp_path)
    assert json.loads((tmp_path / "tiny-clearcut.json").read_text())["sha256"] == spec.sha256
