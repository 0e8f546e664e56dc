"""skywatch's own LocalCluster: its workers run on glibc's malloc defaults (see skywatch.jobs.cluster)."""

from __future__ import annotations

import os

import dask
import pytest

from skywatch.jobs.cluster import NANNY_TRIM_KEY, start_local_cluster


def _trim_setting() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_own_cluster_workers_start_without_the_nanny_trim_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import Client

    # a LocalCluster started earlier in this process (other tests) leaves the Nanny's setting in os.environ
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert dask.config.get(NANNY_TRIM_KEY) == 65536, "distributed's default changed: revisit skywatch.jobs.cluster"
    with start_local_cluster(workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        seen = client.run(_trim_setting)
        threads = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
    assert list(seen.values()) == [None]
    assert list(threads.values()) == ["1"]  # the other pre-spawn settings stay
    assert dask.config.get(NANNY_TRIM_KEY) == 65536  # only that cluster's start saw the override


def test_a_trim_threshold_the_caller_sets_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import Client

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    with start_local_cluster(workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        seen = client.run(_trim_setting)
    assert list(seen.values()) == ["1048576"]
