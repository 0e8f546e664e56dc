"""`skywatch run JOB.yaml`: the whole job over an AOI of any size, tile by tile on a Dask cluster, resumable.

1. Search the before/after scenes (metadata only); plan each detector's tiles on the project grid.
2. ``--dry-run`` stops here and reports scenes, tiles, estimated bytes to read and an estimated time.
3. Each tile is a Dask task (:func:`skywatch.jobs.tiles.run_tile`) on a LocalCluster of processes, or on an
   existing cluster (``--scheduler`` / ``DASK_SCHEDULER_ADDRESS``). A task loads and composites its tile (with a
   halo) once for all detectors, detects, and writes one checkpoint per detector
   (``<out>.checkpoints/<task>/<tile>.npz``, written to a temporary name and renamed). A tile whose checkpoints
   exist is skipped, so a killed job resumes where it stopped; a lost worker's tasks are re-run elsewhere by the
   scheduler. Tasks are deterministic, so either way the outputs equal an uninterrupted run. Beside the tiles,
   a job with camera traps runs its presence run (SECR fits, presence layers) in a process of its own at idle
   priority (:mod:`skywatch.jobs.presence_proc`): its error stops the tiles early, a failed detection kills it.
4. The cores are assembled into COGs and GeoPackages (:func:`skywatch.jobs.detect.write_detect_outputs`),
   detections become alerts (with exposure and nearby animals when camera traps are given), the alert store is
   updated, habitat risk and hotspots are computed at ``fusion.risk_resolution_m``, and the styled QGIS delivery
   is written. Everything lands in ``out`` in one rename, ``manifest.json`` included; checkpoints are then
   removed.

The environment that GDAL and the providers read (``GDAL_*``, ``AWS_*``, ``CDSE_*``, ``SH_*``, ``EARTHENGINE_*``,
``AZURE_*``, ``PC_SDK_*``) is handed to every worker explicitly by a worker plugin, never put in the task graph.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pystac
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from skywatch import __version__
from skywatch.aoi import AOI, load_aoi
from skywatch.errors import OutputError, SkywatchError
from skywatch.fuse.context import incident_context
from skywatch.fuse.hotspots import exposure_by_threat, hotspots, zonal_summary
from skywatch.fuse.incidents import Incident
from skywatch.fuse.risk import Threat, habitat_risk, threat_surface
from skywatch.grid import TileGrid
from skywatch.jobs.cluster import start_local_cluster
from skywatch.jobs.config import JobConfig
from skywatch.jobs.detect import (
    BANDS,
    DetectPlan,
    TileResult,
    plan_detect,
    search_window,
    write_detect_outputs,
)
from skywatch.jobs.tiles import (
    QuietClosingHeartbeat,
    TileTask,
    WorkerEnv,
    job_source,
    load_checkpoint,
    run_tile,
    run_tile_or_write_error,
)
from skywatch.outputs.alert_store import update_store
from skywatch.outputs.alerts import alerts_feature_collection, write_alerts
from skywatch.outputs.atomic import WRITE_ERRNOS, atomic_dir, atomic_path
from skywatch.outputs.cog import write_cog
from skywatch.outputs.delivery import (
    RasterLayer,
    VectorLayer,
    alerts_frame,
    aoi_frame,
    detections_frame,
    write_delivery,
)

if TYPE_CHECKING:  # the camera-trap stack loads only for jobs that fuse camera traps
    from skywatch.jobs.presence import PresenceResult
    from skywatch.jobs.presence_proc import PresenceProcess

__all__ = ["JobResult", "Plan", "TileTask", "plan_job", "run_job", "run_tile"]

_PROVIDERS = ("CDSE_", "SH_", "EARTHENGINE_", "AZURE_", "PC_SDK_", "GOOGLE_")
ENV_PREFIXES = ("GDAL_", "CPL_", "VSI_", "AWS_", *_PROVIDERS, "SKYWATCH_HTTP_")
# Throughput used for --dry-run's time estimate, in the estimate's own terms (AOI pixels x halo factor x detectors
# per second of the detect stage per core, worker start-up included), on the 2-core reference machine: the models
# 1.41 (benchmarks/e2e_scaling.py, 16x pack: 16.0 Mpx x 1.27 x 3 in 21.6 s x 2 cores); the baselines ran 1.8x
# as fast per tile (five full 16x tiles, one thread: 0.93 against 1.70 s). Rounded down, so the estimate errs long.
EST_MPX_PER_S_PER_CORE = {"model": 1.4, "baseline": 2.5}
# How long to try reaching an existing scheduler (--scheduler / DASK_SCHEDULER_ADDRESS) before giving up.
SCHEDULER_CONNECT_S = 10.0
_TYPES = {"burn_scar": "burn_scar", "active_fire": "fire_active", "clearcut": "clearcut", "road": "road"}


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What a job will do."""

    job: JobConfig
    aoi: AOI
    grid: TileGrid
    items: dict[str, list[pystac.Item]]
    plans: dict[str, DetectPlan]
    est_bytes: int
    est_seconds: float

    def summary(self) -> dict[str, Any]:
        """Scenes, tiles and estimates, for --dry-run and the manifest."""
        return {
            "job_name": self.job.name,
            "aoi": self.aoi.name,
            "scenes": {k: [it.id for it in v] for k, v in self.items.items()},
            "grid": {"epsg": self.grid.epsg, "resolution_m": self.grid.resolution, "tile_px": self.grid.tile_px},
            "tiles": {task: len(p.tiles) for task, p in self.plans.items()},
            "estimated_bytes": self.est_bytes,
            "estimated_seconds_per_core": round(self.est_seconds, 1),
        }


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """What a run wrote; ``push_error`` is set when the webhook failed (alerts stay queued in the store)."""

    out: Path
    manifest: dict[str, Any]
    push_error: str | None = None
    files: list[Path] = field(default_factory=list)


