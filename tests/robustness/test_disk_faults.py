"""Disk faults (issue #8): an output folder that cannot be written, and a disk that fills up while a COG, a
GeoPackage (the alert store), a checkpoint or the manifest is written.

Each CLI run must end with exit 1 and one ``error:`` line (no traceback), leave the alert store and the outputs of
an earlier successful run byte-identical (writes are atomic: temporary name, then rename), leave no temporary file
that looks like an output, and, for ``skywatch run``, keep its tile checkpoints so that the next run resumes.

The faults are real failing writers that need no root:

- a full disk: the CLI runs in a subprocess whose ``RLIMIT_FSIZE`` is small and which ignores ``SIGXFSZ``, so a
  write past the limit fails with ``EFBIG`` where a full disk gives ``ENOSPC`` (the same code paths: GDAL, SQLite
  and Python see a failed ``write``). The limit is chosen between the sizes of the files a command writes, so the
  first file over it is the one the case is about;
- a read-only folder: ``chmod 0o555``. Root ignores that, so the subprocess first drops ``CAP_DAC_OVERRIDE`` from
  its capability bounding set; where that is not allowed either, those cases are skipped with the reason.
"""

from __future__ import annotations

import ctypes
import json
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import box, mapping, shape

from skywatch.jobs.config import load_job
from skywatch.jobs.demo import DemoResult
from skywatch.jobs.runner import run_job
from skywatch.outputs.alert_store import read_store, update_store
from tests.robustness.conftest import Probe

_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE = 24, 1  # <linux/prctl.h>, <linux/capability.h>
WINDOWS = ("2025-09-01/2025-09-10", "2025-10-15/2025-10-25")


def disk_limit(nbytes: int) -> Callable[[], None]:
    """A child's fault: no file can grow past ``nbytes`` (writes past it fail with EFBIG, like a full disk)."""

    def fault() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return fault


def without_dac_override() -> None:
    """A child's fault: file permissions bind even for root (fails harmlessly where it is not allowed)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, 0, 0, 0)


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders of an interrupted write under ``folder`` (checkpoint folders, kept on purpose
    for the next run, are not looked into)."""
    marks = (".part", ".old-", "-journal", "-wal", ".tmp")
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if not any(part.endswith(".checkpoints") for part in rel.parts) and any(m in path.name for m in marks):
            found.append(str(rel))
    return sorted(found)


