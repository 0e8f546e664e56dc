"""The camera-trap presence run of a job in its own process, started beside the tiles.

The runner's own process mostly waits while the workers detect, so the presence run (camera-trap table, SECR
fits, presence layers; :func:`skywatch.jobs.presence.run_presence`) goes there instead of after the tiles. A
process rather than a thread: a failed or interrupted detection kills it and reports at once (a thread cannot be
stopped, and one left inside GDAL while the interpreter exits is not safe), and it does not share the GIL with
the assembly that follows the tiles.

The child writes into a staging folder beside the tile checkpoints (never into the outputs) and, when done, a
``result.json`` with its seconds, or the error it raised (type and message), which the runner raises again as
the same :class:`~skywatch.errors.SkywatchError` subclass. Run as ``python -m skywatch.jobs.presence_proc
STAGE`` with ``{"job": JOB_JSON, "parent": PID}`` on stdin (the job never goes to disk: it may hold a webhook
token).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skywatch import errors
from skywatch.errors import DataError, SkywatchError

__all__ = ["PRESENCE_THREADS", "THREAD_COUNT_VARS", "PresenceProcess", "main", "presence_env", "start_presence"]

STAGE_PREFIX = "presence-"
# Idle priority: beside local workers it takes only the CPU they leave (16x pack: 29.9 s at nice 19 against
# 30.3 s at 0 and 30.0 s after the tiles; 1x: 8.0-8.3 s against 9.0-9.1 s and 8.5-8.7 s).
NICE = 19


@dataclass
class PresenceProcess:
    """A presence run in a child process; ``stage/presence`` is its output folder once it succeeded."""

    proc: subprocess.Popen[bytes]
    stage: Path
    stopped: bool = False

    @property
    def output(self) -> Path:
        """The presence folder the child writes (complete only after :meth:`wait` returned)."""
        return self.stage / "presence"

    def raise_if_failed(self) -> None:
        """Raise the child's error if it has already ended with one (so the runner stops the tiles early)."""
        if self.proc.poll() is not None and self.proc.returncode != 0:
            raise self._error()

    def wait(self) -> tuple[float, pd.DataFrame]:
        """Wait for the child: its seconds and the camera stations it used (``station``, ``x``, ``y`` in the
        grid's CRS).

        Raises:
            SkywatchError: the child's own error as its class (CamtrapError, DataError, OutputError, ...), or,
                for a crash, a SkywatchError naming the exit status or signal and where its log was kept.
        """
        self.proc.wait()
        if self.proc.returncode != 0:
            raise self._error()
        result = json.loads((self.stage / "result.json").read_text(encoding="utf-8"))
        stations = pd.DataFrame(result["stations"]).astype({"station": str, "x": float, "y": float})
        return float(result["seconds"]), stations

    def stop(self) -> None:
        """Kill the child (if still running) and remove its staging folder."""
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.stage, ignore_errors=True)

    def _error(self) -> SkywatchError:
        try:
            result = json.loads((self.stage / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = {}
        if "message" in result:  # the child's own error, as its nearest class that skywatch.errors has
            for name in result.get("error_types", []):
                kind = getattr(errors, str(name), None)
                if isinstance(kind, type) and issubclass(kind, SkywatchError):
                    return kind(str(result["message"]))
            return SkywatchError(str(result["message"]))
        code = self.proc.returncode
        if self.stopped:  # killed by the runner, which is already reporting why
            return SkywatchError(f"the camera-trap presence run was stopped (exit {code})")
        # a crash (a bug, memory, a signal): keep its log beside the checkpoints, where stop() leaves it
        how = f"exit {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                how = f"killed by {signal.Signals(-code).name}"
        keep = self.stage.parent / f"crashed-{self.stage.name}.log"  # kept until the job completes
        kept: Path | None = keep
        try:
            log = (self.stage / "log.txt").read_text(encoding="utf-8", errors="replace")
            shutil.copyfile(self.stage / "log.txt", keep)
        except OSError:
            log, kept = "", None
        last = next((line for line in reversed(log.strip().splitlines()) if line.strip()), "no output")
        where = f"; its log: {str(kept)!r}" if kept is not None else ""
        return SkywatchError(f"the camera-trap presence run failed ({how}): {last}{where}")


# BLAS/OpenMP thread counts of the presence run, unless the caller's environment sets any of them (OpenBLAS reads
# OPENBLAS_NUM_THREADS before OMP_NUM_THREADS, so one set alone must not be joined by another). Its matrices are
# small, and it runs at idle priority beside workers that already use every core, where idle BLAS threads spin
# (sched_yield) on CPU the workers need. On the 16x benchmark pack the run alone took 1.9 s and 1.9 CPU seconds on
# one thread against 2.3 s and 2.8 CPU seconds on this machine's default (two); beside the tiles it used 2.9 CPU
# seconds instead of 4.1 (1.2 of them in the kernel), and its layers differ from the two-thread ones by float
# rounding only (activity centres by 1e-10 m, their uncertainty radii by 1e-6 m).
PRESENCE_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
THREAD_COUNT_VARS = (*PRESENCE_THREADS, "GOTO_NUM_THREADS")


def presence_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The presence run's environment: ``environ``, plus :data:`PRESENCE_THREADS` when it sets no thread count
    (an empty value counts as none: OpenBLAS then takes every core)."""
    if any(environ.get(name) for name in THREAD_COUNT_VARS):
        return dict(environ)
    return {**environ, **PRESENCE_THREADS}


def start_presence(job_json: str, checkpoints: Path) -> PresenceProcess:
    """Start the presence run of the job ``job_json`` (a JobConfig as JSON) in a child process staging under
    ``checkpoints``; stale staging folders of killed runs are removed first.

    Raises:
        OSError: the staging folder cannot be made or the process not started.
    """
    for old in checkpoints.glob(f"{STAGE_PREFIX}*"):
        shutil.rmtree(old, ignore_errors=True)
    stage = checkpoints / f"{STAGE_PREFIX}{uuid.uuid4().hex[:12]}"
    stage.mkdir(parents=True)
    with open(stage / "log.txt", "wb") as log:  # -P: the installed skywatch, never one in the current folder
        proc = subprocess.Popen([sys.executable, "-P", "-m", "skywatch.jobs.presence_proc", str(stage)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                                env=presence_env(os.environ))  # fmt: skip
    if proc.stdin is None:  # pragma: no cover - stdin=PIPE always gives one
        raise OSError("no pipe to the presence process")
    # the job through a pipe, never a file: it may hold a webhook URL with its token
    with contextlib.suppress(BrokenPipeError), proc.stdin:  # a child that died at once reports through wait()
        proc.stdin.write(json.dumps({"job": job_json, "parent": os.getpid()}).encode())
    return PresenceProcess(proc=proc, stage=stage)


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the runner dies (a SIGKILLed runner must not leave a presence run writing)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):  # Linux only (prctl(2))
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    """The child: read the job from stdin, run its presence into ``<stage>/presence``, then write
    ``<stage>/result.json``."""
    stage = Path((argv if argv is not None else sys.argv[1:])[0])
    spec = json.loads(sys.stdin.read())
    _die_with_parent(int(spec["parent"]))
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(NICE)
    (stage / "started").touch()  # past the death-signal set-up (tests wait for it)
    started = time.perf_counter()
    try:
        from skywatch.aoi import load_aoi
        from skywatch.camtrap.load import load_table
        from skywatch.grid import TileGrid
        from skywatch.jobs.config import JobConfig
        from skywatch.jobs.presence import run_presence

        job = JobConfig.model_validate_json(spec["job"])
        if job.fusion.camtrap is None:
            raise DataError("the job names no camera traps (fusion.camtrap): there is no presence run to do")
        aoi = load_aoi(job.aoi)
        table = load_table(job.fusion.camtrap)
        run_presence(table, aoi=aoi, out=stage / "presence", species=job.fusion.species,
                     resolution=job.fusion.risk_resolution_m)  # fmt: skip
        xy = table.station_xy(TileGrid.for_aoi(aoi).epsg)  # the runner's grid CRS (the same UTM zone)
    except SkywatchError as exc:
        error = {"error_types": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}
        (stage / "result.json").write_text(json.dumps(error), encoding="utf-8")
        return 1
    stations = {"station": xy["station"].astype(str).tolist(), "x": xy["x"].tolist(), "y": xy["y"].tolist()}
    result = {"seconds": time.perf_counter() - started, "stations": stations}  # floats round-trip exactly in JSON
    (stage / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
