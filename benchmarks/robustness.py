"""Run the bad-input corpus (tests/robustness) and print its figures.

Ends with exactly one line: ``robustness: T tried, P passed, C corrupted, H hangs, L leaks`` where T counts the
cases run, P those that passed (a strict xfail is a known bug, not a pass), C those that left an output looking
complete, H those that ran past their timeout and L those where a fake credential reached stdout/stderr or a file.
Usage: ``.venv/bin/python benchmarks/robustness.py [extra pytest args]`` (also ``make robustness``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {**os.environ, "SKYWATCH_ROBUSTNESS_REPORT": str(report)}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/robustness",
                               *argv], cwd=REPO, env=env)  # fmt: skip
        seconds = time.perf_counter() - start
        if not report.exists():
            print(f"pytest wrote no report (exit {proc.returncode})", file=sys.stderr)
            return proc.returncode or 1
        cases = json.loads(report.read_text())
    known = [c["id"] for c in cases if c["outcome"] == "xfailed"]
    failed = [c["id"] for c in cases if c["outcome"] not in ("passed", "xfailed")]
    verdicts = {k: [c["id"] for c in cases if c[k]] for k in ("corrupted", "hang", "leak")}
    for title, ids in (("known bugs (strict xfail)", known), ("failed", failed), *verdicts.items()):
        if ids:
            print(f"{title}:", *(f"  {i}" for i in ids), sep="\n", file=sys.stderr)
    print(f"{len(cases)} cases in {seconds:.1f} s", file=sys.stderr)
    tried = len(cases)
    passed = sum(c["outcome"] == "passed" for c in cases)
    corrupted, hangs, leaks = (sum(bool(c[k]) for c in cases) for k in ("corrupted", "hang", "leak"))
    print(f"robustness: {tried} tried, {passed} passed, {corrupted} corrupted, {hangs} hangs, {leaks} leaks")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
