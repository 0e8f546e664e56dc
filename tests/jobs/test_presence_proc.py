"""The presence run in its own process beside the tiles: its outputs and stations, its errors raised again as the
same class, a run that stops the tiles when it fails, and a child that dies with its runner. SYNTHETIC sample."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from skywatch.aoi import load_aoi
from skywatch.camtrap.load import load_table
from skywatch.errors import CamtrapError, OutputError, SkywatchError
from skywatch.grid import TileGrid
from skywatch.jobs.config import JobConfig, load_job
from skywatch.jobs.presence_proc import PRESENCE_THREADS, STAGE_PREFIX, THREAD_COUNT_VARS, presence_env, start_presence
from skywatch.jobs.runner import _compute, plan_job
from skywatch.jobs.tiles import TileTask
from tests.helpers.proc_environ import child_start_environ
from tests.jobs.test_run import _job


def _config(tmp: Path, sample: Path, tail: str = "") -> JobConfig:
    return load_job(_job(tmp, sample, tmp / "out", tail=tail))


def test_presence_process_writes_the_layers_and_returns_the_stations(sample_dir: Path, tmp_path: Path) -> None:
    job = _config(tmp_path, sample_dir)
    (tmp_path / "ckpt" / f"{STAGE_PREFIX}stale").mkdir(parents=True)  # a killed run's leftover
    run = start_presence(job.model_dump_json(), tmp_path / "ckpt")
    seconds, stations = run.wait()
    assert seconds > 0 and not (tmp_path / "ckpt" / f"{STAGE_PREFIX}stale").exists()
    summary = json.loads((run.output / "presence.json").read_text())
    assert summary["synthetic"] and summary["species"]["Panthera pardus orientalis"]["secr"]["fitted"]
    assert job.fusion.camtrap is not None
    expected = load_table(job.fusion.camtrap).station_xy(TileGrid.for_aoi(load_aoi(job.aoi)).epsg)
    pd.testing.assert_frame_equal(stations, expected[["station", "x", "y"]].reset_index(drop=True))
    run.stop()
    assert not run.stage.exists()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the child's environment from /proc (Linux)")
def test_the_presence_run_gets_one_blas_thread_when_the_caller_sets_no_count(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in THREAD_COUNT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "")  # empty: no count (OpenBLAS would take every core)
    job = _config(tmp_path, sample_dir)
    run = start_presence(job.model_dump_json(), tmp_path / "ckpt")
    try:  # the environment it was started with (it imports for a second before it does anything)
        environ = child_start_environ(run.proc)
    finally:
        run.stop()
    assert environ, f"the child ended before its environment was read (exit {run.proc.poll()})"
    assert [environ.get(name) for name in PRESENCE_THREADS] == ["1", "1", "1"]


def test_a_thread_count_the_caller_sets_is_left_alone() -> None:
    # OpenBLAS reads OPENBLAS_NUM_THREADS before OMP_NUM_THREADS: adding it would override the caller's count
    assert presence_env({"OMP_NUM_THREADS": "4", "HOME": "/h"}) == {"OMP_NUM_THREADS": "4", "HOME": "/h"}
    assert presence_env({"MKL_NUM_THREADS": "2"}) == {"MKL_NUM_THREADS": "2"}
    assert presence_env({"HOME": "/h"}) == {"HOME": "/h", **PRESENCE_THREADS}


def test_a_camtrap_error_comes_back_as_itself(sample_dir: Path, tmp_path: Path) -> None:
    job = _config(tmp_path, sample_dir)
    job = job.model_copy(update={"fusion": job.fusion.model_copy(update={"species": ["Panthera uncia"]})})
    run = start_presence(job.model_dump_json(), tmp_path / "ckpt")
    with pytest.raises(CamtrapError, match=r"no animal detections of \['Panthera uncia'\]"):
        run.wait()
    with pytest.raises(CamtrapError, match="no animal detections"):
        run.raise_if_failed()  # what the runner calls after each tile
    run.stop()
    assert not list((tmp_path / "ckpt").iterdir())


def test_a_failing_watch_stops_the_tiles(sample_dir: Path, tmp_path: Path) -> None:
    job = _config(tmp_path, sample_dir)
    plan = plan_job(job)
    ckpt = tmp_path / "ckpt"
    items = {k: [it.to_dict() for it in v] for k, v in plan.items.items()}
    first = next(iter(plan.plans.values()))
    tasks = [TileTask(job_json=job.model_dump_json(), tile_id=t, load=ld, core=c, items=items,
                      checkpoints={k: str(ckpt / k / f"{t}.npz") for k in plan.plans})
             for t, ld, c in first.tiles]  # fmt: skip
    calls: list[int] = []
    plugins: list[dict[str, bool]] = []

    def watch() -> None:
        from distributed import default_client

        calls.append(1)
        # skywatch's own cluster: every worker keeps the closing-heartbeat traceback out of the user's terminal
        plugins.append(default_client().run(lambda dask_worker: "skywatch-quiet-heartbeat" in dask_worker.plugins))
        raise CamtrapError("the presence run failed")

    with pytest.raises(CamtrapError, match="the presence run failed"):
        _compute(tasks, job, None, None, watch=watch)
    assert calls == [1]
    assert plugins and all(plugins[0].values()) and len(plugins[0]) == 2
    assert len(list(ckpt.rglob("*.npz"))) < len(plan.plans) * len(tasks)  # stopped before the last tile


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_dies_with_its_runner(sample_dir: Path, tmp_path: Path) -> None:
    job = _config(tmp_path, sample_dir)
    code = (
        "import sys, time\n"
        "from skywatch.jobs.presence_proc import start_presence\n"
        "run = start_presence(sys.argv[1], __import__('pathlib').Path(sys.argv[2]))\n"
        "print(run.proc.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", code, job.model_dump_json(), str(tmp_path / "ckpt")],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    (stage,) = (tmp_path / "ckpt").glob(f"{STAGE_PREFIX}*")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (stage / "started").exists():  # past its death-signal set-up
        time.sleep(0.02)
    assert (stage / "started").exists()
    os.kill(runner.pid, signal.SIGKILL)  # the runner alone, not its process group
    runner.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child)
    assert not (stage / "result.json").exists()  # killed with its runner, not run to its end


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited


def test_the_run_reports_a_presence_failure_in_one_line(sample_dir: Path, tmp_path: Path) -> None:
    job = _job(tmp_path, sample_dir, tmp_path / "out", tail="")
    text = job.read_text().replace("fusion:\n", "fusion:\n  species: [Panthera uncia]\n")
    job.write_text(text)
    proc = subprocess.run([sys.executable, "-c", "from skywatch.cli.main import main; main()", "run", str(job)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no animal detections of ['Panthera uncia']" in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()
    ckpt = tmp_path / ".out.checkpoints"
    assert not list(ckpt.glob(f"{STAGE_PREFIX}*"))  # the staging folder went with the failure
    assert ckpt.is_dir()  # with whatever tiles finished, for the rerun to resume from


def test_errors_come_back_as_their_nearest_class_or_with_their_log(tmp_path: Path) -> None:
    from skywatch.jobs.presence_proc import PresenceProcess

    stage = tmp_path / "stage"
    stage.mkdir()
    error = {"error_types": ["CapValidationError", "OutputError", "SkywatchError"], "message": "disk full"}
    (stage / "result.json").write_text(json.dumps(error))
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    proc.wait()
    with pytest.raises(OutputError, match="disk full"):  # the nearest class skywatch.errors has
        PresenceProcess(proc=proc, stage=stage).wait()
    (stage / "result.json").write_text(
        json.dumps({"error_types": ["AuthError", "Exception"], "message": "401 from the server"})
    )
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    proc.wait()
    with pytest.raises(SkywatchError, match="401 from the server"):
        PresenceProcess(proc=proc, stage=stage).wait()
    (stage / "result.json").unlink()
    (stage / "log.txt").write_text("Traceback (most recent call last):\nMemoryError: out of memory\n")
    with pytest.raises(SkywatchError, match=r"presence run failed \(exit 1\): MemoryError: out of memory; its log"):
        PresenceProcess(proc=proc, stage=stage).wait()
    assert "MemoryError" in (tmp_path / "crashed-stage.log").read_text()  # kept: stop() removes the stage
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run = PresenceProcess(proc=killed, stage=stage)
    killed.kill()
    with pytest.raises(SkywatchError, match=r"failed \(killed by SIGKILL\)"):
        run.wait()
    run.stop()
    with pytest.raises(SkywatchError, match="was stopped"):  # by the runner itself: no crash log, no alarm
        run.wait()
