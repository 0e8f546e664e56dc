"""`skywatch search` and `skywatch cube` as an analyst runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
import vcr
import xarray as xr
from click.testing import CliRunner
from rio_cogeo.cogeo import cog_validate

from skywatch.cli.main import cli

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from skywatch.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def _common(sample_dir: Path) -> list[str]:
    return [
        "--aoi",
        str(sample_dir / "aoi.geojson"),
        "--start",
        "2025-01-01",
        "--end",
        "2025-12-31",
        "--provider",
        "local",
        "--path",
        str(sample_dir),
    ]


def test_search_local_json(sample_dir: Path) -> None:
    r = _run("search", *_common(sample_dir), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["mgrs_tile"] for row in rows] == ["52TFN", "52TFN"]
    assert rows[0]["est_bytes"] > 1e6 and rows[0]["cloud_cover"] is not None
    r = _run("search", *_common(sample_dir), "--max-cloud", "1", "--json")
    assert len(json.loads(r.stdout)) == 1


def test_search_earth_search_replayed(tmp_path: Path) -> None:
    replay = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none", match_on=["method", "uri"])
    aoi = tmp_path / "world.geojson"
    ring = [[-179, -89], [179, -89], [179, 89], [-179, 89], [-179, -89]]
    aoi.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    with replay.use_cassette("test_multiple_collections.yaml"):
        result = CliRunner().invoke(
            cli,
            [
                "search",
                "--aoi",
                str(aoi),
                "--start",
                "2023-10-08",
                "--end",
                "2023-10-08",
                "--json",
                "--stac-url",
                "https://earth-search.aws.element84.com/v1",
            ],
        )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 2 and rows[0]["datetime"].startswith("2023-10-08")


def test_cube_zarr_and_cogs(sample_dir: Path, tmp_path: Path) -> None:
    r = _run("cube", *_common(sample_dir), "--bands", "red,nir,scl", "--out", str(tmp_path / "c.zarr"))
    assert r.returncode == 0, r.stderr
    ds = xr.open_zarr(tmp_path / "c.zarr")
    assert set(ds.data_vars) >= {"red", "nir", "scl"} and ds.sizes["time"] == 2
    red = ds["red"].isel(time=1).values
    scl = ds["scl"].isel(time=1).values
    assert np.isnan(red[np.isin(scl, [8, 9, 10, 11])]).all()  # clouds and snow masked
    r = _run(
        "cube", *_common(sample_dir), "--bands", "red,nir,scl", "--composite", "best", "--out", str(tmp_path / "cogs")
    )
    assert r.returncode == 0, r.stderr
    for name in ("red", "nir", "valid_count"):
        ok, errors, _ = cog_validate(str(tmp_path / "cogs" / f"{name}.tif"), strict=True)
        assert ok, errors
    with rasterio.open(tmp_path / "cogs" / "valid_count.tif") as src:
        counts = src.read(1)
    assert counts.max() == 2 and (counts == 1).sum() > 1000  # clouds on one date leave one clear view


def test_cube_errors_exit_1_and_2(sample_dir: Path, tmp_path: Path) -> None:
    r = _run("cube", *_common(sample_dir)[:-4], "--provider", "local", "--out", str(tmp_path / "x.zarr"))
    assert r.returncode == 1 and "--path" in r.stderr and "Traceback" not in r.stderr
    r = _run("search", *_common(sample_dir), "--start", "2025-12-31", "--end", "2025-01-01")
    assert r.returncode == 2 and "before --start" in r.stderr
    r = _run(
        "search",
        "--aoi",
        "land-of-the-leopard",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-02",
        "--provider",
        "sentinelhub",
    )
    assert r.returncode == 1 and ("SH_CLIENT_ID" in r.stderr) and "Traceback" not in r.stderr


def test_s2cloudless_refuses_l2a_without_cirrus(sample_dir: Path, tmp_path: Path) -> None:
    r = _run("cube", *_common(sample_dir), "--cloud-mask", "s2cloudless", "--out", str(tmp_path / "c.zarr"))
    assert r.returncode == 1 and "B10" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "c.zarr").exists()