def write_job(path: Path, *, sample: Path, aoi: Path, out: Path, store: Path | None = None,
              padding_bytes: int = 0) -> Path:  # fmt: skip
    """A fire job on the SYNTHETIC sample (8 tiles of 256 px); ``padding_bytes`` of comments make the job text,
    copied into manifest.json, that large."""
    text = (f"name: disk faults\naoi: {aoi}\nwindows:\n  before: {WINDOWS[0]}\n  after: {WINDOWS[1]}\n"
            f"provider:\n  name: local\n  path: {sample}\ndetect:\n  tasks: [fire]\n  method: baseline\n"
            f"compute:\n  workers: 1\n  tile_px: 256\noutputs:\n  dir: {out}\n")  # fmt: skip
    if store is not None:
        text += f"alerts:\n  store: {store}\n"
    line = "# padding: this comment makes manifest.json (which quotes the job file) large\n"
    text += line * (padding_bytes // len(line) + 1 if padding_bytes else 0)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def quarter_aoi(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The north-east quarter of the sample's AOI (it holds the burn scar): a quick job, still with alerts."""
    doc = json.loads((sample_dir / "aoi.geojson").read_text())
    x0, y0, x1, y1 = shape(doc["features"][0]["geometry"]).bounds
    quarter = box((x0 + x1) / 2, (y0 + y1) / 2, x1 - 0.01, y1 - 0.005)
    path = tmp_path_factory.mktemp("aoi") / "quarter.geojson"
    feature = {"type": "Feature", "properties": {"name": "quarter"}, "geometry": mapping(quarter)}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


@pytest.fixture(scope="module")
def previous(sample_dir: Path, quarter_aoi: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The outputs of an earlier successful run of the job (copied by each case that re-runs over them)."""
    tmp = tmp_path_factory.mktemp("previous")
    run_job(load_job(write_job(tmp / "job.yaml", sample=sample_dir, aoi=quarter_aoi, out=tmp / "out")))
    return tmp / "out"


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """An empty folder that the CLI (started with :func:`without_dac_override`) cannot write in."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        check = subprocess.run([sys.executable, "-c", "import sys; open(sys.argv[1], 'w')", str(folder / "x")],
                               capture_output=True, preexec_fn=without_dac_override)  # fmt: skip
        if check.returncode == 0:
            pytest.skip("chmod 0o555 does not bind here (root that may not drop CAP_DAC_OVERRIDE): use the "
                        "disk-full cases")  # fmt: skip
        yield folder
    finally:
        folder.chmod(0o755)


def _store_with_demo_alerts(path: Path, demo: DemoResult) -> list[str]:
    collection = json.loads((demo.out / "alerts.geojson").read_text())
    update_store(path, collection, run_date=date(2025, 10, 25))
    return sorted(read_store(path)["alert_id"])


@pytest.mark.parametrize("command", ["demo", "detect", "run", "alerts --add"])
def test_unwritable_output_folder(probe: Probe, read_only: Path, sample_dir: Path, quarter_aoi: Path,
                                  demo_result: DemoResult, command: str) -> None:  # fmt: skip
    out = read_only / "out"
    args: dict[str, list[object]] = {
        "demo": ["demo", "--out", out, "--sample", sample_dir],
        "detect": ["detect", "fire", "--aoi", quarter_aoi, "--before", WINDOWS[0], "--after", WINDOWS[1],
                   "--provider", "local", "--path", sample_dir, "--method", "baseline", "--out", out],
        "run": ["run", write_job(probe.tmp_path / "job.yaml", sample=sample_dir, aoi=quarter_aoi, out=out)],
        "alerts --add": ["alerts", "--store", read_only / "store.gpkg", "--add", demo_result.out / "alerts.geojson"],
    }  # fmt: skip
    probe.guard(read_only)
    outcome = probe.run(args[command], preexec=without_dac_override, timeout=120)
    line = probe.expect_failure(outcome, match=r"Permission denied")
    assert "read-only" in line or "cannot" in line, line
    assert not any(read_only.iterdir())


def test_full_disk_from_the_start(probe: Probe, sample_dir: Path, quarter_aoi: Path) -> None:
    """Not even Dask's local cluster can start (it needs a writable temporary folder)."""
    out = probe.tmp_path / "out"
    job = write_job(probe.tmp_path / "job.yaml", sample=sample_dir, aoi=quarter_aoi, out=out)
    probe.guard(out)
    outcome = probe.run(["run", job], preexec=disk_limit(0), timeout=120)
    probe.expect_failure(outcome, match=r"could not start a local Dask cluster .*disk")
    assert leftovers(probe.tmp_path) == []


def test_full_disk_while_tiles_are_checkpointed(probe: Probe, sample_dir: Path, quarter_aoi: Path) -> None:
    """Checkpoints (uncompressed, up to ~340 kB here) cannot be written: the workers' error, after Dask's retries, is
    one line."""
    out = probe.tmp_path / "out"
    job = write_job(probe.tmp_path / "job.yaml", sample=sample_dir, aoi=quarter_aoi, out=out)
    probe.guard(out)
    outcome = probe.run(["run", job], preexec=disk_limit(50_000), timeout=120)
    probe.expect_failure(outcome, match=r"could not write its checkpoint: File too large.*run the same command")
    assert leftovers(probe.tmp_path) == []


def test_full_disk_writing_a_cog_keeps_the_earlier_run_and_resumes(
    probe: Probe, previous: Path, sample_dir: Path, quarter_aoi: Path
) -> None:
    """Re-run with --overwrite over an earlier run; the probability COG's work file (~570 kB) meets the full disk
    after every checkpoint (uncompressed, <= ~340 kB) was written. The earlier run is untouched; the next run
    resumes and matches it."""
    out = probe.tmp_path / "out"
    shutil.copytree(previous, out)
    job = write_job(probe.tmp_path / "job.yaml", sample=sample_dir, aoi=quarter_aoi, out=out)
    probe.guard(out)
    outcome = probe.run(["run", job, "--overwrite"], preexec=disk_limit(450_000), timeout=120)
    probe.expect_failure(outcome, match=r"could not write .*out.*fire\.prob\.work\.tif.*is the disk full")
    assert leftovers(probe.tmp_path) == []
    ckpt = probe.tmp_path / ".out.checkpoints" / "fire"
    assert len(list(ckpt.glob("[!.]*.npz"))) == 8  # every tile was done before the disk filled up
    del probe.guarded[out]  # the resumed run below replaces it, as it should
    said: list[str] = []
    run_job(load_job(job), overwrite=True, progress=said.append)
    assert "8 of 8 tile task(s) already checkpointed" in said
    assert (out / "alerts.geojson").read_bytes() == (previous / "alerts.geojson").read_bytes()
    for name in ("fire.tif", "fire_prob.tif"):
        with rasterio.open(out / name) as a, rasterio.open(previous / name) as b:
            np.testing.assert_array_equal(a.read(), b.read())


def test_full_disk_writing_the_manifest_leaves_the_alert_store_untouched(
    probe: Probe, sample_dir: Path, quarter_aoi: Path, demo_result: DemoResult
) -> None:
    """manifest.json quotes the job file: with ~1.3 MB of comments it is the largest file and meets the full disk
    last. The alert store outside the output folder (already holding the demo's alerts) is byte-identical: the
    run updates a working copy and replaces the store only once everything is written."""
    out = probe.tmp_path / "out"
    store = probe.tmp_path / "store.gpkg"
    before = _store_with_demo_alerts(store, demo_result)
    job = write_job(probe.tmp_path / "job.yaml", sample=sample_dir, aoi=quarter_aoi, out=out, store=store,
                    padding_bytes=1_300_000)  # fmt: skip
    probe.guard(out, store)
    outcome = probe.run(["run", job], preexec=disk_limit(1_000_000), timeout=180)
    probe.expect_failure(outcome, match=r"could not write .*out.*manifest\.json.*File too large")
    assert leftovers(probe.tmp_path) == []
    assert set(read_store(store)["alert_id"]) == set(before)


def test_full_disk_updating_the_alert_store_leaves_it_byte_identical(probe: Probe,
                                                                      demo_result: DemoResult) -> None:  # fmt: skip
    store = probe.tmp_path / "store.gpkg"
    before = _store_with_demo_alerts(store, demo_result)
    later = json.loads((demo_result.out / "alerts.geojson").read_text())
    for feat in later["features"]:  # the same places ten days on: every alert would become ongoing
        props = feat["properties"]
        props["id"] += "-later"
        props["acq_date"] = (date.fromisoformat(props["acq_date"]) + timedelta(days=10)).isoformat()
    added = probe.tmp_path / "later.geojson"
    added.write_text(json.dumps(later))
    probe.guard(store)
    outcome = probe.run(["alerts", "--store", store, "--add", added], preexec=disk_limit(64_000), timeout=120)
    probe.expect_failure(outcome, match=r"could not write .*store\.gpkg")
    assert sorted(read_store(store)["alert_id"]) == before
    assert leftovers(probe.tmp_path) == []


def test_stdout_on_a_full_disk(probe: Probe, demo_result: DemoResult) -> None:
    store = probe.tmp_path / "store.gpkg"
    _store_with_demo_alerts(store, demo_result)
    probe.guard(store)
    outcome = probe.run(["alerts", "--store", store], stdout=Path("/dev/full"), timeout=120)
    probe.expect_failure(outcome, match=r"No space left on device")
