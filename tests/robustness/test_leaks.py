"""Credential leak scan: CLI runs that must fail offline, with fake credentials in the environment; the secrets
must appear neither on stdout/stderr nor in any file written (the harness scans both for every CLI case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness.conftest import Probe

DEAD = "http://127.0.0.1:9/stac"  # the discard port: connection refused at once, nothing leaves the machine
LEAK_CASES = {
    "detect via cdse (dead endpoint)": ["detect", "fire", "--aoi", "land-of-the-leopard", "--before",
                                        "2025-09-01/2025-09-10", "--after", "2025-10-15/2025-10-25", "--provider",
                                        "cdse", "--stac-url", DEAD, "--method", "baseline"],
    "detect via sentinelhub (offline)": ["detect", "fire", "--aoi", "land-of-the-leopard", "--before",
                                         "2025-09-01/2025-09-10", "--after", "2025-10-15/2025-10-25", "--provider",
                                         "sentinelhub", "--method", "baseline"],
    "search via cdse (dead endpoint)": ["search", "--aoi", "land-of-the-leopard", "--start", "2025-09-01", "--end",
                                        "2025-09-10", "--provider", "cdse", "--stac-url", DEAD, "--json"],
}  # fmt: skip


# Offline, Sentinel Hub fails cleanly in about 20 s: the library retries each attempt after a DNS failure (its
# retries now follow skywatch's policy: 5 attempts, 0.5 s doubling); 60 s is the bound for calling it a hang.
CASES = list(LEAK_CASES)


@pytest.mark.parametrize("case", CASES)
def test_failed_remote_run_leaks_no_credentials(probe: Probe, tmp_path: Path, case: str) -> None:
    args = list(LEAK_CASES[case])
    out_dir = tmp_path / "out"
    if args[0] == "detect":
        args += ["--out", out_dir]
    probe.guard(out_dir)
    out = probe.run(args, subprocess_run=True, timeout=60)
    probe.expect_failure(out)
