"""Inference speed and memory of each shipped detector over the sample, next to a naive baseline measured in
the same run: a segmentation_models_pytorch U-Net with a resnet18 encoder (random weights, nothing downloaded)
run over the whole array at once.

    .venv/bin/python benchmarks/inference.py [--size 1000] [--repeats 3]
    .venv/bin/python benchmarks/inference.py --strips [--size 1152]

``--strips``: one tile (1024 px + halo = 1152 px) through each model on one thread, in one pass over the whole
array (the baseline) and in strips of 64/96/128/256/576 rows (``skywatch.detect.models.STRIP_ROWS``), each in a fresh
process: seconds and the peak RSS the prediction added.

Figures: Mpx/s per core (pixels / wall seconds / cores) and peak RSS of a process that does only that.
Goal (issue 4): >= 1 Mpx/s per core for each model on CPU, at least 5x the naive baseline, bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
spec = json.loads(sys.argv[1])
size, variant = spec["size"], spec["variant"]
rng = np.random.default_rng(0)
if variant == "naive-unet-resnet18":
    import segmentation_models_pytorch as smp
    model = smp.Unet("resnet18", encoder_weights=None, in_channels=spec["channels"], classes=2).eval()
    side = -(-size // 32) * 32  # U-Net needs multiples of 32
    x = torch.from_numpy(rng.random((1, spec["channels"], side, side), dtype=np.float32))
    def run():
        with torch.inference_mode():
            return model(x)
else:
    import dask, dask.array as da
    from skywatch.detect.models import get_model
    from skywatch.detect.tiled import predict_tiled
    model = get_model(variant)
    feats = rng.random((len(model.spec.features), size, size), dtype=np.float32)
    def run():
        lazy = predict_tiled(model.predict_features, da.from_array(feats, chunks=(-1, 512, 512)),
                             halo=model.spec.halo, chunk_px=512)
        return lazy.compute(scheduler="threads")
run()
best = min((lambda t0: (run(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(spec["repeats"]))
print(json.dumps({"seconds": best, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


STRIPS = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from skywatch.detect import models
spec = json.loads(sys.argv[1])
model = models.get_model(spec["model"])
models.STRIP_ROWS = spec["strip"]
x = np.random.default_rng(0).random((len(model.spec.features), spec["size"], spec["size"]), dtype=np.float32)
model.predict_features(x[:, :64, :64])  # the module built, oneDNN warmed up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
best = min((lambda t0: (model.predict_features(x), time.perf_counter() - t0)[1])(time.perf_counter())
           for _ in range(spec["repeats"]))
print(json.dumps({"seconds": best, "added_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before}))
"""


def _strips(size: int, repeats: int) -> None:
    from skywatch.detect.models import list_models

    print(f"strip inference over {size} x {size} px, 1 thread, best of {repeats}; 'whole' = one pass (the baseline)")
    for spec in list_models():
        whole = None
        for strip in (size, 576, 256, 128, 96, 64):
            payload = {"model": spec.name, "strip": strip, "size": size, "repeats": repeats}
            out = subprocess.run([sys.executable, "-c", STRIPS, json.dumps(payload)], capture_output=True, text=True,
                                 check=True, cwd=REPO)  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            whole = whole or r
            label = "whole" if strip == size else f"{strip} rows"
            print(f"  {spec.name:15s} {label:9s} {r['seconds']:6.3f} s ({whole['seconds'] / r['seconds']:4.2f}x)  "
                  f"+{r['added_mib']:5.0f} MiB peak RSS")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="edge of the square array, pixels")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strips", action="store_true", help="one tile in one pass against strips of rows")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.strips:
        _strips(args.size if args.size != 1000 else 1152, args.repeats)
        return
    from skywatch.detect.models import list_models

    cores = os.cpu_count() or 1
    px = args.size * args.size
    rows = []
    for spec in list_models():
        for variant in (spec.name, "naive-unet-resnet18"):
            payload = {"size": args.size, "variant": variant, "repeats": args.repeats, "channels": len(spec.features)}
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(payload)], capture_output=True, text=True,
                                 check=True, cwd=REPO)  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((spec.name, variant, r["seconds"], px / 1e6 / r["seconds"] / cores, r["rss_mib"]))
    print(f"inference over {args.size} x {args.size} px, {cores} cores, best of {args.repeats}")
    by_model: dict[str, dict[str, float]] = {}
    for name, variant, secs, mpx, rss in rows:
        label = "skywatch (tiled, dask)" if variant == name else "naive U-Net resnet18"
        print(f"  {name:15s} {label:24s} {secs:7.2f} s  {mpx:7.2f} Mpx/s per core  peak RSS {rss:6.0f} MiB")
        by_model.setdefault(name, {})["model" if variant == name else "naive"] = secs
    for name, t in by_model.items():
        print(f"  {name}: {t['naive'] / t['model']:.1f}x the naive baseline (goal >= 5x)")


if __name__ == "__main__":
    main()
