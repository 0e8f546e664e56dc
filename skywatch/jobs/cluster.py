"""skywatch's own Dask LocalCluster, and the environment its worker processes start with.

distributed's Nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its config key
``distributed.nanny.pre-spawn-environ``, "automatically trim memory" in its worker-memory docs), to hand freed
memory back to the OS at once. glibc's manual (Malloc Tunable Parameters, ``M_TRIM_THRESHOLD``): once that
parameter is set, glibc's dynamic thresholds are off, so the mmap threshold also stays at 128 KiB. A tile task
allocates and frees dozens of 1152 x 1152 float32 arrays (5.3 MB each); with the fixed thresholds every one is a
fresh ``mmap`` whose pages are faulted in and zeroed, then unmapped. Measured on 5 tiles of the 16x benchmark pack
(:func:`skywatch.jobs.tiles.run_tile` called in one process on one thread): 2.80 million page faults and 3.2 s of
kernel time with the Nanny's setting, against 0.11 million and 0.4 s with glibc's defaults; 10.6 s against 7.5 s
of wall time. In ``skywatch run`` at 16x each of the two workers spent 6.2 s of its 22 s of CPU time in the kernel
before, 0.7-1.1 s after, and the run took 25.0 s instead of 32.4 s.

So skywatch's own cluster leaves that variable out and its workers run on glibc's defaults. The cost is memory
glibc keeps for reuse: a worker's peak went from 825 to 871 MiB at 16x. That peak does not grow with the AOI, so
what a worker keeps between tiles stays under it.

It also starts its workers with ``MALLOC_ARENA_MAX=1`` (glibc's ``M_ARENA_MAX``: one malloc arena for all threads).
A worker runs its tasks on a thread of its own, which glibc gives an arena of its own next to the main thread's, and
how the two keep freed memory made the worker's peak vary from run to run. ``skywatch run`` on the 16x benchmark
pack, 2 workers x 1 thread, the larger worker's peak: 859-913 MiB over 9 runs with glibc's default arenas,
854-876 MiB over 12 runs with one (7 runs each of ``skywatch run`` alone: 26.1-30.2 s against 26.7-29.0 s of
wall time, the same within this machine's drift). With 1 worker x 2 threads: 1029-1111 against 1002-1075 MiB,
30.2-30.6 against 28.0-28.7 s (two runs each).

What the workers inherit instead is this process's environment, so:

- a ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_ARENA_MAX`` the caller set is passed down as it is;
- so is one that an earlier default LocalCluster in the same process left behind: the Nanny writes its pre-spawn
  settings into the environment of the process that starts it (``os.environ.update``, before each spawn). Starting
  this cluster does the same with the settings it keeps (one OpenMP/MKL/OpenBLAS thread, ``PYTHONHASHSEED``) and
  with ``MALLOC_ARENA_MAX=1``: processes this one starts later inherit them (glibc reads them when a process
  starts, so this process's own malloc does not change). In ``skywatch run`` the presence run starts before the
  cluster, so it does not; a second job run from the same Python process (the API, a notebook) starts its presence
  run with them. Its layers do not depend on them (one BLAS thread gives them to float rounding, see
  :mod:`skywatch.jobs.presence_proc`).

A user's cluster (``--scheduler``) is left as its administrator configured it; the README says how to set the same
there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask

if TYPE_CHECKING:
    from distributed import LocalCluster

__all__ = ["NANNY_ARENA_KEY", "NANNY_TRIM_KEY", "start_local_cluster"]

NANNY_TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
NANNY_ARENA_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_ARENA_MAX"


def start_local_cluster(*, workers: int, threads_per_worker: int,
                        memory_limit: str | int | float = "auto") -> LocalCluster:  # fmt: skip
    """Start a LocalCluster of worker processes on glibc's malloc defaults but one arena, its dashboard on a free
    port.

    Each Nanny computes its workers' environment once, when it is created, and reuses it for every restart of its
    worker (a worker that dies is started again with it); all of them are created before this returns.

    Args:
        workers: Worker processes.
        threads_per_worker: Threads in each.
        memory_limit: Per worker, as distributed takes it ("auto": the machine's memory over the workers).

    Raises:
        OSError, RuntimeError: the cluster could not start (distributed wraps its start failures in RuntimeError).
    """
    from distributed import LocalCluster

    # None: distributed drops the variable (nanny._get_env_variables); a variable already in os.environ wins over
    # the config's value, so a caller's MALLOC_ARENA_MAX stays. Dashboard ":0" (a free port): None would still mean
    # :8787, which warns when two jobs run at once.
    with dask.config.set({NANNY_TRIM_KEY: None, NANNY_ARENA_KEY: 1}):
        return LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=True,
                            memory_limit=memory_limit, dashboard_address=":0")  # fmt: skip
