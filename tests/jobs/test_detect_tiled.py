"""Detection tile by tile equals the whole-AOI run on the SYNTHETIC sample (the halo covers every neighbourhood),
and pieces cut by tile edges come back as one feature."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box

from skywatch.aoi import load_aoi
from skywatch.detect.vectorize import join_across_tiles
from skywatch.jobs.detect import DetectResult, run_detect
from skywatch.outputs.mosaic import TiledRaster
from skywatch.sources.registry import open_source


def _run(sample_dir: Path, out: Path, task: str, method: str, tile_px: int) -> tuple[Any, Any, DetectResult, Any]:
    result = run_detect(task, source=open_source("local", env={}, path=sample_dir),
                        aoi=load_aoi(str(sample_dir / "aoi.geojson")), before=(date(2025, 9, 1), date(2025, 9, 10)),
                        after=(date(2025, 10, 15), date(2025, 10, 25)), out=out, method=method,
                        tile_px=tile_px)  # fmt: skip
    with rasterio.open(result.files[0]) as ds:
        classes = ds.read(1)
    with rasterio.open(result.files[1]) as ds:
        prob = ds.read(1)
    return classes, prob, result, pyogrio.read_dataframe(result.files[2], layer="detections")


@pytest.mark.parametrize("task,method", [("fire", "baseline"), ("roads", "model")])
def test_tiled_equals_whole(sample_dir: Path, tmp_path: Path, task: str, method: str) -> None:
    whole_c, whole_p, whole_r, whole_v = _run(sample_dir, tmp_path / "whole", task, method, 2048)
    tiled_c, tiled_p, tiled_r, tiled_v = _run(sample_dir, tmp_path / "tiled", task, method, 256)
    assert tiled_r.tiles > 4 * whole_r.tiles  # the 1000 px sample crosses many 256 px tiles
    assert (whole_c >= 2).sum() > 100
    np.testing.assert_array_equal(whole_c, tiled_c)
    np.testing.assert_allclose(whole_p, tiled_p, atol=1e-5, equal_nan=True)
    # a detection crossing tile edges is joined into one feature with the same area
    assert len(whole_v) == len(tiled_v)
    assert sorted(whole_v.area_ha) == pytest.approx(sorted(tiled_v.area_ha))
    assert all(g.is_valid for g in tiled_v.geometry)
    if task == "roads":
        lines = pyogrio.read_dataframe(tiled_r.files[2], layer="centrelines")
        assert lines.length_km.max() > 2  # the long road is one line, not pieces per tile


def test_tiled_raster_writes_windows_into_a_cog(tmp_path: Path) -> None:
    transform = Affine(10, 0, 500_000, 0, -10, 4_800_000)
    raster = TiledRaster(tmp_path / "work.tif", shape=(300, 500), transform=transform, epsg=32652, dtype="uint8",
                         nodata=0)  # fmt: skip
    raster.write(np.full((100, 200), 2, np.uint8), 50, 100)
    assert raster.read(40, 90, 20, 20).tolist()[15][15] == 2 and raster.read(0, 0, 5, 5).max() == 0
    raster.to_cog(tmp_path / "out.tif", tags={"A": "b"}, categorical=True)
    assert not (tmp_path / "work.tif").exists()
    ok, errors, _ = cog_validate(str(tmp_path / "out.tif"), strict=True)
    assert ok, errors
    with rasterio.open(tmp_path / "out.tif") as ds:
        data = ds.read(1)
        assert ds.tags()["A"] == "b" and ds.nodata == 0 and ds.transform == transform
    assert (data == 2).sum() == 100 * 200 and data[50:150, 100:300].min() == 2


def test_join_across_tiles_groups_touching_pieces() -> None:
    pieces = [box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 10, 30, 20), box(50, 50, 60, 60)]
    # edge-sharing and corner-touching pieces join (8-connectivity); the far one stays alone
    assert join_across_tiles(pieces) == [[0, 1, 2], [3]]
    assert join_across_tiles([]) == []
