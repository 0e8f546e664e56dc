"""The console entry point bounds this process's GDAL block cache (256 MiB) unless the user set GDAL_CACHEMAX."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest
import rasterio

from skywatch.cli import main as cli_main


def _cache_max_mib() -> float:
    """GDAL's own figure (GDALGetCacheMax64), from the libgdal rasterio loaded."""
    libs = Path(rasterio.__file__).parent.parent / "rasterio.libs"
    lib = ctypes.CDLL(str(next(libs.glob("libgdal*"))))
    lib.GDALGetCacheMax64.restype = ctypes.c_int64
    return float(lib.GDALGetCacheMax64()) / 2**20


def _run_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["skywatch", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main()
    assert exit_info.value.code == 0


def test_default_cap_is_256_mib_in_this_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    before = _cache_max_mib()
    try:
        _run_version(monkeypatch)
        assert _cache_max_mib() == 256.0
        assert "GDAL_CACHEMAX" not in os.environ  # not forwarded to workers by the environment plugin
    finally:
        rasterio.env.set_gdal_config("GDAL_CACHEMAX", int(before * 2**20))


def test_user_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDAL_CACHEMAX", "1024")
    before = _cache_max_mib()
    _run_version(monkeypatch)
    assert _cache_max_mib() == before
