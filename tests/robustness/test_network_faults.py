"""Network faults against a local server on 127.0.0.1 (tests/helpers/range_server.py), through the real code paths:
pystac-client for the STAC search, GDAL /vsicurl/ range reads (via odc-stac) for the COG pixels, and `skywatch run`
on a Dask cluster for a whole job.

Every fault comes twice: transient (the read succeeds after retries, with the same pixels and a known number of
requests; or, where GDAL does not retry, fails with one SourceError and the next read succeeds) and persistent (the
command exits 1 with one ``error:`` line naming the host, the kind of failure and what to do; no traceback; a
bounded number of requests and seconds). Then a job meets an outage part-way: it fails cleanly, and once the
server is healthy the rerun resumes from its checkpoints with outputs identical to a clean run.

Figures and where they come from (all with the policy below, 3 attempts):
- STAC: urllib3's ``Retry`` (urllib3 2.x, in pystac-client's session) retries error statuses, read timeouts and
  resets while no answer has begun: 3 requests, Retry-After honoured. A break after the answer began (reset,
  short body, read timeout mid-body) is not urllib3's to retry; pystac-client 0.9 wraps it in ``APIError`` and
  :meth:`skywatch.sources.stac.StacSource.search` retries it itself: again 3 requests at most.
- COGs: :func:`skywatch.sources.http.probe` asks each asset for its first byte before GDAL reads: 3 requests per
  asset, Retry-After honoured. GDAL 3.10.3 then retries 429/5xx (``GDAL_HTTP_RETRY_CODES``,
  ``GDAL_HTTP_MAX_RETRY`` = 2; 3 tries of a HEAD or range), requests that time out or are reset before their
  answer began, and a data range reset mid-body; it does not retry a header range broken off mid-body, a range
  that times out mid-body, or a body shorter than its Content-Length (measured here). ``GDAL_HTTP_TIMEOUT`` (whole
  seconds, libcurl's CURLOPT_TIMEOUT) bounds each request. A clean read of the test band takes 4 requests.
- Job: the runner submits each tile with ``retries=3`` (4 tries), each probing the tile's 16 assets.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio

from skywatch.errors import SourceError
from skywatch.sources.http import RetryPolicy
from skywatch.sources.odc_load import load_cube, read_errors
from skywatch.sources.providers import get_provider
from skywatch.sources.stac import StacSource
from tests.helpers.range_server import RangeServer, serve
from tests.robustness.conftest import Outcome, Probe

# The policy of every case: 1 s timeout, 3 attempts, 0.05 s first backoff (RetryPolicy for library calls, the
# same through SKYWATCH_HTTP_* for CLI runs, read by RetryPolicy.from_env).
FAST = RetryPolicy(max_attempts=3, backoff_s=0.05, max_backoff_s=5.0, max_total_s=10.0, timeout_s=1.0)
FAST_ENV = {"SKYWATCH_HTTP_TIMEOUT": "1", "SKYWATCH_HTTP_ATTEMPTS": "3", "SKYWATCH_HTTP_BACKOFF": "0.05",
            "SKYWATCH_HTTP_MAX_WAIT": "10"}  # fmt: skip
STALL_S = 60.0  # a stalled answer waits this long: far past every timeout, so a client that waits would hang
COLLECTION = "sentinel-2-c1-l2a"
AFTER = "S2X_52TFN_20251021_0_L2A_SYNTHETIC"
B04 = f"/{COLLECTION}/{AFTER}/B04.tif"
EPSG = 32652
Fault = Callable[[RangeServer], Any]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample pack (400 x 400 px, 4 km): two dates, six tiles of 256 px, detections in it."""
    from skywatch.jobs.sample import write_sample

    return write_sample(tmp_path_factory.mktemp("net") / "sample", size_px=400)


def _item_dicts(sample: Path, url: str | None) -> list[dict[str, Any]]:
    """The sample's STAC items as a STAC API at ``url`` would serve them (asset hrefs absolute, on the server), or
    with local absolute paths (``url`` None)."""
    root = sample / "stac"
    out = []
    for path in sorted(root.glob(f"{COLLECTION}/*/*.json")):
        doc = json.loads(path.read_text())
        base = f"{url}/{path.parent.relative_to(root).as_posix()}" if url else str(path.parent)
        for asset in doc["assets"].values():
            asset["href"] = f"{base}/{asset['href']}"
        doc["links"] = []
        out.append(doc)
    return out


