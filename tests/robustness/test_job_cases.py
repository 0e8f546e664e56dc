"""Bad job files: DataError naming key and line, YAML tags never executed, one-line errors from `skywatch run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywatch.errors import DataError
from skywatch.jobs.config import load_job
from tests.robustness.conftest import Probe

GOOD = """name: robust
aoi: land-of-the-leopard
windows:
  before: 2025-09-01/2025-09-10
  after: 2025-10-15/2025-10-25
"""

JOB_CASES: dict[str, tuple[str | bytes, str]] = {
    "unknown top-level key": (GOOD + "outptus:\n  dir: x\n", r"line 6: outptus: unknown key"),
    "unknown nested key": (GOOD + "compute:\n  wokers: 2\n", r"line 7: compute.wokers: unknown key"),
    "workers is text": (GOOD + "compute:\n  workers: many\n", r"compute.workers"),
    "tile_px too large": (GOOD + "compute:\n  tile_px: 100000\n", r"compute.tile_px"),
    "tasks is a string": (GOOD + "detect:\n  tasks: fire\n", r"detect.tasks"),
    "duplicate task": (GOOD + "detect:\n  tasks: [fire, fire]\n", r"each once"),
    "unknown provider": (GOOD + "provider:\n  name: dropbox\n", r"provider.name"),
    "local provider without path": (GOOD + "provider:\n  name: local\n", r"needs a path"),
    "max_cloud 150": (GOOD + "provider:\n  max_cloud: 150\n", r"provider.max_cloud"),
    "reversed window": (GOOD.replace("2025-09-01/2025-09-10", "2025-09-10/2025-09-01"), r"ends .* before it starts"),
    "no aoi": (GOOD.replace("aoi: land-of-the-leopard\n", ""), r"aoi: Field required"),
    "threat weight 2": (GOOD + "fusion:\n  threats:\n    fire: {weight: 2, scale_m: 100}\n", r"weight"),
    "a list, not a mapping": ("- aoi: x\n", r"must be a mapping"),
    "empty file": ("", r"must be a mapping"),
    "tab-indented YAML": (GOOD + "compute:\n\tworkers: 2\n", r"not valid YAML"),
    "python/object/apply tag": (GOOD + 'x: !!python/object/apply:os.system ["touch PWNED"]\n', r"not valid YAML"),
    "python/name tag": (GOOD + "x: !!python/name:os.system\n", r"not valid YAML"),
    "custom local tag": (GOOD + "x: !include secrets.yaml\n", r"not valid YAML"),
    "billion laughs": ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n", r"unknown key"),
}  # fmt: skip
JOB_BUGS = {
    "latin-1 bytes": (GOOD.encode() + b"# caf\xe9\n", r"UTF-8|utf-8|encoding"),
}


@pytest.mark.parametrize(
    "case",
    [*JOB_CASES, *JOB_BUGS],
)
def test_bad_job_file_raises_dataerror(tmp_path: Path, case: str) -> None:
    text, words = {**JOB_CASES, **JOB_BUGS}[case]
    path = tmp_path / "job.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataError, match=words):
        load_job(path)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "case",
    ["python/object/apply tag", "unknown nested key", "latin-1 bytes"],
)  # fmt: skip
def test_bad_job_file_cli_one_line(probe: Probe, tmp_path: Path, case: str) -> None:
    text, _ = {**JOB_CASES, **JOB_BUGS}[case]
    path = tmp_path / "job.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = probe.run(["run", path, "--out", out_dir], subprocess_run=True, timeout=60)
    probe.expect_failure(out)
    assert not (tmp_path / "PWNED").exists(), "a YAML tag executed a shell command"


def test_demo_job_with_a_python_tag_does_not_execute(probe: Probe, tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text('demo: !!python/object/apply:os.system ["touch PWNED"]\n')
    out = probe.run(["run", path, "--out", tmp_path / "out"])
    assert out.code != 0 and "Traceback" not in out.stderr and not (tmp_path / "PWNED").exists()


def test_dry_run_with_a_missing_aoi_file(probe: Probe, tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(GOOD.replace("land-of-the-leopard", "nowhere/aoi.geojson"))
    out = probe.run(["run", path, "--dry-run"])
    assert "neither a file nor a built-in" in probe.expect_failure(out)
