"""The work of one tile on a Dask worker: load and composite the tile once, run every detector still missing a
checkpoint, and checkpoint each.

Kept apart from :mod:`skywatch.jobs.runner` so that a worker imports only what a tile needs: unpickling the task
function by reference imports this module, and the runner's output, fusion and QGIS stack (geopandas writers,
pyogrio's own GDAL) would add about 40 MiB to every worker's RSS (measured: ``import skywatch.jobs.runner``
232 MiB ru_maxrss, ``import skywatch.jobs.detect`` 191 MiB, both after ``import distributed``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pystac
from distributed.diagnostics.plugin import WorkerPlugin
from shapely import wkb

from skywatch.aoi import load_aoi
from skywatch.errors import SkywatchError
from skywatch.grid import TileGrid
from skywatch.jobs.config import JobConfig
from skywatch.jobs.detect import Piece, TileResult, iter_tile_tasks, plan_detect
from skywatch.outputs.atomic import WRITE_ERRNOS
from skywatch.sources.base import Source
from skywatch.sources.registry import open_source

__all__ = [
    "QuietClosingHeartbeat",
    "TileTask",
    "WorkerEnv",
    "job_source",
    "load_checkpoint",
    "run_tile",
    "run_tile_or_write_error",
    "save_checkpoint",
]


class WorkerEnv(WorkerPlugin):
    """Sets the GDAL/provider environment on each worker explicitly (a plugin, never part of the task graph)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def setup(self, worker: Any) -> None:
        """Called by the worker when the plugin is registered, and on workers that join later."""
        os.environ.update(self.env)


HEARTBEAT_FAILURE = "Failed to communicate with scheduler during heartbeat"


def _not_a_closing_heartbeat(record: logging.LogRecord) -> bool:
    """False for distributed's heartbeat failure (logged with a traceback), True for every other record."""
    return not record.getMessage().startswith(HEARTBEAT_FAILURE)


class QuietClosingHeartbeat(WorkerPlugin):
    """For skywatch's own LocalCluster only: its workers do not print distributed's "Failed to communicate with
    scheduler during heartbeat" traceback into the user's terminal.

    When a run stops (a tile failed, the job is done), closing the cluster can cut a worker's heartbeat in flight,
    and the worker logs that with a full traceback on the inherited stderr (seen in about 1 of 3 full-disk runs,
    ``tests/robustness/test_disk_faults.py``). On that cluster the scheduler lives in the runner's own process,
    so a real loss is reported by the runner itself. Never registered on a user's cluster."""

    name = "skywatch-quiet-heartbeat"

    def setup(self, worker: Any) -> None:
        """Called by each worker: filter the message out of its ``distributed.worker`` logger."""
        logging.getLogger("distributed.worker").addFilter(_not_a_closing_heartbeat)


@dataclass(frozen=True, kw_only=True)
class TileTask:
    """All detectors on one tile: everything a worker needs, picklable (no clients, no credentials).

    ``checkpoints`` maps each detector to its checkpoint file; the tile's scenes are loaded and composited once
    for all of them."""

    job_json: str
    tile_id: str
    load: tuple[float, float, float, float]
    core: tuple[float, float, float, float]
    items: dict[str, list[dict[str, Any]]]
    checkpoints: dict[str, str]


def job_source(job: JobConfig, env: dict[str, str]) -> Source:
    """The job's imagery source, opened with ``env`` (credentials, GDAL settings)."""
    p = job.provider
    return open_source(p.name, env=env, stac_url=p.stac_url, path=p.path)


def save_checkpoint(path: Path, result: TileResult) -> None:
    """Write one detector's result for one tile to ``path`` (a temporary name, then renamed)."""
    pieces = [{"kind": p.kind, "pixels": p.pixels, "prob_sum": p.prob_sum, "dnbr_sum": p.dnbr_sum,
               "dnbr_n": p.dnbr_n, "wkb": p.geometry.wkb_hex} for p in result.pieces]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        # Uncompressed: a checkpoint lives only until the job's outputs are written, and deflating one tile's
        # probabilities cost 0.15 s per detector for 30 % less disk (16x benchmark pack: 3.6 vs 5.1 MB a file).
        np.savez(tmp, classes=result.classes, prob=result.prob, core=np.asarray(result.core),
                 pieces=np.asarray(json.dumps(pieces)))  # fmt: skip
        os.replace(tmp, path)
    except BaseException:  # a full disk or a kill mid-write: no partial checkpoint stays behind
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path) -> TileResult:
    """A checkpoint written by :func:`save_checkpoint`."""
    with np.load(path, allow_pickle=False) as z:
        pieces = [Piece(kind=d["kind"], pixels=int(d["pixels"]), prob_sum=float(d["prob_sum"]),
                        dnbr_sum=float(d["dnbr_sum"]), dnbr_n=int(d["dnbr_n"]), geometry=wkb.loads(d["wkb"], hex=True))
                  for d in json.loads(str(z["pieces"]))]  # fmt: skip
        core = tuple(float(v) for v in z["core"])
        return TileResult(core=(core[0], core[1], core[2], core[3]), classes=z["classes"], prob=z["prob"],
                          pieces=pieces)  # fmt: skip


def run_tile(spec: TileTask) -> list[str]:
    """Detect one tile with every detector still missing a checkpoint, and checkpoint each (on a worker)."""
    todo = {task: Path(p) for task, p in spec.checkpoints.items() if not Path(p).exists()}
    if not todo:
        return list(spec.checkpoints.values())
    job = JobConfig.model_validate_json(spec.job_json)
    aoi = load_aoi(job.aoi)
    grid = TileGrid.for_aoi(aoi, tile_px=job.compute.tile_px)
    items = {k: [pystac.Item.from_dict(d) for d in v] for k, v in spec.items.items()}
    source = job_source(job, dict(os.environ))
    runs = {task: plan_detect(task, source=source, aoi=aoi, grid=grid, items=items, method=job.detect.method,
                              cloud_buffer_px=job.detect.cloud_buffer_px, fire_index=job.detect.fire_index).run
            for task in todo}  # fmt: skip
    # the tile's own Dask work (odc-stac reads, the tiled model) runs in this worker, not back through the cluster
    with dask.config.set(scheduler="synchronous"):
        for task, (classes, prob, pieces) in iter_tile_tasks(runs, spec.load, spec.core):
            # each detector's checkpoint as soon as it is done: a worker holds one detector's arrays at a time
            save_checkpoint(todo[task], TileResult(core=spec.core, classes=classes, prob=prob, pieces=pieces))
    return list(spec.checkpoints.values())


def run_tile_or_write_error(spec: TileTask) -> list[str] | OSError:
    """:func:`run_tile` on a worker, handing a checkpoint that cannot be written (disk full, read-only) back as a
    value: that is no crash for Dask to retry and log with a traceback, but one error for the client to report."""
    try:
        return run_tile(spec)
    except OSError as exc:
        if isinstance(exc, SkywatchError) or exc.errno not in WRITE_ERRNOS:
            raise
        return OSError(exc.errno, exc.strerror, exc.filename)
