"""Damaged imagery through `skywatch detect --provider local`: exit 1 with one line, no output folder left."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from tests.robustness.conftest import Probe

AFTER = "S2X_52TFN_20251021_0_L2A_SYNTHETIC"


def _copy_sample(sample_dir: Path, tmp: Path) -> Path:
    dst = tmp / "sample"
    shutil.copytree(sample_dir / "stac", dst / "stac")
    shutil.copy(sample_dir / "aoi.geojson", dst / "aoi.geojson")
    return dst


def _band(sample: Path, name: str = "B12.tif") -> Path:
    return sample / "stac" / "sentinel-2-c1-l2a" / AFTER / name


def _truncate(sample: Path) -> None:
    f = _band(sample)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])


def _zero(sample: Path) -> None:
    _band(sample).write_bytes(b"")


def _garbage(sample: Path) -> None:
    _band(sample).write_bytes(b"II*\x00" + bytes(range(256)) * 64)


def _missing(sample: Path) -> None:
    _band(sample).unlink()


STAC_CASES: dict[str, Callable[[Path], None]] = {
    "truncated COG": _truncate,
    "zero-size band file": _zero,
    "garbage TIFF header": _garbage,
    "band file deleted": _missing,
}


def _detect(probe: Probe, src: Path, aoi: Path, out: Path, *, sub: bool = False) -> object:
    return probe.run(["detect", "fire", "--aoi", aoi, "--before", "2025-09-01/2025-09-10", "--after",
                      "2025-10-15/2025-10-25", "--provider", "local", "--path", src, "--method", "baseline",
                      "--tile-px", "1024", "--out", out], subprocess_run=sub, timeout=120)  # fmt: skip


@pytest.mark.parametrize("case", list(STAC_CASES))
def test_damaged_band_in_stac_sample(probe: Probe, sample_dir: Path, tmp_path: Path, case: str) -> None:
    sample = _copy_sample(sample_dir, tmp_path)
    STAC_CASES[case](sample)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, sample, sample / "aoi.geojson", out_dir, sub=case == "truncated COG")
    assert "B12" in probe.expect_failure(out)  # type: ignore[arg-type]


# -- a plain folder of GeoTIFFs, made here: 64 x 64 px at 10 m in EPSG:32652 ----------------------------------
BANDS = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL")
ORIGIN = (660_000.0, 4_780_000.0)


def _tif(path: Path, *, bands: tuple[str, ...] = BANDS, crs: str | None = "EPSG:32652", fill: int | None = None,
         width: int = 64, height: int = 64, describe: bool = True) -> None:  # fmt: skip
    rng = np.random.default_rng(0)
    data = rng.integers(500, 3000, (len(bands), height, width), dtype=np.uint16)
    if "SCL" in bands:
        data[bands.index("SCL")] = 4
    if fill is not None:
        data[:] = fill
    profile = {"driver": "GTiff", "width": width, "height": height, "count": len(bands), "dtype": "uint16",
               "transform": from_origin(*ORIGIN, 10, 10), "nodata": 0}  # fmt: skip
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if describe:
            for i, b in enumerate(bands, start=1):
                ds.set_band_description(i, b)


def _aoi(tmp: Path) -> Path:
    from pyproj import Transformer

    t = Transformer.from_crs(32652, 4326, always_xy=True)
    (w, s), (e, n) = t.transform(ORIGIN[0] + 100, ORIGIN[1] - 540), t.transform(ORIGIN[0] + 540, ORIGIN[1] - 100)
    path = tmp / "aoi.geojson"
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    return path


FOLDER_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "no CRS": (lambda d: _tif(d / "s2_20251020.tif", crs=None), "has no CRS"),
    "no band descriptions": (lambda d: _tif(d / "s2_20251020.tif", describe=False), "no band is named"),
    "no date in the name": (lambda d: _tif(d / "s2_after.tif"), "cannot tell the date"),
    "impossible date": (lambda d: _tif(d / "s2_20251340.tif"), "not a valid date"),
    "wrong band count (no SWIR)": (lambda d: _tif(d / "s2_20251020.tif", bands=("B02", "B03", "B04", "B08", "SCL")),
                                   "has no band"),
    "zero-size file": (lambda d: (d / "s2_20251020.tif").write_bytes(b""), "cannot read"),
    "truncated file": (lambda d: (_tif(d / "x_20251020.tif"), (d / "s2_20251020.tif").write_bytes(
        (d / "x_20251020.tif").read_bytes()[:600]), (d / "x_20251020.tif").unlink()), "cannot read"),
}  # fmt: skip


def _good_before(d: Path) -> None:
    _tif(d / "s2_20250905.tif")


def test_folder_control_case_works(probe: Probe, tmp_path: Path) -> None:
    """The undamaged folder runs: the failures below come from the damage, not from the fixture."""
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    _tif(d / "s2_20251020.tif")
    out = _detect(probe, d, _aoi(tmp_path), tmp_path / "out")
    assert out.code == 0, out.stderr[-1500:]  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", list(FOLDER_CASES))
def test_damaged_geotiff_folder(probe: Probe, tmp_path: Path, case: str) -> None:
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    make, words = FOLDER_CASES[case]
    make(d)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, d, _aoi(tmp_path), out_dir)
    assert words in probe.expect_failure(out)  # type: ignore[arg-type]


def test_nodata_everywhere_is_not_a_quiet_success(probe: Probe, tmp_path: Path) -> None:
    d = tmp_path / "tifs"
    d.mkdir()
    _good_before(d)
    _tif(d / "s2_20251020.tif", fill=0)
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = _detect(probe, d, _aoi(tmp_path), out_dir)
    probe.expect_failure(out)  # type: ignore[arg-type]
