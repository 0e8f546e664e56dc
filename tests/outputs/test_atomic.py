"""Outputs are atomic: a failure leaves neither a partial file nor a changed old one."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywatch.errors import OutputError
from skywatch.outputs.atomic import atomic_dir, atomic_path


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "alerts.geojson"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["alerts.geojson"]


def test_failed_dir_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.tif").write_text("x")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_refuses_existing_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(OutputError, match="--overwrite"), atomic_dir(target):
        pass
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "new").write_text("1")
    assert (target / "new").read_text() == "1"


def test_outputs_get_the_usual_file_mode(tmp_path: Path) -> None:
    """mkstemp/mkdtemp make 0600/0700; outputs must be readable by the team like any other file."""
    import os

    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.geojson") as tmp:
            tmp.write_text("{}")
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(mask)
    assert (tmp_path / "a.geojson").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
