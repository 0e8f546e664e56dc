"""notebooks/walkthrough.ipynb runs top to bottom on the SYNTHETIC sample (nbclient, a kernel of this interpreter)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs the dev extras (nbformat, nbclient)")
nbclient = pytest.importorskip("nbclient", reason="the notebook test needs the dev extras (nbformat, nbclient)")
kernelspec = pytest.importorskip("ipykernel.kernelspec", reason="the notebook test needs the dev extras (ipykernel)")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (after the skips above)
from jupyter_client.manager import AsyncKernelManager  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"
KERNEL = "skywatch-test-python3"
SPECIES = ("Panthera pardus orientalis", "Panthera tigris altaica")
SECR_LINE = re.compile(
    r"SECR (?P<species>[A-Za-z ]+): D (?P<d>[\d.]+) per 100 km2, 95 % CI (?P<lcl>[\d.]+)-(?P<ucl>[\d.]+), "
    r"truth (?P<truth>[\d.]+): (?P<verdict>covered|NOT covered)"
)


def _text(nb: Any) -> str:
    """Everything the executed cells printed or displayed as text."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                parts.append(output["text"])
            elif output["output_type"] in {"execute_result", "display_data"}:
                parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_committed_notebook_is_clean_and_says_synthetic() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and "SYNTHETIC" in nb.cells[0].source.splitlines()[0]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), "clear the outputs"


def test_walkthrough_runs_on_the_sample(tmp_path: Path) -> None:
    # A kernel spec of this very interpreter, so the notebook sees the skywatch under test whatever kernels the
    # machine has; the kernel and its temporary files live in tmp_path. The client talks ZMQ over 127.0.0.1.
    kernelspec.install(kernel_name=KERNEL, prefix=str(tmp_path / "jupyter"))
    kernels = tmp_path / "jupyter" / "share" / "jupyter" / "kernels"
    assert json.loads((kernels / KERNEL / "kernel.json").read_text())["argv"][0] == sys.executable
    km = AsyncKernelManager(
        kernel_name=KERNEL,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
        connection_file=str(tmp_path / "kernel-connection.json"),
    )
    (tmp_path / "tmp").mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),  # tempfile.mkdtemp in the notebook
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, km=km, timeout=300, resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # raises CellExecutionError, naming the cell, if any cell fails

    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, errors
    text = _text(nb)
    assert "SYNTHETIC" in text
    assert re.search(r"fire_active\s+new\s+high", text), text  # the alerts table
    assert "0 new, 0 ongoing, 0 resolved" in text  # re-adding the run to the store adds nothing
    found = {m["species"]: m for m in SECR_LINE.finditer(text)}
    assert set(found) == set(SPECIES), text
    for m in found.values():
        assert float(m["lcl"]) <= float(m["truth"]) <= float(m["ucl"]) and m["verdict"] == "covered", m.group(0)
    assert "skywatch.qgz" in text
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text
    else:
        assert len(pngs) == 1
    # the notebook removed its working folder and wrote nothing else
    assert list((tmp_path / "tmp").iterdir()) == []