@pytest.fixture
def server(sample: Path, socket_enabled: None) -> Iterator[RangeServer]:
    """The sample's COGs and a STAC API over them; past 3000 requests every answer is a 503."""
    with serve(sample / "stac") as s:
        s.stac_api(_item_dicts(sample, s.url))
        s.max_requests = 3000
        yield s


@pytest.fixture
def fast_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The FAST policy for CLI runs (in-process, or a subprocess inheriting the environment)."""
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)


def _after_item(server: RangeServer | None, sample: Path) -> pystac.Item:
    url = server.url if server is not None else None
    return pystac.Item.from_dict(next(d for d in _item_dicts(sample, url) if d["id"] == AFTER))


def _bounds(item: pystac.Item) -> tuple[float, float, float, float]:
    t = item.assets["red"].extra_fields["proj:transform"]
    h, w = item.assets["red"].extra_fields["proj:shape"]
    return (t[2], t[5] + t[4] * h, t[2] + t[0] * w, t[5])


def _read_red(item: pystac.Item) -> np.ndarray:
    cube = load_cube([item], bands=["red"], bounds=_bounds(item), epsg=EPSG, policy=FAST)
    with read_errors():
        return np.asarray(cube["red"].compute().values)


@pytest.fixture(scope="module")
def clean_red(sample: Path) -> np.ndarray:
    """B04 of the after scene read from the local file (equal to a healthy remote read, see
    tests/sources/test_remote_reads.py): what every recovered read must equal."""
    return _read_red(_after_item(None, sample))


def _search(server: RangeServer) -> list[pystac.Item]:
    src = StacSource(provider=get_provider("earth-search"), url=server.url, policy=FAST)
    return src.search(bbox=(131.0, 43.0, 131.3, 43.3), start=date(2025, 10, 15), end=date(2025, 10, 25),
                      collection="sentinel-2-l2a")  # fmt: skip


def _imagery_args(server: RangeServer, sample: Path) -> list[object]:
    return ["--aoi", sample / "aoi.geojson", "--start", "2025-10-15", "--end", "2025-10-25",
            "--provider", "earth-search", "--stac-url", server.url]  # fmt: skip


def _expect_clean_failure(probe: Probe, out: Outcome, server: RangeServer, words: str, *, max_s: float) -> str:
    """Exit 1, one error line naming the host, the failure (``words``, a regex) and advice; no traceback."""
    line = probe.expect_failure(out, match=words)
    assert f"127.0.0.1:{server.port}" in line, line
    assert re.search(r"try again later|re-run|check", line), line
    assert out.seconds < max_s, f"took {out.seconds:.1f} s"
    return line


# --- STAC API answers (pystac-client) ------------------------------------------------------------------------------

# transient: (fault, requests to /search, least seconds between the first two requests)
STAC_TRANSIENT: dict[str, tuple[Fault, int, float]] = {
    "5xx burst (503, 503)": (lambda s: s.fail("/search", 503, times=2), 3, 0.0),
    "5xx burst (502)": (lambda s: s.fail("/search", 502), 2, 0.0),
    "429 with Retry-After 1": (lambda s: s.fail("/search", 429, headers={"Retry-After": "1"}), 2, 0.95),
    "429 without Retry-After": (lambda s: s.fail("/search", 429), 2, 0.0),
    "connection reset mid-body": (lambda s: s.reset("/search", after=200), 2, 0.0),
    "connection reset before the answer": (lambda s: s.reset("/search"), 2, 0.0),
    "slow server (no answer in time)": (lambda s: s.stall("/search", STALL_S), 2, 0.95),
    "slow server mid-body": (lambda s: s.stall("/search", STALL_S, after=200), 2, 0.95),
    "Content-Length longer than the body": (lambda s: s.short_body("/search", missing=200), 2, 0.0),
    "Content-Length shorter than the body": (lambda s: s.long_body("/search", extra=200), 2, 0.0),
}  # fmt: skip


@pytest.mark.parametrize("case", list(STAC_TRANSIENT))
def test_stac_transient_fault_is_retried(server: RangeServer, case: str) -> None:
    fault, requests, gap = STAC_TRANSIENT[case]
    fault(server)
    t0 = time.monotonic()
    items = _search(server)
    assert [it.id for it in items] == [AFTER]
    hits = server.requests_for("/search")
    assert len(hits) == requests, [(h.status, h.fault) for h in hits]
    assert hits[1].at - hits[0].at >= gap
    assert time.monotonic() - t0 < 5


# persistent: (fault, words in the error line, requests to /search, least seconds)
STAC_PERSISTENT: dict[str, tuple[Fault, str, int, float]] = {
    "5xx storm (503)": (lambda s: s.fail("/search", 503, times=100), r"HTTP 503", 3, 0.0),
    "5xx burst longer than the retries (502 x 5)": (lambda s: s.fail("/search", 502, times=5), r"HTTP 502", 3, 0.0),
    "429 storm with Retry-After 1": (lambda s: s.fail("/search", 429, times=100, headers={"Retry-After": "1"}),
                                     r"HTTP 429", 3, 1.9),
    "429 storm without Retry-After": (lambda s: s.fail("/search", 429, times=100), r"HTTP 429", 3, 0.0),
    "connection resets mid-body": (lambda s: s.reset("/search", after=200, times=100), r"connection was reset", 3,
                                   0.0),
    "slow server mid-body": (lambda s: s.stall("/search", STALL_S, after=200, times=100),
                             r"no answer within the 1 s timeout", 3, 2.0),
    "Content-Length longer than the body": (lambda s: s.short_body("/search", missing=200, times=100),
                                            r"cut short .*Content-Length", 3, 0.0),
    "Content-Length shorter than the body": (lambda s: s.long_body("/search", extra=200, times=100),
                                             r"not JSON", 3, 0.0),
}  # fmt: skip


@pytest.mark.parametrize("case", list(STAC_PERSISTENT))
def test_stac_persistent_fault_fails_cleanly(
    probe: Probe, server: RangeServer, sample: Path, fast_http: None, case: str
) -> None:
    fault, words, requests, least_s = STAC_PERSISTENT[case]
    fault(server)
    out = probe.run(["search", *_imagery_args(server, sample)])
    _expect_clean_failure(probe, out, server, rf"STAC search at http://127\.0\.0\.1:\d+/search failed.*{words}",
                          max_s=10)  # fmt: skip
    assert len(server.requests_for("/search")) == requests
    assert out.seconds >= least_s


def test_stac_slow_server_times_out_in_a_subprocess(
    probe: Probe, server: RangeServer, sample: Path, fast_http: None
) -> None:
    """A server that accepts and never answers: 3 requests of 1 s each (urllib3 retries read timeouts), not a hang."""
    server.stall("/search", STALL_S, times=100)
    out = probe.run(["search", *_imagery_args(server, sample)], subprocess_run=True, timeout=60)
    _expect_clean_failure(probe, out, server, r"no answer within the 1 s timeout", max_s=30)
    assert len(server.requests_for("/search")) == 3


# --- COG range reads (GDAL /vsicurl/ through odc-stac) --------------------------------------------------------------

# transient: (fault, most requests for B04); the pixels must equal a clean read, which takes 4 requests (the probe,
# GDAL's HEAD, its header range and one data range). ``passes(B04)`` lets the probe's GET through,
# ``passes(B04, times=2)`` also GDAL's header range; HEAD requests pass body faults by.
COG_TRANSIENT: dict[str, tuple[Fault, int]] = {
    "5xx burst at the probe": (lambda s: s.fail(B04, 503, times=2), 8),
    "5xx burst during the range reads": (lambda s: (s.passes(B04), s.fail(B04, 503, times=2)), 8),
    "429 with Retry-After 1 at the probe": (lambda s: s.fail(B04, 429, headers={"Retry-After": "1"}), 8),
    "429 during the range reads": (lambda s: (s.passes(B04), s.fail(B04, 429, times=2)), 8),
    "connection reset at the probe": (lambda s: s.reset(B04), 8),
    "connection reset before a range answer": (lambda s: (s.passes(B04), s.reset(B04, times=2)), 8),
    "connection reset mid-body of a data range": (lambda s: (s.passes(B04, times=2), s.reset(B04, after=500)), 8),
    "slow server at the probe": (lambda s: s.stall(B04, STALL_S), 8),
    "slow server before a range answer": (lambda s: (s.passes(B04), s.stall(B04, STALL_S)), 8),
    "Content-Length longer than the header": (lambda s: (s.passes(B04), s.short_body(B04, missing=500)), 8),
}  # fmt: skip


@pytest.mark.parametrize("case", list(COG_TRANSIENT))
def test_cog_transient_fault_is_retried(server: RangeServer, sample: Path, clean_red: np.ndarray, case: str) -> None:
    fault, most = COG_TRANSIENT[case]
    fault(server)
    t0 = time.monotonic()
    red = _read_red(_after_item(server, sample))
    np.testing.assert_array_equal(red, clean_red)  # recovered, not silently short of bytes
    hits = server.requests_for(B04)
    assert any(h.fault not in ("", "ok") for h in hits), "the fault never happened"
    assert len(hits) <= most
    assert time.monotonic() - t0 < 10


# GDAL (3.10.3) does not retry a range read broken off after its answer began, except a reset of a data range:
# the read fails, with one SourceError naming the asset. Two bugs made that permanent for the process: a read that
# timed out mid-body left the broken bytes in GDAL's process-wide /vsicurl/ cache (every later read failed without
# asking the server), and a header cut short that way came out of odc-geo as a bare AssertionError (a traceback).
# read_errors() now names the asset in both cases and clears the cache, so the next read (Dask's retry of a tile,
# a rerun) gets through.
COG_BREAK_THEN_RECOVER: dict[str, Fault] = {
    "connection reset mid-body of the header": lambda s: (s.passes(B04), s.reset(B04, after=500)),
    "slow server mid-body of the header": lambda s: (s.passes(B04), s.stall(B04, STALL_S, after=500)),
    "slow server mid-body of a data range": lambda s: (s.passes(B04, times=2), s.stall(B04, STALL_S, after=500)),
    "Content-Length longer than a data range body": lambda s: (s.passes(B04, times=2), s.short_body(B04, missing=500)),
    "Content-Length shorter than a data range body": lambda s: (s.passes(B04, times=2), s.long_body(B04, extra=500)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(COG_BREAK_THEN_RECOVER))
def test_cog_break_fails_cleanly_then_the_next_read_recovers(
    server: RangeServer, sample: Path, clean_red: np.ndarray, case: str
) -> None:
    COG_BREAK_THEN_RECOVER[case](server)
    item = _after_item(server, sample)
    with pytest.raises(SourceError, match=r"B04\.tif failed: .*(broke off|no answer)"):
        _read_red(item)
    np.testing.assert_array_equal(_read_red(item), clean_red)


# persistent, through `skywatch cube`: (fault, words in the error line, most requests for B04, least seconds).
# Failing at the probe takes exactly its 3 attempts; after it, GDAL's 3 tries of a HEAD or range (4 to 8 in all).
COG_PERSISTENT: dict[str, tuple[Fault, str, int, float]] = {
    "5xx storm (probe)": (lambda s: s.fail(B04, 503, times=500), r"still failing after 3 attempt.*HTTP 503", 3, 0.0),
    "5xx storm after the probe (GDAL)": (lambda s: (s.passes(B04), s.fail(B04, 503, times=500)),
                                         r"B04\.tif failed: the server answered HTTP 503, still after GDAL's retries",
                                         8, 0.0),
    "429 storm with Retry-After 1": (lambda s: s.fail(B04, 429, times=500, headers={"Retry-After": "1"}),
                                     r"still failing after 3 attempt.*HTTP 429", 3, 1.9),
    "429 storm after the probe (GDAL)": (lambda s: (s.passes(B04), s.fail(B04, 429, times=500)),
                                         r"answered HTTP 429", 8, 0.0),
    "connection resets": (lambda s: s.reset(B04, times=500), r"still failing after 3 attempt.*connection was reset",
                          3, 0.0),
    "connection resets mid-body after the probe": (lambda s: (s.passes(B04), s.reset(B04, after=500, times=500)),
                                                   r"B04\.tif failed: .*broke off the connection", 8, 0.0),
    "slow server mid-body after the probe": (lambda s: (s.passes(B04), s.stall(B04, STALL_S, after=500, times=500)),
                                             r"B04\.tif failed: .*broke off the connection", 8, 0.9),
    "Content-Length longer than the body": (lambda s: (s.passes(B04), s.short_body(B04, missing=500, times=500)),
                                            r"B04\.tif failed: .*broke off the connection", 8, 0.0),
    "Content-Length shorter than the body": (lambda s: (s.passes(B04), s.long_body(B04, extra=500, times=500)),
                                             r"B04\.tif failed: .*broke off the connection", 8, 0.0),
}  # fmt: skip


@pytest.mark.parametrize("case", list(COG_PERSISTENT))
def test_cog_persistent_fault_fails_cleanly(
    probe: Probe, server: RangeServer, sample: Path, tmp_path: Path, fast_http: None, case: str
) -> None:
    fault, words, most, least_s = COG_PERSISTENT[case]
    fault(server)
    out_dir = tmp_path / "cube"
    probe.guard(out_dir)
    out = probe.run(["cube", *_imagery_args(server, sample), "--bands", "red", "--out", out_dir])
    _expect_clean_failure(probe, out, server, words, max_s=20)
    assert not out_dir.exists()
    hits = server.requests_for(B04)
    assert 1 <= len(hits) <= most, [(h.method, h.status, h.fault) for h in hits]
    assert out.seconds >= least_s


def test_cog_slow_server_times_out_in_a_subprocess(
    probe: Probe, server: RangeServer, sample: Path, tmp_path: Path, fast_http: None
) -> None:
    """After the probe, every range read stalls: GDAL_HTTP_TIMEOUT (1 s) fires on each of GDAL's 3 tries."""
    server.passes(B04)
    server.stall(B04, STALL_S, times=500)
    out_dir = tmp_path / "cube"
    probe.guard(out_dir)
    out = probe.run(["cube", *_imagery_args(server, sample), "--bands", "red", "--out", out_dir],
                    subprocess_run=True, timeout=90)  # fmt: skip
    _expect_clean_failure(probe, out, server, r"B04\.tif failed: no answer in time.*SKYWATCH_HTTP_TIMEOUT", max_s=45)
    assert not out_dir.exists()
    assert len(server.requests_for(B04)) <= 8


