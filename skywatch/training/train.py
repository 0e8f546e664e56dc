"""`skywatch train`: reproduce a shipped model from its config, and leave-one-event-out cross-validation.

The task is TorchGeo's ``SemanticSegmentationTask`` (model ``fcn``: five 3 x 3 convolutions, here with 8
filters, small enough to run at several Mpx/s per CPU core) trained by Lightning on CPU, deterministically
from the config's seed. Weights are exported as safetensors with their sha256 into ``models/``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from skywatch.detect.models import ModelSpec, build_module, models_dir, sha256_of
from skywatch.errors import DataError
from skywatch.training.datamodule import IGNORE, StackDataModule, write_stacks
from skywatch.training.scenes import Scene, calfire_scenes, synthetic_scenes

__all__ = ["TrainConfig", "cross_validate", "export_model", "load_config", "scenes_for", "spec_for", "train_state"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """A model's recipe (``models/<name>.train.yaml``)."""

    name: str
    task: str
    version: str
    inputs: list[str]
    features: list[str]
    classes: list[str]
    architecture: dict[str, Any]
    data: dict[str, Any]
    train: dict[str, Any]
    threshold: float = 0.5
    halo: int = 6
    eval: dict[str, Any] = field(default_factory=dict)
    limitations: list[str] = field(default_factory=list)


def load_config(path: Path) -> TrainConfig:
    """Read a training config (YAML, safe_load; unknown keys are errors).

    Raises:
        DataError: unreadable, unknown or missing keys.
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read training config {str(path)!r}: {exc}") from None
    known = {f.name for f in fields(TrainConfig)}
    if not isinstance(doc, dict) or set(doc) - known:
        raise DataError(f"training config {str(path)!r}: unknown keys {sorted(set(doc or {}) - known)}")
    try:
        return TrainConfig(**doc)
    except TypeError as exc:
        raise DataError(f"training config {str(path)!r}: {exc}") from None


def scenes_for(cfg: TrainConfig, split: str, *, shared_root: Path | None = None) -> list[Scene]:
    """The scenes of ``split`` (train, val or eval) named by the config's ``data`` section."""
    data = cfg.data
    if data["kind"] == "synthetic":
        seeds = data[f"{split}_seeds"]
        return list(synthetic_scenes(seeds, label=data["label"], size_px=int(data.get("size_px", 512))))
    if data["kind"] == "calfire":
        root = Path(data["path"]) if shared_root is None else shared_root
        if not root.is_dir():
            raise DataError(f"CAL FIRE chips not found at {str(root)!r} (they live in ../shared, not in the repo)")
        scenes = list(calfire_scenes(root))
        if data.get("require_pre"):  # a change model: only events with a pre-fire image
            scenes = [s for s in scenes if "pre:nir" in s.arrays]
        seeds = data.get("synthetic_seeds") or []
        if split == "train" and seeds:  # synthetic burn scenes join training only, never evaluation
            scenes += list(synthetic_scenes(seeds, label="burn", size_px=int(data.get("size_px", 512))))
        return scenes
    raise DataError(f"unknown data kind {data['kind']!r}")