def plan_job(job: JobConfig, *, env: dict[str, str] | None = None) -> Plan:
    """Search scenes and plan tiles; reads no pixels.

    Raises:
        SourceError: no scenes in a window; AOIError, DataError: as the AOI and detectors raise.
    """
    env = dict(os.environ) if env is None else env
    aoi = load_aoi(job.aoi)
    grid = TileGrid.for_aoi(aoi, tile_px=job.compute.tile_px)
    source = job_source(job, env)
    w = job.windows
    items = {"before": search_window(source, aoi, (w.before.start, w.before.end), job.provider.max_cloud),
             "after": search_window(source, aoi, (w.after.start, w.after.end), job.provider.max_cloud)}  # fmt: skip
    plans: dict[str, DetectPlan] = {}
    for task in job.detect.tasks:
        d = job.detect
        plans[task] = plan_detect(task, source=source, aoi=aoi, grid=grid, items=items, method=d.method,
                                  cloud_buffer_px=d.cloud_buffer_px, fire_index=d.fire_index)  # fmt: skip
    area_px = aoi.to_crs(grid.epsg).area / grid.resolution**2
    first = next(iter(plans.values()))
    halo_factor = sum((ld[2] - ld[0]) * (ld[3] - ld[1]) for _, ld, _ in first.tiles) / max(
        sum((c[2] - c[0]) * (c[3] - c[1]) for _, _, c in first.tiles), 1.0
    )
    scenes = len(items["before"]) + len(items["after"])
    est_bytes = int(scenes * len(BANDS) * 2 * area_px * halo_factor)  # uint16 bands per scene, read once per tile
    est_seconds = area_px * halo_factor * len(plans) / (EST_MPX_PER_S_PER_CORE[job.detect.method] * 1e6)
    return Plan(job=job, aoi=aoi, grid=grid, items=items, plans=plans, est_bytes=est_bytes, est_seconds=est_seconds)


def _worker_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}


