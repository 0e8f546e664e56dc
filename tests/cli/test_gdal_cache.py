"""The console entry point bounds GDAL's block cache unless the user set GDAL_CACHEMAX."""

from __future__ import annotations

import os

import pytest

from skywatch.cli import main as cli_main


def _run_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["skywatch", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main()
    assert exit_info.value.code == 0


def test_default_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    _run_version(monkeypatch)
    assert os.environ["GDAL_CACHEMAX"] == cli_main.GDAL_CACHEMAX_MB == "256"


def test_user_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDAL_CACHEMAX", "1024")
    _run_version(monkeypatch)
    assert os.environ["GDAL_CACHEMAX"] == "1024"
