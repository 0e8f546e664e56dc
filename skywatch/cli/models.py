"""`skywatch models list`, `skywatch train`, `skywatch eval`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from skywatch.cli.options import json_option
from skywatch.errors import DataError

__all__ = ["evaluate_cmd", "models", "train"]

TASKS = ("fire", "active-fire", "clearcut", "roads")
DEFAULT_MODEL = {"fire": "burn-scar-fcn", "active-fire": "active-fire-fcn", "clearcut": "clearcut-fcn",
                 "roads": "roads-fcn"}  # fmt: skip


@click.group()
def models() -> None:
    """The shipped segmentation models."""


@models.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Name, task, bands, version, sha256 and headline metrics of each shipped model."""
    from skywatch.detect.models import list_models

    specs = list_models()
    if as_json:
        click.echo(json.dumps([s.to_json() for s in specs]))
        return
    table = Table("name", "task", "version", "bands", "sha256", "F1 model / baseline")
    for s in specs:
        pooled = s.metrics.get("pooled", {})
        f1 = ""
        if "model" in pooled:
            f1 = f"{pooled['model'].get('f1', 0):.3f} / {pooled.get('baseline', {}).get('f1', float('nan')):.3f}"
        table.add_row(s.name, s.task, s.version, ",".join(s.bands), s.sha256[:12], f1)
    Console().print(table)


@click.command()
@click.argument("task", type=click.Choice(TASKS))
@click.option("--config", "config", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="Training config (models/<name>.train.yaml).")  # fmt: skip
@click.option("--cv", type=click.Choice(["none", "loeo"]), default="none", show_default=True,
              help="loeo: leave-one-event-out cross-validation instead of training the shipped model.")  # fmt: skip
@click.option("--data", "data", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Data folder overriding the config's (e.g. the CAL FIRE chips).")  # fmt: skip
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), help="Where weights go (models/).")
@json_option
def train(task: str, config: Path, cv: str, data: Path | None, out: Path | None, as_json: bool) -> None:
    """Train TASK's model from its config (reproduces the shipped weights), or cross-validate it."""
    from skywatch.training.evaluate import evaluate
    from skywatch.training.train import cross_validate, export_model, load_config, scenes_for, train_state

    cfg = load_config(config)
    if cfg.task != task:
        raise DataError(f"config {str(config)!r} is for task {cfg.task!r}, not {task!r}")
    scenes = scenes_for(cfg, "train", shared_root=data)
    say = (lambda m: click.echo(m, err=True)) if not as_json else None
    from skywatch.detect.models import models_dir
    from skywatch.training.card import write_card

    folder = out or models_dir()
    if cv == "loeo":
        result = cross_validate(cfg, scenes, log=say)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{cfg.name}.cv.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        click.echo(json.dumps(result, indent=None if as_json else 1))
        return
    val = scenes_for(cfg, "val", shared_root=data) if "val_seeds" in cfg.data else []
    state, losses = train_state(cfg, scenes, val)
    metrics: dict[str, object] = {"train_loss_per_epoch": [round(v, 4) for v in losses]}
    if "eval_seeds" in cfg.data:
        from skywatch.detect.models import SegModel, build_module

        module = build_module(cfg.architecture, len(cfg.features), len(cfg.classes))
        module.load_state_dict(state)
        module.eval()
        from skywatch.training.train import spec_for

        result = evaluate(SegModel(spec_for(cfg), module), scenes_for(cfg, "eval"), task=task)
        metrics.update({"protocol": f"held-out synthetic seeds {cfg.data['eval_seeds']}", **result})
    spec = export_model(cfg, state, metrics=metrics, out_dir=folder,
                        trained_on=", ".join(s.name for s in scenes))  # fmt: skip
    cv_file = folder / f"{cfg.name}.cv.json"
    cv_result = json.loads(cv_file.read_text(encoding="utf-8")) if cv_file.exists() else None
    write_card(spec, cfg.data["kind"], folder / f"{cfg.name}.md", cv=cv_result, limitations=cfg.limitations)
    click.echo(json.dumps(spec.to_json()) if as_json else f"wrote {spec.file} (sha256 {spec.sha256})")


@click.command("eval")
@click.argument("task", type=click.Choice(TASKS))
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    required=True,
    help="fire: a folder in the CAL FIRE chip layout; clearcut/roads: sample packs (skywatch sample).",
)
@click.option("--model", "model_name", help="Shipped model name (default: the task's).")
@json_option
def evaluate_cmd(task: str, data: Path, model_name: str | None, as_json: bool) -> None:
    """Score the shipped model and the spectral baseline on the same pixels (per scene and pooled)."""
    from skywatch.detect.models import get_model
    from skywatch.training.evaluate import evaluate
    from skywatch.training.scenes import calfire_scenes, sample_pack_scenes

    model = get_model(model_name or DEFAULT_MODEL[task])
    if task == "fire" and (data / "post_fire").is_dir():
        scenes = list(calfire_scenes(data))
    else:
        label = {"fire": "burn", "active-fire": "fire_active", "clearcut": "clearcut", "roads": "road"}[task]
        scenes = list(sample_pack_scenes(data, label=label))
    lacking = [s.name for s in scenes if any(i not in s.arrays for i in model.spec.inputs)]
    if lacking:
        click.echo(f"not scored (no {', '.join(model.spec.inputs)}): {', '.join(lacking)}", err=True)
    scenes = [s for s in scenes if s.name not in lacking]
    seen = set(model.spec.trained_on.split(", ")) if model.spec.trained_on else set()
    skipped = [s.name for s in scenes if s.name in seen]
    if skipped:
        click.echo(f"not scored (the model was trained on them): {', '.join(skipped)}", err=True)
    scenes = [s for s in scenes if s.name not in seen]
    if not scenes:
        raise DataError("no scene left to score: every scene was used to train this model")
    result = evaluate(model, scenes, task=task)
    result["model_name"] = model.spec.name
    result["excluded_seen_in_training"] = skipped
    if as_json:
        click.echo(json.dumps(result))
        return
    table = Table("scene", "model F1", "model IoU", "baseline F1", "baseline IoU", title=f"{model.spec.name} on {data}")
    for row in result["per_scene"]:
        b = row.get("baseline", {})
        table.add_row(row["scene"], f"{row['model']['f1']:.3f}", f"{row['model']['iou']:.3f}",
                      f"{b.get('f1', float('nan')):.3f}", f"{b.get('iou', float('nan')):.3f}")  # fmt: skip
    p = result["pooled"]
    table.add_row("POOLED", f"{p['model']['f1']:.3f}", f"{p['model']['iou']:.3f}",
                  f"{p.get('baseline', {}).get('f1', float('nan')):.3f}",
                  f"{p.get('baseline', {}).get('iou', float('nan')):.3f}")  # fmt: skip
    Console().print(table)
