"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["json_option", "out_option", "overwrite_option", "skip_bad_rows_option"]

FC = TypeVar("FC", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace the output if it exists.")
skip_bad_rows_option = click.option(
    "--skip-bad-rows",
    is_flag=True,
    help="Leave out bad rows and records outside camera effort instead of stopping; each is reported with its reason.",
)


def out_option(help_text: str) -> Callable[[FC], FC]:
    """A required ``--out DIR`` option."""
    return click.option("--out", "out", required=True, type=click.Path(path_type=Path), help=help_text)
