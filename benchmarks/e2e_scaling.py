"""End-to-end scaling of `skywatch run` on SYNTHETIC sample packs of growing area, next to the naive route (the
whole before/after cubes in memory, each shipped model over the whole array at once) measured in the same run.

    .venv/bin/python benchmarks/e2e_scaling.py [--quick] [--sizes 1000,2000,4000] [--method model|baseline]
        [--no-naive] [--no-floor]

Packs are generated with ``write_sample(size_px=...)`` (1000 px = the 10 km sample; 2000 and 4000 px are 4x and
16x its area, features scaled with the size) into a temporary folder. Per size:

- skywatch: the real CLI (``skywatch run JOB.yaml --scheduler ADDR``) in its own process, on a LocalCluster of
  2 worker processes x 1 thread that this script starts fresh for the size, the way ``skywatch run`` starts its
  own (``skywatch.jobs.cluster.start_local_cluster``: glibc's malloc defaults in the workers), so each worker's
  ``ru_maxrss`` is that size's peak. The job: provider local on the pack, tasks fire/clearcut/roads, method
  model, tile_px 1024, camera traps fused. Wall time covers the cluster start and the CLI process (plan, tiles,
  assembly, fusion, QGIS delivery); "main RSS" is the CLI process's ``ru_maxrss`` (from ``os.wait4``).
- naive: one process loads the whole before and after cubes with odc-stac (``LocalSource.load(...).compute()``,
  SCL mask applied), takes the first (here the only) scene of each window, and runs each shipped model
  on the whole array as a user would write it (``from torchgeo.models import FCN``, the shipped weights, one
  forward pass over the full array; ``compute_features`` for the inputs); with ``--method baseline`` the spectral
  baselines instead. It writes no outputs, so it does less than skywatch. Its peak RSS is its ``ru_maxrss``; a
  watchdog kills it above ``--naive-cap-gib`` (reported as such, not as a result).
- floor (``--method model``, unless ``--no-floor``): the least a route built from these parts can take on this machine
  to make the job's rasters (odc-stac's whole-cube read, the four shipped models in skywatch's strips, skywatch's COG
  writer; the start-up not overlapped with the work). One process on one thread loads the whole before and after cubes
  of the bands skywatch reads (dask's synchronous scheduler), runs each model in skywatch's strips and writes each
  detector's classes and probability as a COG once, from memory; its CPU seconds for the read, the models and the
  COGs, spread perfectly over the cores, plus its start-up (Python, skywatch, odc-stac, torch: what each worker pays
  before its first tile) make the floor, printed also without the COGs. It has no halo, no tiles, no vectors, no
  GeoPackages, no fusion and no QGIS delivery, all of which skywatch pays on top. The report says by how much the
  naive route's wall / 3 lies below or above it: below, the 3x goal is out of reach on this machine for a route built
  this way.

Every measured process (skywatch's CLI, the naive route) starts with the environment this script started with,
not the one a LocalCluster leaves in this process.

Figures: wall s, km2/s per core (AOI km2 / wall s / cores), peak RSS per worker (max of the two), main RSS;
ratios skywatch/naive and each size against the first. Goals (issue 7): at 16x skywatch >= 3x faster than
the naive route and <= 1/5 of its peak memory per process; throughput and per-worker peak RSS flat across sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PARK_KM2 = 17_220.0  # both parks, one date pair (README)
WORKERS, THREADS = 2, 1
BEFORE, AFTER = ("2025-09-01", "2025-09-10"), ("2025-10-15", "2025-10-25")
MIB = 1024.0  # ru_maxrss is in KiB on Linux
# The environment this script was started with (taken when it loads, before it starts any cluster). Starting a
# LocalCluster rewrites this process's own os.environ (distributed's Nanny applies its pre-spawn settings,
# OMP_NUM_THREADS=1 and MALLOC_TRIM_THRESHOLD_ among them, to the parent before each spawn), so every measured
# process gets this copy: the naive route must not inherit one thread and glibc settings meant for Dask workers.
# (With them, the naive route took 10.7 s on the 4x pack against 9.9 s in a clean shell.)
CLEAN_ENV = dict(os.environ)

GEN = r"""
import json, sys, time
from pathlib import Path
from skywatch.jobs.sample import write_sample
t = time.perf_counter()
write_sample(Path(sys.argv[1]), size_px=int(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

# The whole-cube read both the naive route and the floor make (prepended to each script): the before and after
# windows with odc-stac, SCL-masked, the first (here the only) scene of each, as float32 ``date:band`` arrays.
LOAD_WHOLE = r"""
import contextlib, json, sys, time
from datetime import date
from pathlib import Path
import dask
import numpy as np
from skywatch.aoi import load_aoi
from skywatch.cube.mask import apply_mask
from skywatch.grid import TileGrid
from skywatch.sources.local import LocalSource
def load_whole(spec, bands, scheduler=None):
    pack = Path(spec["pack"])
    aoi = load_aoi(str(pack / "aoi.geojson"))
    grid = TileGrid.for_aoi(aoi)
    extent = grid.bounds_for(aoi)
    src = LocalSource(path=pack)
    arrays, valid = {}, {}
    for label, (start, end) in (("pre", spec["before"]), ("post", spec["after"])):
        items = src.search(bbox=aoi.bbox, start=date.fromisoformat(start), end=date.fromisoformat(end),
                           collection="sentinel-2-l2a")
        cube = apply_mask(src.load(items, bands=bands, bounds=extent, epsg=grid.epsg, resolution=grid.resolution))
        with dask.config.set(scheduler=scheduler) if scheduler else contextlib.nullcontext():  # default: threads
            first = cube.isel(time=0).compute()  # the whole window in memory, first scene
        for b in bands[:-1]:
            arrays[f"{label}:{b}"] = np.asarray(first[b].values, dtype=np.float32)
        valid[label] = np.asarray(first["valid"].values, dtype=bool)
        del cube, first
    return grid, extent, arrays, valid
"""

NAIVE = (
    LOAD_WHOLE
    + r"""
spec = json.loads(sys.argv[1])
timings = {}
t = time.perf_counter()
grid, extent, arrays, valid = load_whole(spec, ["blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl"])
timings["load"] = time.perf_counter() - t
t = time.perf_counter()
detected = {}
if spec["method"] == "model":
    # as a user would write it: TorchGeo's FCN from torchgeo.models, the shipped weights, one forward pass over
    # the whole array (NHWC, the faster layout on CPU, so the baseline is not handicapped)
    import torch
    from safetensors.torch import load_file
    from torchgeo.models import FCN
    from skywatch.detect.models import compute_features, get_model, models_dir
    for name in ("burn-scar-fcn", "active-fire-fcn", "clearcut-fcn", "roads-fcn"):
        s = get_model(name).spec
        net = FCN(in_channels=len(s.features), classes=len(s.classes), num_filters=s.architecture["num_filters"])
        net.load_state_dict(load_file(str(models_dir() / s.file)))  # get_model checked its sha256
        net = net.eval().to(memory_format=torch.channels_last)
        feats = compute_features(s.features, arrays)
        x = torch.from_numpy(np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)[None])
        with torch.inference_mode():
            prob = torch.softmax(net(x.contiguous(memory_format=torch.channels_last)), dim=1)[0, 1].numpy()
        detected[name] = int((prob >= s.threshold).sum())
        del prob, feats, x
else:
    from skywatch.detect.clearcut import bright_change, clearcut_baseline, forest_mask
    from skywatch.detect.fire import active_fire, burn_scar_baseline
    from skywatch.detect.roads import road_baseline
    a, ok = arrays, valid["pre"] & valid["post"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = {d: (a[f"{d}:nir"] - a[f"{d}:red"]) / (a[f"{d}:nir"] + a[f"{d}:red"]) for d in ("pre", "post")}
        nbr = {d: (a[f"{d}:nir08"] - a[f"{d}:swir22"]) / (a[f"{d}:nir08"] + a[f"{d}:swir22"]) for d in ("pre", "post")}
    detected["burn_scar"] = int(burn_scar_baseline(nbr["pre"], nbr["post"], a["post:red"], ok)[0].sum())
    detected["active_fire"] = int(active_fire(a["post:blue"], a["post:nir08"], a["post:swir16"], a["post:swir22"],
                                              valid["post"])[0].sum())
    change = bright_change(ndvi["pre"], ndvi["post"], a["post:red"], ok)
    detected["clearcut"] = int(clearcut_baseline(change, forest_mask(ndvi["pre"], a["pre:swir16"])).sum())
    with np.errstate(invalid="ignore"):
        vegetated = ndvi["pre"] >= 0.6
    change = bright_change(ndvi["pre"], ndvi["post"], a["post:red"], ok, ndvi_drop=0.2)
    detected["road"] = int(road_baseline(change, vegetated)[0].sum())
timings["detect"] = time.perf_counter() - t
shape = next(iter(arrays.values())).shape
print(json.dumps({"timings": timings, "shape": list(shape), "detected_px": detected}))
"""
)

# The floor: what a route built from these parts must spend on this machine to make the job's rasters (odc-stac's
# whole-cube read, the four models in skywatch's strips, skywatch's COG writer), with nothing else. One process, one
# thread (dask's synchronous scheduler, one torch thread, GDAL on one thread), so its CPU seconds are the work
# itself; the floor in wall seconds is that work spread perfectly over the cores, plus the start-up a worker pays
# before its first tile (Python, skywatch, odc-stac, torch).
FLOOR = (
    r"""
import time
t0 = time.perf_counter()
"""
    + LOAD_WHOLE
    + r"""
import torch
from skywatch.detect.models import get_model
torch.set_num_threads(1)
imports = time.perf_counter() - t0
spec = json.loads(sys.argv[1])
c = time.process_time()
grid, extent, arrays, _ = load_whole(spec, spec["bands"], scheduler="synchronous")
read = time.process_time() - c
c = time.process_time()
prob = {}
for name in ("burn-scar-fcn", "active-fire-fcn", "clearcut-fcn", "roads-fcn"):
    prob[name] = get_model(name).predict(arrays)  # skywatch's strips: the fastest of its measured ways on CPU
models = time.process_time() - c
del arrays
# The job's raster outputs, each written once from memory with skywatch's COG writer: per detector its classes
# (uint8) and its probability (float32), as `skywatch run` delivers them.
c = time.process_time()
from affine import Affine
from skywatch.outputs.cog import write_cog
transform = Affine(grid.resolution, 0.0, extent[0], 0.0, -grid.resolution, extent[3])
out = Path(spec["out"])
out.mkdir(parents=True, exist_ok=True)
for task, name in (("fire", "burn-scar-fcn"), ("clearcut", "clearcut-fcn"), ("roads", "roads-fcn")):
    p = prob[name]
    classes = np.where(p >= get_model(name).spec.threshold, 2, 1).astype(np.uint8)
    classes[np.isnan(p)] = 0
    write_cog(out / f"{task}.tif", classes, transform=transform, epsg=grid.epsg, nodata=0, categorical=True)
    write_cog(out / f"{task}_prob.tif", p, transform=transform, epsg=grid.epsg, nodata=float("nan"))
write = time.process_time() - c
print(json.dumps({"imports_s": imports, "read_cpu_s": read, "models_cpu_s": models, "write_cpu_s": write,
                  "torch_threads": torch.get_num_threads()}))
"""
)
# The bands skywatch's tiles read (skywatch.jobs.detect.BANDS, SCL last; a test keeps the two equal): the naive
# route also reads green, which no model uses. Passed in, so the floor's start-up does not import the detector
# module (geopandas and more) that it does not use.
FLOOR_BANDS = ["blue", "red", "nir", "nir08", "swir16", "swir22", "scl"]
# Thread counts for the floor process: one thread each, whatever the caller's shell says.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GDAL_NUM_THREADS": "1"}


def _maxrss_mib() -> float:
    """Peak RSS of the calling process (run on each Dask worker)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB


def _run(
    cmd: list[str], log: Path, *, cap_bytes: float | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``cmd`` to completion: wall s, exit code, its own ``ru_maxrss`` (os.wait4) and stdout.

    With ``cap_bytes`` a watchdog kills the process once its RSS exceeds the cap (``capped`` is then True). The
    process gets :data:`CLEAN_ENV` updated with ``env``.
    """
    import psutil

    with log.with_suffix(".out").open("w") as out, log.with_suffix(".err").open("w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=REPO, env={**CLEAN_ENV, **(env or {})})
        watched = psutil.Process(proc.pid)
        capped = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if cap_bytes is not None:
                try:
                    rss = watched.memory_info().rss
                except psutil.NoSuchProcess:
                    rss = 0
                if rss > cap_bytes and not capped:
                    capped = True
                    proc.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "rc": proc.returncode, "rss_mib": usage.ru_maxrss / MIB, "capped": capped,
            "stdout": log.with_suffix(".out").read_text(), "stderr": log.with_suffix(".err").read_text()}  # fmt: skip


def _job_file(tmp: Path, pack: Path, out: Path, method: str) -> Path:
    text = f"""name: e2e scaling {pack.name} (SYNTHETIC)
aoi: {pack / "aoi.geojson"}
windows:
  before: {BEFORE[0]}/{BEFORE[1]}
  after: {AFTER[0]}/{AFTER[1]}
provider:
  name: local
  path: {pack}
detect:
  tasks: [fire, clearcut, roads]
  method: {method}
fusion:
  camtrap: {pack / "camtrap"}
compute:
  workers: {WORKERS}
  threads_per_worker: {THREADS}
  tile_px: 1024
outputs:
  dir: {out}
"""
    path = tmp / f"job-{pack.name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _skywatch(job: Path, tmp: Path, label: str) -> dict[str, Any]:
    """`skywatch run` on a fresh 2-process LocalCluster, started the way `skywatch run` starts its own
    (:func:`skywatch.jobs.cluster.start_local_cluster`); worker peaks read from each worker at the end."""
    from distributed import Client

    from skywatch.jobs.cluster import start_local_cluster

    t0 = time.perf_counter()
    cluster = start_local_cluster(workers=WORKERS, threads_per_worker=THREADS, memory_limit="auto")
    client = Client(cluster)
    try:
        client.wait_for_workers(WORKERS)
        start_s = time.perf_counter() - t0
        pids_before = client.run(os.getpid)
        cmd = [sys.executable, "-c", "from skywatch.cli.main import main; main()", "run", str(job),
               "--scheduler", cluster.scheduler_address]  # fmt: skip
        r = _run(cmd, tmp / f"skywatch-{label}")
        pids_after = client.run(os.getpid)
        r["workers_mib"] = sorted(client.run(_maxrss_mib).values())
        r["workers_restarted"] = pids_before != pids_after
    finally:
        client.close()
        cluster.close()
    r["cluster_start_s"] = start_s
    return r


def _fmt(v: float | None, spec: str) -> str:
    """``v`` formatted by ``spec`` (e.g. "8.1f"), or "-" right-aligned to the same width."""
    return f"{'-':>{int(spec.split('.')[0])}}" if v is None else format(v, spec)


def _measure(size: int, tmp: Path, method: str, cap: float, naive_too: bool, floor_too: bool) -> dict[str, Any]:
    """Generate the pack of ``size`` px, run skywatch and (unless told not to) the naive route and the floor on it."""
    pack = tmp / f"pack-{size}"
    gen = _run([sys.executable, "-c", GEN, str(pack), str(size)], tmp / f"gen-{size}")
    if gen["rc"] != 0:
        sys.exit(f"sample generation at {size} px failed:\n{gen['stderr'][-3000:]}")
    print(f"[{size} px] SYNTHETIC pack generated in {gen['wall']:.1f} s", file=sys.stderr)
    out = tmp / f"out-{size}"
    sky = _skywatch(_job_file(tmp, pack, out, method), tmp, str(size))
    if sky["rc"] != 0:
        sys.exit(f"skywatch run at {size} px failed (exit {sky['rc']}):\n{sky['stderr'][-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    sky.update(timings=manifest["timings_s"], tiles=manifest["tiles"], counts=manifest["counts"])
    print(f"[{size} px] skywatch {sky['wall']:.1f} s (+{sky['cluster_start_s']:.1f} s cluster start)", file=sys.stderr)
    shutil.rmtree(out, ignore_errors=True)
    naive: dict[str, Any] | None = None
    if naive_too:
        spec = {"pack": str(pack), "method": method, "before": BEFORE, "after": AFTER}
        naive = _run([sys.executable, "-c", NAIVE, json.dumps(spec)], tmp / f"naive-{size}", cap_bytes=cap)
        if naive["rc"] == 0:
            naive.update(json.loads(naive["stdout"].strip().splitlines()[-1]))
        print(f"[{size} px] naive {naive['wall']:.1f} s (exit {naive['rc']})", file=sys.stderr)
    floor: dict[str, Any] | None = None
    if floor_too and method == "model":
        spec = {"pack": str(pack), "before": BEFORE, "after": AFTER, "bands": FLOOR_BANDS,
                "out": str(tmp / f"floor-out-{size}")}  # fmt: skip
        run = _run([sys.executable, "-c", FLOOR, json.dumps(spec)], tmp / f"floor-{size}", env=ONE_THREAD)
        shutil.rmtree(spec["out"], ignore_errors=True)
        if run["rc"] != 0:
            sys.exit(f"the floor at {size} px failed (exit {run['rc']}):\n{run['stderr'][-3000:]}")
        floor = json.loads(run["stdout"].strip().splitlines()[-1])
        if floor["torch_threads"] != 1:
            sys.exit(f"the floor ran on {floor['torch_threads']} torch threads, not one")
        print(f"[{size} px] floor measured in {run['wall']:.1f} s on one thread", file=sys.stderr)
    shutil.rmtree(pack, ignore_errors=True)
    wall = sky["wall"] + sky["cluster_start_s"]
    km2 = (size * 10 / 1000) ** 2
    n_ok = naive is not None and naive["rc"] == 0
    return {
        "size": size,
        "km2": km2,
        "gen_s": gen["wall"],
        "sky": sky,
        "naive": naive,
        "floor": floor,
        "wall": wall,
        "tput": km2 / wall / (os.cpu_count() or 1),
        "worker": max(sky["workers_mib"]),
        "n_wall": naive["wall"] if naive is not None and n_ok else None,
        "n_rss": naive["rss_mib"] if naive is not None and n_ok else None,
    }


def _report(rows: list[dict[str, Any]], *, method: str, cap: float, command: str) -> None:
    cores = os.cpu_count() or 1
    print(f"skywatch run --method {method} on SYNTHETIC sample packs (write_sample(size_px=...)); {cores} cores, "
          f"{WORKERS} workers x {THREADS} thread, tile_px 1024")  # fmt: skip
    print(f"command: {command}")
    head = (f"{'size px':>8} {'km2':>6} | {'sky wall s':>10} {'detect s':>8} {'km2/s/core':>10} {'worker RSS':>10}"
            f" {'main RSS':>9} | {'naive s':>8} {'naive RSS':>9} | {'speed x':>7} {'mem x':>6}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in rows:
        s, n = r["sky"], r["naive"]
        speed = r["n_wall"] / r["wall"] if r["n_wall"] else None
        mem = r["worker"] / r["n_rss"] if r["n_rss"] else None
        naive_txt = f"{_fmt(r['n_wall'], '8.1f')} {_fmt(r['n_rss'], '9.0f')}"
        if n is not None and n["rc"] != 0:
            why = f"killed >{cap / 2**30:.0f}GiB" if n["capped"] else f"exit {n['rc']}"
            naive_txt = f"{why:>18}"
        sky_txt = f"{r['wall']:10.1f} {s['timings'].get('detect', 0.0):8.1f} {r['tput']:10.3f}"
        print(f"{r['size']:8d} {r['km2']:6.0f} | {sky_txt} {r['worker']:10.0f} {s['rss_mib']:9.0f} | {naive_txt} | "
              f"{_fmt(speed, '7.2f')} {_fmt(mem, '6.3f')}")  # fmt: skip
    print("RSS: peak MiB (ru_maxrss); worker RSS = max of the 2 workers; main RSS = the `skywatch run` process;")
    print("sky wall includes the cluster start; speed x = naive wall / skywatch wall; mem x = worker peak / naive peak")
    for r in rows:
        s, n = r["sky"], r["naive"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in s["timings"].items())
        restarted = " (a worker was restarted: its peak is lost)" if s["workers_restarted"] else ""
        extra = ""
        if n is not None and n["rc"] == 0:
            extra = f"; naive load {n['timings']['load']:.1f} s, detect {n['timings']['detect']:.1f} s"
        print(f"  {r['size']} px: tiles {s['tiles']}, workers {[round(v) for v in s['workers_mib']]} MiB{restarted}, "
              f"cluster start {s['cluster_start_s']:.1f} s, CLI stages s: {stages}{extra}; "
              f"pack generated in {r['gen_s']:.1f} s")  # fmt: skip
    base = rows[0]
    if len(rows) > 1:
        print(f"scaling against {base['size']} px ({base['km2']:.0f} km2):")
        for r in rows[1:]:
            line = (f"  {r['km2'] / base['km2']:.0f}x/1x area: throughput {r['tput'] / base['tput']:.2f}, "
                    f"worker peak RSS {r['worker'] / base['worker']:.2f}, "
                    f"main RSS {r['sky']['rss_mib'] / base['sky']['rss_mib']:.2f}")  # fmt: skip
            if r["n_rss"] and base["n_rss"]:
                line += (
                    f"; naive peak RSS {r['n_rss'] / base['n_rss']:.2f}, naive wall {r['n_wall'] / base['n_wall']:.2f}"
                )
            print(line)
    if len(rows) > 2:
        _linear_fit(rows, cores)
    print("goals (issue 7): at 16x skywatch >= 3x faster and <= 0.20x the naive peak memory; throughput and "
          "per-worker peak RSS flat (ratios ~1.0) across sizes")  # fmt: skip
    last = rows[-1]
    hours = PARK_KM2 / (last["tput"] * cores) / 3600
    print(f"projection: whole park ({PARK_KM2:,.0f} km2, one date pair, this job) at {last['tput']:.3f} km2/s/core "
          f"x {cores} cores (measured at {last['size']} px) = {hours:.2f} h on this machine")  # fmt: skip
    _report_floor(rows)
    print(f"  from: {command}")


def _report_floor(rows: list[dict[str, Any]]) -> None:
    """The floor per size (with and without writing the job's rasters), and where the speed goal (naive wall / 3)
    lies against it, by how much."""
    cores = os.cpu_count() or 1
    measured = [r for r in rows if r["floor"]]
    if not measured:
        return
    print(f"floor (odc-stac's whole-cube read, the four models in skywatch's strips and the job's six COGs written "
          f"once, nothing else; the work spread perfectly over {cores} cores after a worker's start-up): "
          f"start-up + (read + models + COGs CPU s) / {cores}")  # fmt: skip
    for r in measured:
        f = r["floor"]
        bare = f["imports_s"] + (f["read_cpu_s"] + f["models_cpu_s"]) / cores
        floor = bare + f["write_cpu_s"] / cores
        line = (f"  {r['size']} px: start-up {f['imports_s']:.1f} s + (read {f['read_cpu_s']:.1f} + models "
                f"{f['models_cpu_s']:.1f} + COGs {f['write_cpu_s']:.1f} CPU s) / {cores} = {floor:.1f} s "
                f"({bare:.1f} s without the COGs); skywatch {r['wall']:.1f} s is "
                f"{r['wall'] / floor:.2f}x the floor")  # fmt: skip
        if r["n_wall"]:
            target = r["n_wall"] / 3
            gap = 100 * abs(target - floor) / floor
            verdict = ("at the floor" if round(target, 1) == round(floor, 1)
                       else f"{gap:.0f} % below the floor: out of reach here" if target < floor
                       else f"{gap:.0f} % above the floor")  # fmt: skip
            line += f"; 3x the naive route needs {target:.1f} s, {verdict}"
        print(line)


def _linear_fit(rows: list[dict[str, Any]], cores: int) -> None:
    """Least-squares ``wall = fixed + km2 / rate`` over the sizes: the fixed cost of a run (start-up, the camera-trap
    work that does not grow with the imagery) apart from the cost per km2, and how far each size is off the line."""
    import numpy as np

    for label, key in (("skywatch", "wall"), ("naive", "n_wall")):
        pts = [(r["km2"], r[key]) for r in rows if r[key]]
        if len(pts) < 3:
            continue
        km2, wall = np.array(pts).T
        per_km2, fixed = np.polyfit(km2, wall, 1)
        off = ", ".join(f"{a:.0f} km2 {100 * (w - fixed - per_km2 * a) / w:+.1f} %" for a, w in pts)
        print(f"linear fit, {label}: wall = {fixed:.1f} s + km2 / {1 / per_km2:.1f} km2/s "
              f"(marginal {1 / per_km2 / cores:.2f} km2/s/core); off the line: {off}")  # fmt: skip


def main() -> None:
    """Generate packs, run both routes per size, print the table, ratios and the park projection."""
    import psutil

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000", help="comma-separated edges in 10 m pixels (even)")
    parser.add_argument("--quick", action="store_true", help="only 1000 and 2000 px (1x and 4x)")
    parser.add_argument("--method", default="model", choices=["model", "baseline"])
    parser.add_argument("--naive-cap-gib", type=float, help="kill the naive route above this RSS (default: 85 %% "
                        "of the memory available at start)")  # fmt: skip
    parser.add_argument("--no-naive", action="store_true", help="skip the naive route")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (read + models on one thread)")
    args = parser.parse_args()
    sizes = [1000, 2000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    cap = args.naive_cap_gib * 2**30 if args.naive_cap_gib else 0.85 * psutil.virtual_memory().available
    exe = os.path.relpath(sys.executable)
    command = shlex.join([exe if not exe.startswith("..") else sys.executable, *sys.argv])
    with tempfile.TemporaryDirectory(prefix="skywatch-e2e-") as tmp:
        rows = [_measure(size, Path(tmp), args.method, cap, not args.no_naive, not args.no_floor) for size in sizes]
    _report(rows, method=args.method, cap=cap, command=command)


if __name__ == "__main__":
    main()
