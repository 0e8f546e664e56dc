"""The routes ``benchmarks/e2e_scaling.py`` measures beside ``skywatch run`` still run, on a small SYNTHETIC pack.

The naive route and the floor are scripts the benchmark starts in their own processes; nothing else imports them,
so an API change in skywatch would first show as a benchmark that fails at 16x. These tests run both on a 400 px
pack (about 10 s together) and check the report's verdict on the speed goal. They time nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from rio_cogeo.cogeo import cog_validate

from benchmarks.e2e_scaling import AFTER, BEFORE, FLOOR, FLOOR_BANDS, NAIVE, ONE_THREAD, _report_floor, _run
from skywatch.jobs.detect import BANDS
from skywatch.jobs.sample import write_sample

MODELS = {"burn-scar-fcn", "active-fire-fcn", "clearcut-fcn", "roads-fcn"}


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("e2e") / "pack", size_px=400)


def _script(code: str, spec: dict[str, Any], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    run = _run([sys.executable, "-c", code, json.dumps(spec)], log, env=env)
    assert run["rc"] == 0, run["stderr"][-2000:]
    result: dict[str, Any] = json.loads(run["stdout"].strip().splitlines()[-1])
    return result


def test_the_naive_route_loads_the_pack_and_runs_every_model(pack: Path, tmp_path: Path) -> None:
    spec = {"pack": str(pack), "method": "model", "before": BEFORE, "after": AFTER}
    result = _script(NAIVE, spec, tmp_path / "naive")
    assert result["shape"] == [400, 400]
    assert set(result["detected_px"]) == MODELS
    assert result["timings"]["load"] > 0 and result["timings"]["detect"] > 0


def test_the_floor_measures_the_read_and_the_models_on_one_thread(pack: Path, tmp_path: Path) -> None:
    assert list(BANDS) == FLOOR_BANDS  # the floor reads what skywatch's tiles read, no more
    spec = {"pack": str(pack), "before": BEFORE, "after": AFTER, "bands": FLOOR_BANDS, "out": str(tmp_path / "out")}
    result = _script(FLOOR, spec, tmp_path / "floor", env=ONE_THREAD)
    assert set(result) == {"imports_s", "read_cpu_s", "models_cpu_s", "write_cpu_s", "torch_threads"}
    assert result["torch_threads"] == 1  # its CPU seconds are one thread's work
    assert all(v > 0 for v in result.values())
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(f"{t}{s}.tif" for t in ("fire", "clearcut", "roads") for s in ("", "_prob"))
    for name in written:  # the rasters the job delivers, as real COGs
        assert cog_validate(str(tmp_path / "out" / name), strict=True)[0], name


def _row(wall: float, n_wall: float | None) -> dict[str, Any]:
    floor = {"imports_s": 2.0, "read_cpu_s": 6.0, "models_cpu_s": 8.0, "write_cpu_s": 2.0}
    return {"size": 4000, "wall": wall, "n_wall": n_wall, "floor": floor}


def test_the_report_says_whether_3x_is_above_the_floor(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # floor = 2 + (6 + 8 + 2) / 2 = 10 s, 9 s without the COGs
    _report_floor([_row(25.0, 27.0), _row(25.0, 33.0), _row(25.0, 30.0), _row(25.0, None)])
    lines = capsys.readouterr().out.splitlines()
    assert "= 10.0 s (9.0 s without the COGs); skywatch 25.0 s is 2.50x the floor" in lines[1]
    assert lines[1].endswith("3x the naive route needs 9.0 s, 10 % below the floor: out of reach here")
    assert lines[2].endswith("3x the naive route needs 11.0 s, 10 % above the floor")
    assert lines[3].endswith("3x the naive route needs 10.0 s, at the floor")
    assert "naive" not in lines[4]