def _compute(tasks: list[TileTask], job: JobConfig, scheduler: str | None, progress: Callable[[str], None] | None,
             watch: Callable[[], None] | None = None) -> None:  # fmt: skip
    """Run the tile tasks on Dask (skipping checkpointed ones before they are even sent); ``watch`` is called
    after each finished tile and may raise to stop the run (the presence run beside the tiles failed): what it
    raises is raised as it is.

    Raises:
        OutputError: the checkpoint folder cannot be made, or a tile could not be written (disk full, ...);
        SkywatchError: the scheduler cannot be reached or is lost mid-run, or a tile's workers keep dying. The
            tiles finished so far stay checkpointed either way, so running the job again resumes.
    """
    todo = [t for t in tasks if not all(Path(p).exists() for p in t.checkpoints.values())]
    if progress is not None:
        progress(f"{len(tasks) - len(todo)} of {len(tasks)} tile task(s) already checkpointed")
    if not todo:
        return
    from concurrent.futures import CancelledError

    from distributed import Client, as_completed

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    cluster = None
    if address:
        _check_tls_settings(address)
        try:
            client = Client(address, timeout=SCHEDULER_CONNECT_S)
        except (OSError, TimeoutError, ValueError) as exc:  # refused/unreachable (after the timeout), bad address
            raise SkywatchError(
                f"cannot reach the Dask scheduler at {address!r} within {SCHEDULER_CONNECT_S:g} s "
                f"({_first_line(exc)}); check --scheduler / DASK_SCHEDULER_ADDRESS, or leave both unset to run on "
                "a local cluster"
            ) from exc
    else:
        workers = job.compute.workers or max(1, min(len(todo), os.cpu_count() or 1))
        try:
            cluster = start_local_cluster(workers=workers, threads_per_worker=job.compute.threads_per_worker,
                                          memory_limit=job.compute.memory_limit)  # fmt: skip
        except (OSError, RuntimeError) as exc:  # distributed wraps its start failures in RuntimeError
            raise SkywatchError(
                f"could not start a local Dask cluster ({_first_line(exc)}): is the disk with the temporary folder "
                "full? free some space, or pass --scheduler ADDRESS to use a running cluster"
            ) from exc
        client = Client(cluster)
    failed: tuple[str, BaseException] | None = None
    try:
        for folder in sorted({Path(p).parent for t in todo for p in t.checkpoints.values()}):
            try:  # here, not on a worker: an unwritable output folder is one clear error, not a task failure
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create checkpoint folder {str(folder)!r}: {exc.strerror or exc}") from exc
        client.register_plugin(WorkerEnv(_worker_env()), name="skywatch-env")
        if cluster is not None:  # our own cluster's shutdown is ours to keep quiet, a user's cluster is not
            client.register_plugin(QuietClosingHeartbeat())
        futures = [client.submit(run_tile_or_write_error, t, key=f"skywatch-tile-{t.tile_id}", retries=3,
                                 pure=False) for t in todo]  # fmt: skip
        for done, fut in enumerate(as_completed(futures), start=1):
            if fut.status == "error":  # the task itself failed, after its retries
                failed = (str(fut.key), fut.exception())
                break
            if isinstance(result := fut.result(), OSError):  # its checkpoint could not be written
                failed = (str(fut.key), result)
                break
            if watch is not None:
                watch()
            if progress is not None:
                progress(f"tile tasks {done}/{len(todo)}")
    except SkywatchError:
        raise
    except (CancelledError, OSError) as exc:  # the scheduler went away: futures cancelled, comms closed
        where = f"at {address!r}" if address else "of the local cluster"
        reason = "its connection closed" if isinstance(exc, CancelledError) else _first_line(exc)
        raise SkywatchError(
            f"lost the Dask scheduler {where} mid-run ({reason}); finished tiles are checkpointed: "
            "start the scheduler again and run the same command to resume"
        ) from exc
    finally:
        with _quiet_cancelled_reconnects():
            client.close()
            if cluster is not None:
                cluster.close()
    if failed is not None:
        _raise_tile_error(*failed)


