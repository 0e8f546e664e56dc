"""`skywatch run`: job files checked with line numbers, --dry-run reads no pixels, a real Dask cluster runs the
tiles, a killed run resumes and a lost worker is survived, both with outputs identical to an uninterrupted run.
All on the SYNTHETIC sample."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from skywatch.cli.main import cli
from skywatch.errors import DataError
from skywatch.jobs.config import load_job
from skywatch.jobs.runner import run_job

REPO = Path(__file__).resolve().parents[2]


def _job(tmp: Path, sample: Path, out: Path, **extra: str) -> Path:
    text = f"""name: sample run
aoi: {sample / "aoi.geojson"}
windows:
  before: 2025-09-01/2025-09-10
  after: 2025-10-15/2025-10-25
provider:
  name: local
  path: {sample}
detect:
  tasks: [fire, roads]
  method: baseline
fusion:
  camtrap: {sample / "camtrap"}
compute:
  workers: 2
  tile_px: 512
outputs:
  dir: {out}
{extra.get("tail", "")}"""
    path = tmp / "job.yaml"
    path.write_text(text)
    return path


def _same(a: Path, b: Path) -> None:
    """Pixel-identical rasters and byte-identical alerts."""
    for name in ("fire.tif", "roads.tif", "fire_prob.tif", "habitat_risk.tif"):
        with rasterio.open(a / name) as x, rasterio.open(b / name) as y:
            np.testing.assert_array_equal(x.read(), y.read())
    assert (a / "alerts.geojson").read_bytes() == (b / "alerts.geojson").read_bytes()


@pytest.fixture(scope="module")
def reference(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ref")
    out = tmp / "out"
    result = run_job(load_job(_job(tmp, sample_dir, out)))
    assert result.manifest["counts"]["incidents"] >= 2
    return out


def test_job_file_errors_name_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\naoi: land-of-the-leopard\nwindows:\n  before: 2025-09-01/2025-09-10\n"
                   "  after: 2025-10-15/2025-10-25\ndetect:\n  tasks: [fire]\n  methd: model\n")  # fmt: skip
    with pytest.raises(DataError, match=r"line 8: detect.methd: unknown key"):
        load_job(bad)
    bad.write_text("aoi: land-of-the-leopard\nwindows:\n  before: 2025-09-01/2025-09-10\n  after: soon\n")
    with pytest.raises(DataError, match=r"line 4: windows.after: .*START/END"):
        load_job(bad)
    bad.write_text("aoi: x\nwindows:\n  before: 2025-10-01/2025-10-30\n  after: 2025-10-15/2025-10-25\n")
    with pytest.raises(DataError, match="must end before the after window"):
        load_job(bad)
    job = load_job(REPO / "cli" / "jobs" / "park-weekly.yaml")
    assert job.aoi == "transboundary-park" and job.provider.name == "earth-search"
    r = CliRunner().invoke(cli, ["run", str(bad)])
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_dry_run_reads_no_pixels(sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skywatch.sources.local import LocalSource

    def no_pixels(*args: object, **kwargs: object) -> None:
        raise AssertionError("--dry-run read pixels")

    monkeypatch.setattr(LocalSource, "load", no_pixels)
    r = CliRunner().invoke(cli, ["run", str(_job(tmp_path, sample_dir, tmp_path / "o")), "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["tiles"] == {"fire": 9, "roads": 9} and info["estimated_bytes"] > 0
    assert len(info["scenes"]["before"]) == 1 and not (tmp_path / "o").exists()


def test_run_outputs_manifest_and_reproducibility(reference: Path, sample_dir: Path, tmp_path: Path) -> None:
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["grid"] == {"epsg": 32652, "resolution_m": 10.0, "tile_px": 512}
    assert manifest["tiles"] == {"fire": 9, "roads": 9} and manifest["packages"]["dask"]
    assert manifest["scenes"]["after"] and manifest["job"]["detect"]["tasks"] == ["fire", "roads"]
    for name in (
        "skywatch.qgz",
        "skywatch.gpkg",
        "alerts.geojson",
        "fire.gpkg",
        "roads.gpkg",
        "presence/presence.json",
    ):
        assert (reference / name).exists(), name
    assert not (reference.parent / f".{reference.name}.checkpoints").exists()  # removed once complete
    again = tmp_path / "again"
    run_job(load_job(_job(tmp_path, sample_dir, again)))
    _same(reference, again)


def test_killed_run_resumes_with_identical_outputs(reference: Path, sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    job = _job(tmp_path, sample_dir, out)
    ckpt = tmp_path / ".out.checkpoints"
    proc = subprocess.Popen([sys.executable, "-c", "from skywatch.cli.main import main; main()", "run", str(job)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(ckpt.rglob("*.npz"))) < 3 and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, its cluster included, dies mid-way
    proc.wait(timeout=60)
    done = len(list(ckpt.rglob("*.npz")))
    assert 3 <= done < 18 and not out.exists()  # interrupted: nothing that looks complete
    result = run_job(load_job(job))
    assert result.manifest["timings_s"]["total"] > 0
    _same(reference, out)


def test_losing_a_worker_still_completes_identically(reference: Path, sample_dir: Path, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    out = tmp_path / "out"
    ckpt = tmp_path / ".out.checkpoints"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            pids = client.run(os.getpid)
        killed: list[int] = []

        def kill_one() -> None:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not list(ckpt.rglob("*.npz")):
                time.sleep(0.1)
            pid = sorted(pids.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        watcher = threading.Thread(target=kill_one, daemon=True)
        watcher.start()
        run_job(load_job(_job(tmp_path, sample_dir, out)), scheduler=cluster.scheduler_address)
        watcher.join(timeout=10)
    assert killed  # a worker process really died mid-job
    _same(reference, out)


def test_own_cluster_workers_drop_only_the_closing_heartbeat_traceback() -> None:
    import logging

    from skywatch.jobs.tiles import QuietClosingHeartbeat

    logger = logging.getLogger("distributed.worker")
    before = list(logger.filters)
    try:
        QuietClosingHeartbeat().setup(worker=None)  # what each worker of skywatch's own LocalCluster runs

        def record(msg: str) -> logging.LogRecord:
            return logger.makeRecord("distributed.worker", logging.ERROR, __file__, 1, msg, (), None)

        assert not logger.filter(record("Failed to communicate with scheduler during heartbeat."))
        assert logger.filter(record("Compute Failed"))
        assert logger.filter(record("Unexpected exception during heartbeat. Closing worker."))
    finally:
        logger.filters[:] = before
