"""skywatch's own LocalCluster: its workers start without the Nanny's trim threshold and with one malloc arena (see
skywatch.jobs.cluster).
Linux only: the workers' start environment is read from /proc."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest

from skywatch.jobs.cluster import NANNY_ARENA_KEY, NANNY_TRIM_KEY, start_local_cluster
from tests.helpers.proc_environ import start_environ

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(),
                                reason="reads the workers' start environment from /proc (Linux)")  # fmt: skip


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    """Starting a LocalCluster writes the Nanny's pre-spawn settings into this process's os.environ (which
    monkeypatch does not record for variables that were absent): put the environment back as it was."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # a LocalCluster started earlier in this process (other tests) leaves the Nanny's settings in os.environ, and a
    # CI may export its own thread count
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    import distributed  # noqa: F401  (its defaults enter dask.config when it is imported)

    if dask.config.get(NANNY_TRIM_KEY, None) != 65536:
        pytest.skip("distributed's default trim threshold is not 65536 here (another version or a Dask config)")


@pytest.mark.usefixtures("clean_env")
def test_own_cluster_workers_start_without_the_nanny_trim_threshold() -> None:
    from distributed import Client

    with start_local_cluster(workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        (seen,) = client.run(start_environ).values()
    assert "MALLOC_TRIM_THRESHOLD_" not in seen
    assert seen.get("MALLOC_ARENA_MAX") == "1"
    assert seen.get("OMP_NUM_THREADS") == "1"  # the other pre-spawn settings stay
    # only that cluster's start saw the overrides
    assert dask.config.get(NANNY_TRIM_KEY) == 65536 and dask.config.get(NANNY_ARENA_KEY, None) is None


@pytest.mark.usefixtures("clean_env")
def test_a_worker_the_nanny_restarts_starts_without_it_too() -> None:
    from distributed import Client

    with start_local_cluster(workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        (pid,) = client.run(os.getpid).values()
        # the first spawn wrote the setting into this process's environment too; without it here, the restarted
        # worker can only have it from the environment the Nanny computed when the cluster started
        del os.environ["MALLOC_ARENA_MAX"]
        os.kill(pid, signal.SIGKILL)  # as the worker-loss tests do: the Nanny starts a new worker process
        deadline = time.monotonic() + 60
        while True:
            try:
                pids = client.run(os.getpid)
            except (OSError, KeyError):  # the dead worker is still listed for a moment
                pids = {}
            if len(pids) == 1 and pid not in pids.values():
                break
            assert time.monotonic() < deadline, "the Nanny did not restart its worker within 60 s"
            time.sleep(0.2)
        (seen,) = client.run(start_environ).values()
    assert "MALLOC_TRIM_THRESHOLD_" not in seen
    assert seen.get("MALLOC_ARENA_MAX") == "1"


def test_malloc_settings_the_caller_sets_are_passed_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented contract: the overrides drop only distributed's default trim threshold and add one arena
    where the caller set none, never replacing a value the caller set (fails if an override is ever made by
    clearing or forcing the variable)."""
    from distributed import Client

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    with start_local_cluster(workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        (seen,) = client.run(start_environ).values()
    assert seen.get("MALLOC_TRIM_THRESHOLD_") == "1048576"
    assert seen.get("MALLOC_ARENA_MAX") == "4"
