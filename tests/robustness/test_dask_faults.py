"""Dask faults (issue #8): the scheduler is not there, or goes away mid-run.

- ``skywatch run --scheduler`` pointing at a port where nothing listens: one ``error:`` line within a bounded time
  (skywatch's connect timeout, :data:`skywatch.jobs.runner.SCHEDULER_CONNECT_S`), exit 1, no traceback.
- The scheduler killed while tiles run (a real ``dask scheduler`` and ``dask worker`` in their own processes):
  exit 1 with one line soon after, nothing that looks like the output, the finished tiles checkpointed; a run on a
  fresh cluster resumes from them (finished tiles are not redone) and its outputs equal an uninterrupted run's.

A worker killed mid-task (the scheduler re-runs its tiles elsewhere, outputs identical) and a run killed whole
(resumed from its checkpoints) are cases of ``tests/jobs/test_run.py``
(``test_losing_a_worker_still_completes_identically``, ``test_killed_run_resumes_with_identical_outputs``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import box, mapping, shape

from skywatch.jobs.config import load_job
from skywatch.jobs.runner import SCHEDULER_CONNECT_S, run_job
from tests.robustness.conftest import Probe

TILES = 8  # the job below: the sample AOI's north-east quarter in 256 px tiles


@dataclass(frozen=True)
class Cluster:
    """A scheduler and one single-threaded worker, each a process of its own."""

    address: str
    scheduler: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@contextlib.contextmanager
def dask_cluster(folder: Path) -> Iterator[Cluster]:
    """``dask scheduler`` on a free port of 127.0.0.1 and ``dask worker`` (1 process, 1 thread), logging into
    ``folder``; both killed on exit, whatever state they are in."""
    folder.mkdir(parents=True, exist_ok=True)
    info, log = folder / "scheduler.json", folder / "worker.log"
    python = [sys.executable, "-m"]
    with contextlib.ExitStack() as stack:
        scheduler_log = stack.enter_context((folder / "scheduler.log").open("wb"))
        options = ["--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)]
        scheduler = subprocess.Popen([*python, "distributed.cli.dask_scheduler", *options], cwd=folder,
                                     stdout=subprocess.DEVNULL, stderr=scheduler_log,
                                     start_new_session=True)  # fmt: skip
        stack.callback(_stop, scheduler)
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline and scheduler.poll() is None:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        options = [address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--death-timeout", "30"]
        worker = subprocess.Popen([*python, "distributed.cli.dask_worker", *options], cwd=folder,
                                  stdout=subprocess.DEVNULL, stderr=stack.enter_context(log.open("wb")),
                                  start_new_session=True)  # fmt: skip
        stack.callback(_stop, worker)
        while "Registered to" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
        yield Cluster(address=address, scheduler=scheduler, worker=worker)


@pytest.fixture(scope="module")
def job_file(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fire job on the north-east quarter of the sample's AOI (it holds the burn scar), ``outputs.dir`` next to
    it; the cases run it with ``--out``."""
    tmp = tmp_path_factory.mktemp("dask-job")
    doc = json.loads((sample_dir / "aoi.geojson").read_text())
    x0, y0, x1, y1 = shape(doc["features"][0]["geometry"]).bounds
    quarter = {"type": "Feature", "properties": {"name": "quarter"},
               "geometry": mapping(box((x0 + x1) / 2, (y0 + y1) / 2, x1 - 0.01, y1 - 0.005))}  # fmt: skip
    aoi = tmp / "quarter.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [quarter]}))
    path = tmp / "job.yaml"
    path.write_text(f"name: dask faults\naoi: {aoi}\nwindows:\n  before: 2025-09-01/2025-09-10\n"
                    f"  after: 2025-10-15/2025-10-25\nprovider:\n  name: local\n  path: {sample_dir}\n"
                    "detect:\n  tasks: [fire]\n  method: baseline\ncompute:\n  workers: 1\n  tile_px: 256\n"
                    f"outputs:\n  dir: {tmp / 'unused'}\n")  # fmt: skip
    return path


@pytest.fixture(scope="module")
def reference(job_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the job (on a LocalCluster)."""
    out = tmp_path_factory.mktemp("dask-reference") / "out"
    result = run_job(load_job(job_file), out=out)
    assert result.manifest["tiles"] == {"fire": TILES} and result.manifest["counts"]["incidents"] >= 1
    return out


def test_unreachable_scheduler_is_one_line_within_bounded_time(probe: Probe, job_file: Path) -> None:
    out = probe.tmp_path / "out"
    probe.guard(out, probe.tmp_path / ".out.checkpoints")
    outcome = probe.run(["run", job_file, "--out", out, "--scheduler", "tcp://127.0.0.1:1"], subprocess_run=True,
                        timeout=SCHEDULER_CONNECT_S + 60)  # fmt: skip
    probe.expect_failure(outcome, match=rf"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:1' within "
                         rf"{SCHEDULER_CONNECT_S:g} s.*--scheduler")  # fmt: skip
    assert outcome.seconds < SCHEDULER_CONNECT_S + 10  # start-up and planning plus the connect timeout, not Dask's 30 s


def test_scheduler_killed_mid_run_fails_cleanly_and_resumes(probe: Probe, job_file: Path, reference: Path) -> None:
    out = probe.tmp_path / "out"
    ckpt = probe.tmp_path / ".out.checkpoints" / "fire"

    def finished() -> list[Path]:
        return sorted(ckpt.glob("[!.]*.npz"))  # complete checkpoints (partial ones are hidden temporary files)

    with dask_cluster(probe.tmp_path / "cluster-a") as cluster:
        killed: list[tuple[int, float]] = []  # (tiles finished, when)
        run_over = threading.Event()

        def kill_scheduler() -> None:
            while len(finished()) < 2 and not run_over.wait(0.05):
                pass
            if not run_over.is_set():
                os.killpg(cluster.scheduler.pid, signal.SIGKILL)
                killed.append((len(finished()), time.perf_counter()))

        watcher = threading.Thread(target=kill_scheduler, daemon=True)
        watcher.start()
        probe.guard(out)
        started = time.perf_counter()
        outcome = probe.run(["run", job_file, "--out", out, "--scheduler", cluster.address], subprocess_run=True,
                            timeout=240)  # fmt: skip
        run_over.set()
        watcher.join(timeout=10)
    assert killed and killed[0][0] < TILES, f"the scheduler was not killed mid-run: {outcome.stderr[-1000:]}"
    probe.expect_failure(outcome, match=r"lost the Dask scheduler at 'tcp://127\.0\.0\.1:\d+' mid-run.*resume")
    assert started + outcome.seconds - killed[0][1] < 60  # noticed within seconds, not after some long timeout
    done = len(finished())
    assert 2 <= done < TILES and not out.exists()
    del probe.guarded[out]  # the resumed run below writes it, as it should

    said: list[str] = []
    with dask_cluster(probe.tmp_path / "cluster-b") as fresh:
        run_job(load_job(job_file), out=out, scheduler=fresh.address, progress=said.append)
    skipped = [int(m.split()[0]) for m in said if m.endswith("tile task(s) already checkpointed")]
    assert skipped and skipped[0] >= done, said  # finished tiles were not redone
    assert (out / "alerts.geojson").read_bytes() == (reference / "alerts.geojson").read_bytes()
    for name in ("fire.tif", "fire_prob.tif", "threat.tif"):
        with rasterio.open(out / name) as a, rasterio.open(reference / name) as b:
            np.testing.assert_array_equal(a.read(), b.read())
    assert not ckpt.parent.exists()  # removed once the job is complete
