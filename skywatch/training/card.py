"""Model cards: training data, bands, resolution, metrics on held-out data next to the baseline, limitations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skywatch.detect.models import ModelSpec

__all__ = ["write_card"]

_DATA = {
    "calfire": (
        "REAL Sentinel-2 L2A chips (20 m, EPSG:4326) of 14 California fires of 2024-2025 with CAL FIRE perimeter "
        "masks (github.com/Runan-Duan/Wildfire_Detection, via ../shared/data/real/burn-scars-calfire-s2; no licence "
        "file, so the chips are used here and not redistributed). KENNETH_20250109 is excluded: its label does "
        "not match its image. Post-fire B8 and B12 only, because 10 of 14 events have no pre-fire image. Training "
        "also sees SYNTHETIC burn scenes of mixed forest (seeds in the config); they are never scored."
    ),
    "synthetic": (
        "SYNTHETIC before/after scene pairs drawn by skywatch's sample generator (skywatch/sample/scene.py) from "
        "the training seeds in the config; spectra partly measured from real Sentinel-2 (eo-learn patch)."
    ),
}


def _table(rows: dict[str, dict[str, float]]) -> str:
    lines = ["| method | precision | recall | F1 | IoU |", "| --- | --- | --- | --- | --- |"]
    for name, s in rows.items():
        lines.append(f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['iou']:.3f} |")
    return "\n".join(lines)


def write_card(
    spec: ModelSpec, data_kind: str, path: Path, *, cv: dict[str, Any] | None = None, limitations: Sequence[str] = ()
) -> Path:
    """Write the model card of ``spec`` to ``path`` (Markdown)."""
    parts = [
        f"# Model card: {spec.name} {spec.version}",
        "",
        f"- Task: **{spec.task}** ({' / '.join(spec.classes)}), TorchGeo `SemanticSegmentationTask`, "
        f"architecture {json.dumps(spec.architecture)} (TorchGeo FCN, receptive radius 5 px; tiled with a "
        f"{spec.halo} px halo).",
        f"- Inputs (checked at load time): {', '.join(spec.inputs)}; features: {', '.join(spec.features)}.",
        "- Resolution: 10 m grid (20 m bands resampled); reflectance 0-1 (Sentinel-2 L2A).",
        f"- Weights: `{spec.file}`, sha256 `{spec.sha256}` (verified before every load; safetensors).",
        f"- Decision threshold: {spec.threshold} on the class probability (fixed, not tuned on evaluation data).",
        "",
        "## Training data",
        "",
        _DATA[data_kind],
        "",
        f"Trained on: {spec.trained_on}.",
        "",
        "## Metrics on held-out data, next to the spectral baseline on the same pixels",
        "",
    ]
    if cv is not None:
        parts += [
            f"Protocol: {cv['protocol']} - each event scored by a model trained without it (the shipped model, "
            "trained on all events, is never scored on them).",
            "",
            _table({"model": cv["pooled"]["model"], "dNBR >= 0.10 (Key & Benson)": cv["pooled"]["baseline"],
                    "dNBR, threshold calibrated on the training events": cv["pooled"]["baseline_calibrated"]}),
            "",
            "Per event (model F1 / dNBR F1): "
            + ", ".join(f"{r['scene']} {r['model']['f1']:.2f}/{r.get('baseline', {}).get('f1', float('nan')):.2f}"
                        for r in cv["per_scene"]) + ".",
        ]  # fmt: skip
    pooled = spec.metrics.get("pooled")
    if pooled:
        parts += [
            f"Protocol: {spec.metrics.get('protocol', 'held-out scenes')} (SYNTHETIC).",
            "",
            _table({k: v for k, v in pooled.items() if k in ("model", "baseline")}),
        ]
        if "model_length" in pooled:
            ml, bl = pooled["model_length"], pooled.get("baseline_length", {})
            parts += [
                "",
                f"Road length metrics (2 px buffer): model completeness {ml['completeness']:.3f}, correctness "
                f"{ml['correctness']:.3f}; baseline {bl.get('completeness', float('nan')):.3f}, "
                f"{bl.get('correctness', float('nan')):.3f}.",
            ]
    parts += [
        "",
        "## Limitations",
        "",
        "- The synthetic scenes share the generator's spectra with the baselines' design: scores on them show that "
        "the chain works, not how it performs over real Primorye forest." if data_kind == "synthetic" else
        "- California chaparral and conifer fires, not Primorye mixed forest; perimeter labels include unburned "
        "islands, which caps pixel IoU below 1.",
        "- A small FCN sees a 11 x 11 px neighbourhood: it maps spectral change, not object shape.",
        "- Not evaluated on real imagery of the park: no labelled disturbance data of the park were available.",
        *(f"- {line}" for line in limitations),
        "",
    ]  # fmt: skip
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
