"""`skywatch camtrap ...`: camera-trap records in, statistics and SECR out.

Subcommands live in their own modules and are registered below the group.
"""

from __future__ import annotations

import click

from skywatch.cli.camtrap_io import import_command, validate_command
from skywatch.cli.camtrap_stats import summary_command
from skywatch.cli.secr import secr_command

__all__ = ["camtrap"]


@click.group()
def camtrap() -> None:
    """Camera-trap re-ID records: import, validate, effort statistics and SECR density."""


for command in (import_command, validate_command, summary_command, secr_command):
    camtrap.add_command(command)
