"""Wall time and peak memory of `skywatch demo` on the sample, per stage share.

    .venv/bin/python benchmarks/demo_runtime.py

Prints figures only (no pass/fail). The reference is the promise in issue 2: the demo under 3 minutes on
2 cores. Sample generation is measured separately so the chain's own cost is visible.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from skywatch.jobs.demo import run_demo
from skywatch.jobs.sample import write_sample


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sample = write_sample(Path(tmp) / "sample")
        t_sample = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = run_demo(Path(tmp) / "out", sample=sample)
        t_chain = time.perf_counter() - t1
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mpx = 1000 * 1000 / 1e6
    print(f"sample generation: {t_sample:6.2f} s")
    print(f"demo chain:        {t_chain:6.2f} s  ({mpx / t_chain:.2f} Mpx/s over the 1 Mpx sample, 2 dates)")
    print(f"peak RSS:          {peak_mib:6.0f} MiB")
    print(f"incidents:         {result.counts}")


if __name__ == "__main__":
    main()
