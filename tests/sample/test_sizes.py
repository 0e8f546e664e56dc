"""Sample packs of other sizes (``write_sample(size_px=...)``, used by benchmarks/e2e_scaling.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from skywatch.aoi import load_aoi
from skywatch.errors import DataError
from skywatch.jobs.sample import write_sample
from skywatch.sample.scene import SAMPLE_BOUNDS


def test_a_smaller_pack_keeps_the_corner_and_halves_the_20m_bands(tmp_path: Path) -> None:
    out = write_sample(tmp_path / "pack", seed=7, size_px=400)
    items = sorted(p for p in (out / "stac" / "sentinel-2-c1-l2a").iterdir() if p.is_dir())
    assert len(items) == 2
    with rasterio.open(items[0] / "B04.tif") as b04, rasterio.open(items[0] / "B11.tif") as b11:
        assert b04.shape == (400, 400) and b11.shape == (200, 200)
        assert b04.bounds.left == SAMPLE_BOUNDS[0] and b04.bounds.top == SAMPLE_BOUNDS[3]
        assert b04.bounds.right - b04.bounds.left == 4000.0
    truth = json.loads((out / "truth" / "truth.json").read_text())
    assert truth["bounds"] == [SAMPLE_BOUNDS[0], SAMPLE_BOUNDS[3] - 4000.0, SAMPLE_BOUNDS[0] + 4000.0, SAMPLE_BOUNDS[3]]
    assert load_aoi(str(out / "aoi.geojson")).area_km2 == pytest.approx(16.0, rel=0.01)
    assert "4 km square" in (out / "README.md").read_text()


@pytest.mark.parametrize("size", [199, 201, 100, True, 400.0])
def test_sizes_that_cannot_make_a_pack_are_refused(tmp_path: Path, size: object) -> None:
    with pytest.raises(DataError, match="size_px must be an even number"):
        write_sample(tmp_path / "pack", size_px=size)  # type: ignore[arg-type]
    assert not (tmp_path / "pack").exists()
