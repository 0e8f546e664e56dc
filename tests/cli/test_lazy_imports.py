"""What a Dask worker imports: LocalCluster workers re-import the console script (skywatch.cli.main) and unpickle
the tile task from skywatch.jobs.tiles; neither may pull in the output/QGIS stack or the centre-line libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from skywatch.cli.main import cli

HEAVY = ("skywatch.jobs.runner", "pyogrio", "networkx", "skimage", "torchgeo", "torch")


@pytest.mark.parametrize("module", ["skywatch.cli.main", "skywatch.jobs.tiles"])
def test_import_stays_light(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_unknown_command_still_gets_a_suggestion() -> None:
    result = CliRunner().invoke(cli, ["detcet"])
    assert result.exit_code == 2
    assert "Did you mean 'detect'?" in result.output
