"""`skywatch eval` on folders a user would bring: the CAL FIRE chip layout and sample packs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from skywatch.sample.scene import synthesize_scene
from skywatch.sample.spectra import BANDS


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from skywatch.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)


def _chip_folder(root: Path, seed: int, with_pre: bool) -> None:
    """A SYNTHETIC event written in the CAL FIRE chip layout (post B8/B12 x 10000, mask, dNBR or pre-fire)."""
    s = synthesize_scene(seed, size_px=240)
    name = f"SYNTH_{seed}_20251021.tif"
    for sub in ("post_fire", "masks", "dnbr", "pre_fire"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "height": 240, "width": 240, "crs": "EPSG:32652", "transform": s.transform}
    pre, post = s.reflectance
    b8, b12 = BANDS.index("B08"), BANDS.index("B12")
    with rasterio.open(root / "post_fire" / name, "w", count=5, dtype="float64", **profile) as dst:
        for i, (desc, arr) in enumerate(zip(["TCI_R", "TCI_G", "TCI_B", "B8", "B12"],
                                            [post[2] * 800, post[1] * 800, post[0] * 800, post[b8] * 1e4,
                                             post[b12] * 1e4], strict=True), start=1):  # fmt: skip
            dst.write(arr.astype("float64"), i)
            dst.set_band_description(i, desc)
    with rasterio.open(root / "masks" / name, "w", count=1, dtype="uint8", **profile) as dst:
        dst.write(s.truth["burn"].astype("uint8"), 1)
    with np.errstate(invalid="ignore"):  # the orbit-edge nodata corner is 0 / 0
        nbr = [(x[b8] - x[b12]) / (x[b8] + x[b12]) for x in (pre, post)]
    with rasterio.open(root / "dnbr" / name, "w", count=1, dtype="float32", **profile) as dst:
        dst.write((nbr[0] - nbr[1]).astype("float32"), 1)
    if with_pre:
        keys = {"B2": "B02", "B3": "B03", "B4": "B04", "B8": "B08", "B12": "B12"}
        with rasterio.open(root / "pre_fire" / name, "w", count=5, dtype="float64", **profile) as dst:
            for i, (desc, key) in enumerate(keys.items(), start=1):
                dst.write((pre[BANDS.index(key)] * 1e4).astype("float64"), i)
                dst.set_band_description(i, desc)


def test_eval_fire_on_a_chip_layout_folder(tmp_path: Path) -> None:
    _chip_folder(tmp_path / "chips", 4001, with_pre=True)
    _chip_folder(tmp_path / "chips", 4002, with_pre=False)
    r = _run("eval", "fire", "--data", str(tmp_path / "chips"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {s["scene"] for s in out["per_scene"]} == {"SYNTH_4001_20251021", "SYNTH_4002_20251021"}
    for key in ("model", "baseline"):
        assert set(out["pooled"][key]) == {"precision", "recall", "f1", "iou"}
    # dNBR finds the synthetic scar (and, unmasked here, also flags the logging and clouds of the scene)
    assert out["pooled"]["baseline"]["recall"] > 0.9
    assert all(s["pixels"] > 0 for s in out["per_scene"])


def test_eval_refuses_scenes_the_model_saw(shared: Path) -> None:
    r = _run("eval", "fire", "--data", str(shared / "data" / "real" / "burn-scars-calfire-s2"), "--json")
    assert r.returncode == 1
    assert "not scored (the model was trained on them)" in r.stderr and "APACHE_20240624" in r.stderr


@pytest.mark.slow
def test_eval_clearcut_on_sample_packs(sample_dir: Path) -> None:
    r = _run("eval", "clearcut", "--data", str(sample_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["pooled"]["baseline"]["iou"] > 0.8 and out["pooled"]["model"]["iou"] > 0.5
