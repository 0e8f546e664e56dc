"""Shared fixtures. The network is blocked for every test (pytest-socket, see pyproject addopts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywatch.jobs.demo import DemoResult, run_demo

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (real reference data); evaluation tests skip with a message when it is absent."""
    if not (SHARED / "data" / "real").is_dir():
        pytest.skip("../shared/data/real is absent: evaluation test needs the real reference data")
    return SHARED


@pytest.fixture(scope="session")
def demo_result(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """One run of the demo chain (it also generates the sample into out/sample)."""
    return run_demo(tmp_path_factory.mktemp("demo") / "out")


@pytest.fixture(scope="session")
def sample_dir(demo_result: DemoResult) -> Path:
    """The sample pack the demo generated (seed 42)."""
    return demo_result.out / "sample"