def test_sub_second_timeout_still_bounds_gdal_reads(server: RangeServer, sample: Path) -> None:
    """A 0.5 s policy used to reach GDAL as GDAL_HTTP_TIMEOUT=0, which libcurl reads as "no limit": a stalled range
    read then waited for the server (60 s here, forever in the field). It is now rounded up to 1 s."""
    server.passes(B04)
    server.stall(B04, STALL_S, times=500)
    item = _after_item(server, sample)
    policy = RetryPolicy(max_attempts=2, backoff_s=0.05, max_total_s=5.0, timeout_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"B04\.tif failed: no answer in time"):
        cube = load_cube([item], bands=["red"], bounds=_bounds(item), epsg=EPSG, policy=policy)
        with read_errors():
            cube["red"].compute()
    assert time.monotonic() - t0 < 15


def test_bad_http_setting_is_one_line(probe: Probe, server: RangeServer, sample: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("SKYWATCH_HTTP_TIMEOUT", "soon")
    out = probe.run(["search", *_imagery_args(server, sample)])
    assert "SKYWATCH_HTTP_TIMEOUT='soon' is not a positive number of seconds" in probe.expect_failure(out)
    assert server.log == []


# --- a whole job: an outage part-way, then a resumed run -----------------------------------------------------------

# The job's workers read with a 5 s timeout (a loaded 2-core machine must not time out on a healthy server).
JOB_ENV = {**FAST_ENV, "SKYWATCH_HTTP_TIMEOUT": "5"}
JOB = """name: network faults
aoi: {aoi}
windows:
  before: 2025-09-01/2025-09-10
  after: 2025-10-15/2025-10-25
provider:
  name: earth-search
  stac_url: {url}
detect:
  tasks: [fire]
  method: baseline
compute:
  tile_px: 256
outputs:
  dir: {out}
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """One Dask worker process, shared by the job's runs (``--scheduler``), started with the job's HTTP policy in
    its environment (the runner hands workers only GDAL_/AWS_/provider variables)."""
    from distributed import Client, LocalCluster

    with pytest.MonkeyPatch.context() as mp:
        for key, value in JOB_ENV.items():
            mp.setenv(key, value)
        with (
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c,
            Client(c) as client,
        ):
            yield client


def _ready(ckpt: Path) -> list[Path]:
    """Finished checkpoints (not the temporary files they are written to before their rename)."""
    return sorted(p for p in ckpt.rglob("*.npz") if not p.name.startswith("."))


def _probes(server: RangeServer, since: int = 0) -> int:
    """Probe requests (one per asset per tile load: deterministic, unlike GDAL's cached range reads)."""
    return sum(1 for r in server.log[since:] if r.range == "bytes=0-0")


def _idle(client: Any) -> None:
    """Wait until the cluster holds no task of the last run: the scheduler has released them all, and no worker is
    still executing one (Dask lets a released task run to its end, checkpoint included)."""

    def busy() -> bool:
        queued = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        running = client.run(lambda dask_worker: dask_worker.state.executing_count)
        return bool(queued or any(running.values()))

    deadline = time.monotonic() + 60
    while busy() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_job_outage_fails_cleanly_and_resumes(
    probe: Probe, server: RangeServer, sample: Path, tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skywatch.jobs.config import load_job
    from skywatch.jobs.runner import run_job

    for key, value in JOB_ENV.items():
        monkeypatch.setenv(key, value)
    scheduler = cluster.scheduler.address

    # a clean run, for reference
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    (ref_dir / "job.yaml").write_text(JOB.format(aoi=sample / "aoi.geojson", url=server.url, out=ref_dir / "out"))
    start = len(server.log)
    ref = run_job(load_job(ref_dir / "job.yaml"), scheduler=scheduler)
    tiles = ref.manifest["tiles"]["fire"]
    ref_probes, ref_requests = _probes(server, start), len(server.log) - start
    assert tiles >= 3 and ref_probes % tiles == 0 and ref.manifest["counts"]["incidents"] >= 1
    _idle(cluster)

    # the same job; the imagery server goes down (503 on every COG) once the first tile is checkpointed
    out = tmp_path / "out"
    ckpt = tmp_path / ".out.checkpoints"
    job = tmp_path / "job.yaml"
    job.write_text(JOB.format(aoi=sample / "aoi.geojson", url=server.url, out=out))
    stop = threading.Event()

    def outage_after_first_tile() -> None:
        while not stop.is_set():
            if _ready(ckpt):
                server.outage(503, prefix=f"/{COLLECTION}/")
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=outage_after_first_tile, daemon=True)
    watcher.start()
    probe.guard(out)
    start = len(server.log)
    failed = probe.run(["run", job, "--scheduler", scheduler], subprocess_run=True, timeout=180)
    stop.set()
    watcher.join(timeout=5)
    _expect_clean_failure(probe, failed, server, rf"{COLLECTION}/\S+\.tif.*HTTP 503.*try again later", max_s=120)
    _idle(cluster)
    assert not out.exists()
    assert [p for p in tmp_path.rglob("manifest.json") if ref_dir not in p.parents] == []  # no run claims success
    done = _ready(ckpt)
    assert 1 <= len(done) < tiles, f"{len(done)} of {tiles} tiles checkpointed"
    # bounded: per tile, Dask's 4 tries (the runner's retries=3) of probing 3 times each asset, plus GDAL's reads
    assert len(server.log) - start <= tiles * 4 * 3 * (ref_probes // tiles) + 3 * ref_requests
    stamps = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in done}
    probe.guarded.pop(out)  # the rerun is meant to write it

    # healthy again: the rerun skips the checkpointed tiles and ends identical to the clean run
    server.outage(None)
    redone: list[Path] = []
    stop.clear()

    def watch_checkpoints() -> None:
        while not stop.is_set():
            for p, stamp in stamps.items():
                try:
                    if (p.stat().st_ino, p.stat().st_mtime_ns) != stamp:
                        redone.append(p)
                except FileNotFoundError:
                    pass  # removed once the run completes
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_checkpoints, daemon=True)
    watcher.start()
    start = len(server.log)
    resumed = probe.run(["run", job, "--scheduler", scheduler], subprocess_run=True, timeout=180)
    stop.set()
    watcher.join(timeout=5)
    assert resumed.code == 0, resumed.stderr[-2000:]
    assert not redone, f"checkpointed tiles redone: {redone}"
    assert _probes(server, start) * tiles == ref_probes * (tiles - len(done))  # only the missing tiles were read
    assert json.loads((out / "manifest.json").read_text())["tiles"] == {"fire": tiles}
    assert not ckpt.exists()
    for name in ("fire.tif", "fire_prob.tif", "threat.tif"):
        with rasterio.open(ref_dir / "out" / name) as a, rasterio.open(out / name) as b:
            np.testing.assert_array_equal(a.read(), b.read())
    assert (ref_dir / "out" / "alerts.geojson").read_bytes() == (out / "alerts.geojson").read_bytes()
