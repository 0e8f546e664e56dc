"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["json_option", "out_option", "overwrite_option"]

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace the output if it exists.")


def out_option(help_text: str) -> click.Option:  # type: ignore[type-arg]
    """A required ``--out DIR`` option."""
    return click.option("--out", "out", required=True, type=click.Path(path_type=Path), help=help_text)  # type: ignore[return-value]
