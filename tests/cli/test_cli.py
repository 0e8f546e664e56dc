"""The CLI as users run it: real subprocesses, exit codes 0/1/2, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skywatch import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from skywatch.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_and_version() -> None:
    r = _run("--help")
    assert r.returncode == 0
    for cmd in ("aoi", "sample", "demo"):
        assert cmd in r.stdout
    r = _run("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_aoi_list_and_show_json() -> None:
    r = _run("aoi", "list", "--json")
    assert r.returncode == 0
    names = {row["name"] for row in json.loads(r.stdout)}
    assert "land-of-the-leopard" in names
    r = _run("aoi", "show", "land-of-the-leopard", "--json")
    info = json.loads(r.stdout)
    assert info["utm_epsg"] == 32652 and info["utm_zone"] == "52N" and info["mgrs_tiles"]


@pytest.mark.parametrize(
    "content,needle",
    [
        ('{"type": "Point", "coordinates": [131, 43]}', "Point"),
        ("{oops", "not valid JSON"),
        ('{"type": "FeatureCollection", "features": []}', "no geometry"),
    ],
)
def test_bad_aoi_is_one_line_exit_1(tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "aoi.geojson"
    p.write_text(content)
    r = _run("aoi", "show", str(p))
    assert r.returncode == 1
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2() -> None:
    assert _run("demo").returncode == 2
    assert _run("no-such-command").returncode == 2


def test_sample_refuses_existing_output(tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    r = _run("sample", "--out", str(out))
    assert r.returncode == 1 and "--overwrite" in r.stderr and "Traceback" not in r.stderr


def test_demo_end_to_end_json(tmp_path: Path, sample_dir: Path) -> None:
    r = _run("demo", "--out", str(tmp_path / "d"), "--sample", str(sample_dir), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["counts"]["burn_scar"] >= 1 and summary["counts"]["road"] >= 1
    assert (tmp_path / "d" / "alerts.geojson").exists()


def test_models_list_json_matches_the_files() -> None:
    import hashlib

    r = _run("models", "list", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {row["task"] for row in rows} == {"fire", "active-fire", "clearcut", "roads"}
    for row in rows:
        assert {"name", "task", "version", "sha256", "bands", "path"} <= set(row)
        assert hashlib.sha256(Path(row["path"]).read_bytes()).hexdigest() == row["sha256"]
        assert Path(row["path"]).stat().st_size < 5_000_000
        assert Path(row["path"]).with_suffix(".md").exists()  # every model has a card
