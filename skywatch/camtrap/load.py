"""Open a Camtrap DP package as a :class:`~skywatch.camtrap.events.DetectionTable` (the jobs' one entry point)."""

from __future__ import annotations

from pathlib import Path

from skywatch.camtrap.effort import within_effort
from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.readers.camtrapdp import read_camtrap_dp_table

__all__ = ["load_table"]


def load_table(path: Path, *, skip_bad_rows: bool = False) -> DetectionTable:
    """Read a Camtrap DP package (folder or its datapackage.json); bad rows raise, or with ``skip_bad_rows``
    are left out and listed in the table's ``skipped``, as are records outside every deployment of their station.

    Raises:
        CamtrapError: what the reader finds wrong, naming file, row and column.
    """
    table = read_camtrap_dp_table(path, on_error="skip" if skip_bad_rows else "raise")
    return within_effort(table, on_error="skip") if skip_bad_rows else table
