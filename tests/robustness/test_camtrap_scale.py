"""10^6-row camera-trap inputs: the readers stream, so they finish with bounded memory and still name the bad row.

Inputs are SYNTHETIC, made by ``benchmarks/camtrap_scale.py`` (the same generators its figures use). Every size
runs in its own process, whose peak RSS comes from ``os.wait4``; the bound is relative to the same reader on 10^5
rows measured in the same session, so it holds on any machine: ten times the rows may take at most
:data:`GROWTH` times the memory. The streaming readers take 2.7x (re-ID CSV), 3.2x (Camtrap DP) and 2.8x
(MegaDetector output); reading the whole file, as they did before, took 5.8x, 7.6x and 6.8x
(``benchmarks/camtrap_scale.py``: 314, 412 and 313 MiB against 1125, 2628 and 1746 MiB at 10^6 rows).
The whole file takes about 65 s on 2 cores (13 s to write the 10^6-row inputs once, 9-14 s per 10^6-row case), so
no case is marked ``slow``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.camtrap_scale import (
    measure,
    write_camtrap_dp,
    write_inputs,
    write_megadetector,
    write_reid,
    write_stations,
)
from skywatch.camtrap.readers import read_camtrap_dp_table, read_megadetector, read_reid_csv, read_stations
from skywatch.errors import CamtrapError
from tests.robustness.conftest import Probe

SMALL, LARGE = 100_000, 1_000_000
BAD = LARGE - 1  # the bad row, near the end: row 999,999 of the CSVs (header = row 1), image 999,999 of the JSON
GROWTH = 4.0
TIMEOUT = 300


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("small"), SMALL)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = write_inputs(tmp_path_factory.mktemp("large"), LARGE, bad_row=BAD)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)  # about 0.5 GB: not left for pytest's last-three-runs cleanup


# case -> (events read from LARGE rows with the bad one skipped, the skipped row's text)
CASES = {
    "reid": (LARGE - 1, f"reid.csv row {BAD} column 'timestamp'"),
    "camtrap-dp": (LARGE - 1, f"observations.csv row {BAD} column 'deploymentID'"),
    "megadetector": (LARGE - 1, f"md.json row {BAD} column 'detections[0].conf'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_large_input_streams_with_bounded_memory(small: Path, large: Path, case: str) -> None:
    base = measure(case, small, timeout=TIMEOUT)
    assert base.code == 0, base.stderr[-2000:]
    assert base.n == SMALL
    run = measure(case, large, on_error="skip", timeout=TIMEOUT)
    assert run.code == 0, run.stderr[-2000:]
    events, where = CASES[case]
    assert run.n == events
    assert len(run.skipped) == 1 and where in run.skipped[0], run.skipped
    assert run.peak_mib < GROWTH * base.peak_mib, (
        f"{case}: {run.peak_mib:.0f} MiB for {LARGE} rows, {base.peak_mib:.0f} MiB for {SMALL}: "
        f"more than {GROWTH}x for 10x the rows"
    )


def test_cli_import_names_a_bad_row_near_the_end(probe: Probe, large: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "pkg"
    probe.guard(out_dir)
    out = probe.run(["camtrap", "import", large / "reid.csv", "--stations", large / "stations.csv", "--out", out_dir],
                    subprocess_run=True, timeout=TIMEOUT)  # fmt: skip
    line = probe.expect_failure(out)
    assert f"reid.csv row {BAD} column 'timestamp'" in line and "no time zone" in line, line


def test_bad_rows_near_the_end_of_smaller_files(probe: Probe, tmp_path: Path) -> None:
    """The same contract at 10^5 rows, in process: row numbers count across chunks; compact column types."""
    bad = SMALL - 1
    table = read_stations(write_stations(tmp_path / "stations.csv"))
    reid = write_reid(tmp_path / "reid.csv", SMALL, bad_row=bad)
    with pytest.raises(CamtrapError, match=f"reid.csv row {bad} column 'timestamp'"):
        read_reid_csv(reid, stations=table)
    t = read_reid_csv(reid, stations=table, on_error="skip")
    assert len(t.events) == SMALL - 1 and [s.row for s in t.skipped] == [bad]
    assert t.events["source"].iloc[-1] == f"reid.csv:{SMALL + 1}"
    assert str(t.events["timestamp"].dtype) == "datetime64[us, UTC]"
    assert t.events["station"].dtype == "category" and t.events["station"].nunique() == 50

    pkg = write_camtrap_dp(tmp_path / "pkg", SMALL, bad_row=bad)
    t = read_camtrap_dp_table(pkg, on_error="skip")
    assert len(t.events) == SMALL - 1 and [(s.row, s.column) for s in t.skipped] == [(bad, "deploymentID")]

    md = write_megadetector(tmp_path / "md.json", SMALL, bad_row=bad)
    with pytest.raises(CamtrapError, match=f"md.json row {bad} column 'detections.0..conf'"):
        read_megadetector(md, stations=table, timezone="+10:00")

    out_dir = tmp_path / "out"
    probe.guard(out_dir)
    out = probe.run(["camtrap", "import", pkg, "--out", out_dir])
    line = probe.expect_failure(out)
    assert f"observations.csv row {bad} column 'deploymentID'" in line, line