def train_state(
    cfg: TrainConfig, train: list[Scene], val: list[Scene], *, epochs: int | None = None
) -> tuple[dict[str, Any], list[float]]:
    """Train on ``train`` (validating on ``val``); return the model's state dict and the per-epoch train loss."""
    import lightning.pytorch as pl
    import torch
    from torchgeo.trainers import SemanticSegmentationTask

    t = cfg.train
    pl.seed_everything(int(t.get("seed", 0)), workers=True)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    losses: list[float] = []

    class _Loss(pl.Callback):
        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            value = trainer.callback_metrics.get("train_loss")
            if value is not None:
                losses.append(float(value))

    with tempfile.TemporaryDirectory(prefix="skywatch-train-") as tmp:
        write_stacks(train, cfg.features, Path(tmp) / "train")
        # Validation only drives the task's learning-rate schedule; without a val split it reuses training
        # scenes (never evaluation ones).
        write_stacks(val or train[:2], cfg.features, Path(tmp) / "val")
        dm = StackDataModule(Path(tmp), batch_size=int(t["batch_size"]), patch_size=int(t["patch_size"]),
                             length=int(t["length"]))  # fmt: skip
        weights = t.get("class_weights")
        task = SemanticSegmentationTask(
            model="fcn", in_channels=len(cfg.features), task="multiclass", num_classes=len(cfg.classes),
            num_filters=int(cfg.architecture["num_filters"]), loss="ce", ignore_index=IGNORE,
            lr=float(t["lr"]), class_weights=torch.tensor(weights, dtype=torch.float32) if weights else None,
        )  # fmt: skip
        logging.getLogger("lightning").setLevel(logging.ERROR)
        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
        logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
        trainer = pl.Trainer(
            max_epochs=int(epochs or t["epochs"]), accelerator="cpu", devices=1, logger=False,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            num_sanity_val_steps=0, limit_val_batches=20, callbacks=[_Loss()],
            deterministic=True,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Lightning's advice about workers and logging is noise here
            logging.getLogger("lightning").setLevel(logging.ERROR)
            logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
            trainer.fit(task, dm)
    state = {k: v.detach().clone().contiguous() for k, v in task.model.state_dict().items()}
    return state, losses


def export_model(cfg: TrainConfig, state: dict[str, Any], *, metrics: dict[str, Any], out_dir: Path | None = None,
                 trained_on: str = "") -> ModelSpec:  # fmt: skip
    """Write ``<name>.safetensors`` and ``<name>.json`` (with sha256 and metrics) into ``out_dir``."""
    from safetensors.torch import save_file

    out = out_dir or models_dir()
    out.mkdir(parents=True, exist_ok=True)
    module = build_module(cfg.architecture, len(cfg.features), len(cfg.classes))
    module.load_state_dict(state)  # the state must fit the declared architecture
    weights = out / f"{cfg.name}.safetensors"
    save_file(state, str(weights), metadata={"name": cfg.name, "version": cfg.version})
    spec = ModelSpec(
        name=cfg.name, task=cfg.task, version=cfg.version, inputs=cfg.inputs, features=cfg.features,
        architecture=cfg.architecture, classes=cfg.classes, threshold=cfg.threshold, sha256=sha256_of(weights),
        file=weights.name, halo=cfg.halo, metrics=metrics, trained_on=trained_on,
        synthetic_training_data=cfg.data["kind"] == "synthetic",
    )  # fmt: skip
    (out / f"{cfg.name}.json").write_text(json.dumps(spec.__dict__, indent=1) + "\n", encoding="utf-8")
    return spec


def spec_for(cfg: TrainConfig) -> ModelSpec:
    """An in-memory spec for weights not (yet) exported."""
    return ModelSpec(
        name=cfg.name,
        task=cfg.task,
        version=cfg.version,
        inputs=cfg.inputs,
        features=cfg.features,
        architecture=cfg.architecture,
        classes=cfg.classes,
        threshold=cfg.threshold,
        sha256="",
        file="",
        halo=cfg.halo,
    )


def _calibrated_dnbr_threshold(scenes: list[Scene]) -> float:
    """The dNBR threshold with the best pooled F1 on ``scenes`` (training events only)."""
    from skywatch.training.metrics import counts, pooled

    best, best_f1 = 0.1, -1.0
    for thr in np.arange(0.02, 0.6, 0.02):
        cs = []
        for sc in scenes:
            if sc.dnbr is None:
                continue
            ok = sc.valid & np.isfinite(sc.dnbr)
            cs.append(counts(np.nan_to_num(sc.dnbr) >= thr, sc.truth, ok))
        f1 = pooled(cs)["f1"]
        if f1 > best_f1:
            best, best_f1 = float(round(thr, 2)), f1
    return best


def cross_validate(cfg: TrainConfig, scenes: list[Scene], *, log: Any = None) -> dict[str, Any]:
    """Leave-one-scene-out: train on all others, score the held-out scene (model, fixed and calibrated dNBR).

    No score is ever computed on a scene the model or a threshold saw.
    """
    from skywatch.detect.models import SegModel
    from skywatch.training.evaluate import DNBR_BASELINE, model_probability
    from skywatch.training.metrics import counts, pooled, scores

    spec = spec_for(cfg)
    per_scene, model_c, fixed_c, calib_c = [], [], [], []
    real = [s for s in scenes if not s.synthetic]
    synthetic = [s for s in scenes if s.synthetic]  # always in training, never held out
    for i, held in enumerate(real):
        train = [s for j, s in enumerate(real) if j != i] + synthetic
        state, _ = train_state(cfg, train, [])
        module = build_module(cfg.architecture, len(cfg.features), len(cfg.classes))
        module.load_state_dict(state)
        module.eval()
        same = held.valid & (np.isfinite(held.dnbr) if held.dnbr is not None else True)
        pred = np.nan_to_num(model_probability(SegModel(spec, module), held)) >= cfg.threshold
        mc = counts(pred, held.truth, same)
        entry: dict[str, Any] = {"scene": held.name, "pixels": int(np.sum(same)), "model": scores(mc)}
        model_c.append(mc)
        if held.dnbr is not None:
            fc = counts(np.nan_to_num(held.dnbr) >= DNBR_BASELINE, held.truth, same)
            fixed_c.append(fc)
            entry["baseline"] = scores(fc)
            thr = _calibrated_dnbr_threshold([s for s in train if not s.synthetic])
            cc = counts(np.nan_to_num(held.dnbr) >= thr, held.truth, same)
            calib_c.append(cc)
            entry["baseline_calibrated"] = {**scores(cc), "threshold": thr}
        per_scene.append(entry)
        if log is not None:
            log(f"fold {i + 1}/{len(real)} {held.name}: model F1 {entry['model']['f1']:.3f}")
    return {
        "protocol": "leave-one-event-out",
        "pooled": {
            "model": pooled(model_c),
            "baseline": pooled(fixed_c),
            "baseline_calibrated": pooled(calib_c),
        },
        "per_scene": per_scene,
    }