@contextlib.contextmanager
def _quiet_cancelled_reconnects() -> Iterator[None]:
    """While the client closes, drop the tracebacks distributed logs when closing cancels its attempts to reach
    a scheduler that is gone: they would bury skywatch's one-line error and say nothing more."""

    def keep(record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))

    loggers = [logging.getLogger(name) for name in ("distributed.client", "distributed.utils")]
    for logger in loggers:
        logger.addFilter(keep)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(keep)


def _check_tls_settings(address: str) -> None:
    """A ``tls://`` scheduler needs the client's certificates from Dask's configuration; without them distributed
    fails with a bare TypeError (no ``ssl_context``), so say what to set instead.

    Raises:
        SkywatchError: a ``tls://`` address without ``distributed.comm.tls.ca-file`` / ``client.cert``.
    """
    if not address.startswith("tls://"):
        return
    ca = dask.config.get("distributed.comm.tls.ca-file", None)
    cert = dask.config.get("distributed.comm.tls.client.cert", None)
    if not ca or not cert:
        raise SkywatchError(
            f"the Dask scheduler {address!r} speaks TLS but no certificates are configured for this client; set "
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and "
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (files from the cluster's administrator; see the README)"
        )


def _first_line(exc: BaseException) -> str:
    """An exception's message on one line (Dask's span several), at most 200 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _raise_tile_error(key: str, exc: BaseException) -> None:
    """Re-raise a failed tile task's error: skywatch's own as they are, a checkpoint that could not be written
    (disk full, read-only) as :class:`OutputError`, workers that kept dying as :class:`SkywatchError`; anything
    else is a bug and keeps its traceback."""
    from distributed import KilledWorker

    resume = "tiles finished so far are checkpointed: run the same command again to resume"
    if isinstance(exc, OSError) and not isinstance(exc, SkywatchError) and exc.errno in WRITE_ERRNOS:
        where = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(f"tile task {key} could not write its checkpoint: {exc.strerror}{where}; {resume}") from exc
    if isinstance(exc, KilledWorker):
        raise SkywatchError(
            f"Dask workers kept dying on tile task {key} (out of memory? raise compute.memory_limit or lower "
            f"compute.tile_px); {resume}"
        ) from exc
    raise exc


def _checkpoint_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.checkpoints"


def _incidents(out: Path, tasks: list[str], detected: date) -> list[Incident]:
    incidents = []
    for task in tasks:
        frame = gpd.read_file(out / f"{task}.gpkg", layer="detections", engine="pyogrio")
        for row in frame.itertuples():
            kind = _TYPES[str(row.type)]
            pct = round(100 * min(max(float(getattr(row, "mean_prob", 0.5) or 0.5), 0.0), 1.0))
            conf = "high" if pct >= 80 else "nominal" if pct >= 50 else "low"
            length = getattr(row, "length_km", None)
            sev = getattr(row, "severity", None) if kind == "burn_scar" else None
            incidents.append(Incident(type=kind, geometry=row.geometry, detected=detected, confidence=conf,
                                      confidence_pct=pct, area_ha=float(row.area_ha),
                                      length_km=None if length is None or length != length else float(length),
                                      severity=sev if isinstance(sev, str) and sev else None))  # fmt: skip
    return incidents


def _coarse(path: Path, factor: int) -> np.ndarray:
    """Class raster aggregated by ``factor`` with the maximum (a detection anywhere in a cell counts)."""
    with rasterio.open(path) as ds:
        rows, cols = -(-ds.height // factor), -(-ds.width // factor)
        out = np.zeros((rows, cols), dtype=np.uint8)
        step = max(1, 4096 // factor)  # coarse rows per strip: memory stays a few MB whatever the AOI
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            strip = ds.read(1, window=Window(0, r0 * factor, ds.width, min(ds.height, r1 * factor) - r0 * factor))
            padded = np.zeros(((r1 - r0) * factor, cols * factor), dtype=np.uint8)
            padded[: strip.shape[0], : strip.shape[1]] = strip
            out[r0:r1] = padded.reshape(r1 - r0, factor, cols, factor).max(axis=(1, 3))
        return out


def run_job(
    job: JobConfig,
    *,
    out: Path | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    job_text: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> JobResult:
    """Run ``job`` (see the module docstring) into ``out`` (default: the job's ``outputs.dir``).

    Raises:
        OutputError: ``out`` exists without ``overwrite``; SourceError, DataError: as the stages raise.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out = out or job.outputs.dir
    if out.exists() and not overwrite:
        raise OutputError(f"{str(out)!r} exists; pass --overwrite to replace it")
    plan = plan_job(job)
    timings["plan"] = time.perf_counter() - started
    ckpt = _checkpoint_dir(out)
    item_dicts = {k: [it.to_dict() for it in v] for k, v in plan.items.items()}
    job_json = job.model_dump_json()
    first = next(iter(plan.plans.values()))  # every detector has the same tiles (the halo is the widest one's)
    tasks = [TileTask(job_json=job_json, tile_id=tile_id, load=load, core=core, items=item_dicts,
                      checkpoints={task: str(ckpt / task / f"{tile_id}.npz") for task in plan.plans})
             for tile_id, load, core in first.tiles]  # fmt: skip
    after_end = job.windows.after.end
    synthetic = any(bool(it.properties.get("synthetic")) for v in plan.items.values() for it in v)
    push_error = None
    counts: dict[str, int] = {}
    t = time.perf_counter()
    presence = _start_presence(job, ckpt)
    with _stopped_on_error(presence):
        _compute(tasks, job, scheduler, progress, watch=presence.raise_if_failed if presence else None)
        if presence is not None:
            presence.raise_if_failed()  # it failed after the last tile: say so before assembling anything
    timings["detect"] = time.perf_counter() - t
    # the inner guard stops the presence run before the pool's exit would wait for it; the outer one covers
    # a failure to make the temporary output folder
    with (_stopped_on_error(presence), atomic_dir(out, overwrite=overwrite) as tmp,
          ThreadPoolExecutor(max_workers=len(plan.plans) + 1) as pool, _stopped_on_error(presence)):  # fmt: skip
        t = time.perf_counter()
        # Each detector's COGs and GeoPackage in threads side by side (each writes its own files; GDAL, GEOS and
        # numpy release the GIL for most of the work), and one more thread that waits for the presence run
        # (started beside the tiles, in its own process) and moves its folder into the outputs.
        presence_run = None
        if presence is not None:
            timings["presence"] = timings["presence_wait"] = 0.0  # set when known; the manifest's keys keep one order
            presence_run = pool.submit(_collect_presence, presence, tmp, timings)
        assembled = {}
        for task, p in plan.plans.items():

            def results(task: str = task, p: DetectPlan = p) -> Iterator[TileResult]:
                for tile_id, _, _ in p.tiles:
                    yield load_checkpoint(ckpt / task / f"{tile_id}.npz")

            assembled[task] = pool.submit(write_detect_outputs, p, results(), tmp, detected_by=after_end)
        for task, future in assembled.items():
            counts[task] = future.result()
        timings["assemble"] = time.perf_counter() - t
        if presence_run is not None:
            t = time.perf_counter()
            presence_run.result()  # its error, if any, before the fusion starts
            timings["presence_wait"] = time.perf_counter() - t  # what the outputs waited for it after the assembly
        t = time.perf_counter()
        fusion = _fuse(job, plan, tmp, after_end, synthetic, presence_run)
        counts.update(fusion["counts"])
        timings["fuse"] = time.perf_counter() - t
        if job.alerts.webhook:
            push_error = _push(job, fusion["store"])
        manifest = _manifest(job, plan, counts, timings, started, job_text, push_error)
        try:
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
        except OSError as exc:  # name the file: the folder's error alone would not say which write failed
            raise OutputError(f"could not write {str(out / 'manifest.json')!r}: {exc.strerror or exc} (is the disk "
                              "full? nothing was replaced; the tiles stay checkpointed)") from exc  # fmt: skip
    if job.alerts.store is not None:  # only now that every output is in place does the shared store change
        staged = out / fusion["store"].name  # the working copy _fuse updated, now inside the committed outputs
        with atomic_path(job.alerts.store) as tmp_store:
            shutil.copyfile(staged, tmp_store)  # a copy: the store may be on another file system
        staged.unlink()
    shutil.rmtree(ckpt, ignore_errors=True)
    return JobResult(out=out, manifest=manifest, push_error=push_error, files=sorted(p for p in out.rglob("*") if
                     p.is_file()))  # fmt: skip


def _start_presence(job: JobConfig, ckpt: Path) -> PresenceProcess | None:
    """The job's presence run started in its own process beside the tiles (None without camera traps)."""
    if job.fusion.camtrap is None:
        return None
    from skywatch.jobs.presence_proc import start_presence

    try:
        return start_presence(job.model_dump_json(), ckpt)
    except OSError as exc:
        raise OutputError(f"cannot start the camera-trap presence run in {str(ckpt)!r}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _stopped_on_error(presence: PresenceProcess | None) -> Iterator[None]:
    """Kill the presence run (and remove its staging folder) when the block fails or is interrupted."""
    try:
        yield
    except BaseException:
        if presence is not None:
            presence.stop()
        raise


def _collect_presence(presence: PresenceProcess, out: Path,
                      timings: dict[str, float]) -> tuple[pd.DataFrame, PresenceResult]:  # fmt: skip
    """Wait for the presence run and move its folder to ``out/presence``; the stations it used (``station``,
    ``x``, ``y`` in the grid's CRS) and its result; ``timings["presence"]``: the run's own seconds (beside the
    tiles).

    Raises:
        SkywatchError: the presence run's own error (see :meth:`PresenceProcess.wait`).
    """
    from skywatch.jobs.presence import PresenceResult

    try:
        timings["presence"], stations = presence.wait()
        shutil.move(presence.output, out / "presence")
    finally:
        presence.stop()
    summary = json.loads((out / "presence" / "presence.json").read_text(encoding="utf-8"))
    files = sorted(p for p in (out / "presence").iterdir() if p.is_file())
    return stations, PresenceResult(out=out / "presence", files=files, summary=summary)


def _fuse(job: JobConfig, plan: Plan, out: Path, detected: date, synthetic: bool,
          presence_run: Future[tuple[pd.DataFrame, PresenceResult]] | None) -> dict[str, Any]:  # fmt: skip
    """Alerts, habitat risk, hotspots and the QGIS delivery from the assembled detections (``presence_run``: the
    camera-trap presence run's stations and result, for jobs that fuse camera traps)."""
    grid, aoi = plan.grid, plan.aoi
    tasks = list(plan.plans)
    incidents = _incidents(out, tasks, detected)
    res = job.fusion.risk_resolution_m
    factor = max(1, round(res / grid.resolution))
    first = next(iter(plan.plans.values()))
    coarse_transform = first.transform * first.transform.scale(factor, factor)
    masks: dict[str, np.ndarray] = {}
    for task in tasks:
        classes = _coarse(out / f"{task}.tif", factor)
        masks["road" if task == "roads" else task] = classes >= 2
    shape = next(iter(masks.values())).shape
    for name in ("fire", "clearcut", "road"):
        masks.setdefault(name, np.zeros(shape, bool))
    threats: dict[str, Threat] = {
        str(k): Threat(weight=v.weight, scale_m=v.scale_m) for k, v in job.fusion.threats.items()
    }
    threat = threat_surface(masks, resolution=res, threats=threats)
    presence = centres = stations = None
    vectors: list[VectorLayer] = []
    rasters: list[RasterLayer] = []
    secr: dict[str, Any] = {}
    if job.fusion.camtrap is not None:
        from skywatch.jobs.presence import slug

        # started beside the tiles (see run_job)
        if presence_run is None:  # run_job starts one for every job with camera traps
            raise RuntimeError("internal error: a job with camera traps reached the fusion without its presence run")
        xy, result = presence_run.result()
        secr = {k: v.get("secr") for k, v in result.summary["species"].items()}
        layers = []
        for name in job.fusion.species:
            with rasterio.open(out / "presence" / f"presence_{slug(name)}.tif") as ds:
                layers.append(ds.read(1, out_shape=shape, resampling=Resampling.bilinear))
        presence = np.nansum(np.stack(layers), axis=0)
        presence[np.all(np.isnan(np.stack(layers)), axis=0)] = np.nan
        stations = gpd.GeoDataFrame(xy[["station"]], geometry=gpd.points_from_xy(xy.x, xy.y), crs=f"EPSG:{grid.epsg}")
        individuals = out / "presence" / "individuals.gpkg"
        if individuals.exists() and "activity_centres" in {n for n, _ in pyogrio.list_layers(individuals)}:
            centres = gpd.read_file(individuals, layer="activity_centres", engine="pyogrio")
    contexts = incident_context([i.geometry for i in incidents], presence=presence, transform=coarse_transform,
                                stations=stations, centres=centres)  # fmt: skip
    after = plan.items["after"][-1]
    method = f"{job.detect.method}"
    shas = sorted({p.run.model.spec.sha256 for p in plan.plans.values() if p.run.model is not None})
    collection = alerts_feature_collection(
        incidents, epsg=grid.epsg, satellite=str(after.properties.get("platform", "sentinel-2")),
        acq_time=after.datetime.strftime("%H%M") if after.datetime else "0000",
        source_scenes=[it.id for v in plan.items.values() for it in v], method=method, synthetic=synthetic,
        contexts=contexts, model_sha256=",".join(shas) or None,
    )  # fmt: skip
    store = out / "alert_store.gpkg" if job.alerts.store is None else _staged_store(job.alerts.store, out)
    update = update_store(store, collection, run_date=detected, coverage=aoi.geometry)
    write_alerts(out / "alerts.geojson", update.collection)
    counts = {"alerts_new": len(update.new), "alerts_ongoing": len(update.ongoing),
              "alerts_resolved": len(update.resolved), "alerts_outside_aoi": update.dropped_outside}  # fmt: skip
    crs = f"EPSG:{grid.epsg}"
    tags = {"SKYWATCH_SYNTHETIC": "true"} if synthetic else {}
    if presence is not None:
        risk = habitat_risk(presence, threat)
        write_cog(out / "habitat_risk.tif", risk, transform=coarse_transform, epsg=grid.epsg, nodata=float("nan"),
                  tags={**tags, "SKYWATCH_UNITS": "0-1 relative risk"})  # fmt: skip
        exposures = exposure_by_threat(presence, masks, resolution=res, threats=threats)
        spots = hotspots(risk, transform=coarse_transform, epsg=grid.epsg, exposures=exposures)
        zones = zonal_summary(risk, [(aoi.name, aoi.to_crs(grid.epsg))], transform=coarse_transform)
        (out / "zones.json").write_text(json.dumps(zones.to_dict("records"), indent=1), encoding="utf-8")
        vectors.append(VectorLayer(name="hotspots", kind="hotspots", group="Alerts", frame=spots))
        rasters.append(RasterLayer(source="habitat_risk.tif", kind="risk", group="Context", vmin=0.0, vmax=1.0,
                                   names=("Habitat risk", "Риск для местообитаний", "栖息地风险")))  # fmt: skip
        counts["hotspots"] = len(spots)
    else:
        write_cog(out / "threat.tif", threat, transform=coarse_transform, epsg=grid.epsg, nodata=float("nan"),
                  tags={**tags, "SKYWATCH_UNITS": "0-1 threat (no camera traps, so no habitat risk)"})  # fmt: skip
        rasters.append(RasterLayer(source="threat.tif", kind="risk", group="Context", vmin=0.0, vmax=1.0,
                                   names=("Threat", "Угроза", "威胁")))  # fmt: skip
    alerts_gdf = alerts_frame(update.collection, crs)
    vectors.insert(0, VectorLayer(name="alerts", kind="alerts", group="Alerts", frame=alerts_gdf))
    det = detections_frame(incidents, crs)
    vectors.append(VectorLayer(name="detections", kind="detections", group="Disturbance", frame=det))
    if "roads" in tasks:
        lines = gpd.read_file(out / "roads.gpkg", layer="centrelines", engine="pyogrio")
        vectors.append(VectorLayer(name="road_centrelines", kind="road_centrelines", group="Disturbance", frame=lines))
    names = {"fire": ("Fire", "Пожары", "火情"), "clearcut": ("Clear-cuts", "Сплошные рубки", "皆伐"),
             "roads": ("New roads", "Новые дороги", "新道路")}  # fmt: skip
    change = {"fire": "burn_scar", "clearcut": "clearcut", "roads": "road"}
    for task in tasks:
        rasters.append(RasterLayer(source=f"{task}.tif", kind="change_classes", group="Disturbance",
                                   names=names[task], change_type=change[task]))  # fmt: skip
    if stations is not None:
        vectors.append(VectorLayer(name="camera_stations", kind="camera_stations", group="Wildlife", frame=stations))
    if centres is not None:
        vectors.append(VectorLayer(name="activity_centres", kind="activity_centres", group="Wildlife", frame=centres))
    aoi_gdf = aoi_frame(aoi, crs)
    vectors.append(VectorLayer(name="aoi", kind="aoi", group="Context", frame=aoi_gdf))
    write_delivery(out, vectors=vectors, rasters=rasters, epsg=grid.epsg, title=f"skywatch: {job.name}",
                   language=job.outputs.language)  # fmt: skip
    counts["incidents"] = len(incidents)
    return {"counts": counts, "store": store, "secr": secr}


def _staged_store(store: Path, out: Path) -> Path:
    """The working copy, inside the output folder being built, of an alert store kept outside the outputs
    (``alerts.store``). It replaces the store only once the run has written everything (see run_job), so a run
    that fails (disk full at the manifest, a crash in delivery) leaves the store as it was."""
    staged = out / f".staged-{store.name}"
    if store.exists() and not staged.exists():
        try:
            shutil.copyfile(store, staged)
        except OSError as exc:
            raise OutputError(f"cannot copy the alert store {str(store)!r}: {exc.strerror or exc}") from exc
    return staged


def _push(job: JobConfig, store: Path) -> str | None:
    from skywatch.outputs.alert_store import mark_pushed, query_store
    from skywatch.outputs.webhook import push_alerts

    assert job.alerts.webhook is not None
    pending = query_store(store, min_confidence=job.alerts.min_confidence, unpushed_only=True)
    if not pending["features"]:
        return None
    report = push_alerts(job.alerts.webhook, pending)
    if not report.ok:
        return f"{report.message} ({len(pending['features'])} alert(s) kept in {job.alerts.store or store})"
    mark_pushed(store, [f["id"] for f in pending["features"]])
    return None


def _versions() -> dict[str, str]:
    names = ("numpy", "scipy", "rasterio", "pyogrio", "shapely", "pyproj", "odc-stac", "pystac-client", "dask",
             "distributed", "torch", "torchgeo", "xarray", "pandas", "geopandas")  # fmt: skip
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _manifest(job: JobConfig, plan: Plan, counts: dict[str, int], timings: dict[str, float], started: float,
              job_text: str | None, push_error: str | None) -> dict[str, Any]:  # fmt: skip
    shas = {p.run.model.spec.name: p.run.model.spec.sha256 for p in plan.plans.values() if p.run.model is not None}
    job_doc = json.loads(job.model_dump_json())
    if job.alerts.webhook:  # webhook URLs often carry a token: the manifest keeps only the redacted form
        from skywatch.outputs.webhook import redact_url

        job_doc["alerts"]["webhook"] = redact_url(job.alerts.webhook)
        if job_text:
            job_text = job_text.replace(job.alerts.webhook, redact_url(job.alerts.webhook))
    return {
        "skywatch": __version__,
        "python": platform.python_version(),
        "packages": _versions(),
        "job": job_doc,
        "job_file": job_text,
        "models": shas,
        **plan.summary(),
        "counts": counts,
        "timings_s": {k: round(v, 2) for k, v in timings.items()} | {"total": round(time.perf_counter() - started, 2)},
        "webhook_error": push_error,
    }
