"""`skywatch` entry point. Exit codes: 0 success, 1 a skywatch error (one line on stderr), 2 usage error."""

from __future__ import annotations

import errno
import importlib
import os
import sys
import warnings
from typing import Any

import click

from skywatch import __version__
from skywatch.errors import SkywatchError

__all__ = ["cli", "main"]


# Each command's module loads only when that command runs (or for --help). `skywatch run` needs none of the others,
# and the worker processes of the LocalCluster it starts re-import the console script, so whatever this module
# imports, every worker imports too: importing all commands here took 1.3 s and 227 MiB (ru_maxrss, pyogrio's own
# GDAL among them) in the CLI and again in each worker.
_COMMANDS = {
    "aoi": ("skywatch.cli.aoi", "aoi"),
    "sample": ("skywatch.cli.sample", "sample"),
    "demo": ("skywatch.cli.demo", "demo"),
    "search": ("skywatch.cli.imagery", "search"),
    "cube": ("skywatch.cli.imagery", "cube"),
    "models": ("skywatch.cli.models", "models"),
    "detect": ("skywatch.cli.detect", "detect"),
    "train": ("skywatch.cli.models", "train"),
    "eval": ("skywatch.cli.models", "evaluate_cmd"),
    "camtrap": ("skywatch.cli.camtrap", "camtrap"),
    "presence": ("skywatch.cli.presence", "presence"),
    "alerts": ("skywatch.cli.alerts", "alerts"),
    "run": ("skywatch.cli.run", "run"),
}


class _Group(click.Group):
    """Turns skywatch errors into one line on stderr and exit code 1, never a traceback; loads each command's module
    only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:  # click suggests from self.commands, empty here
            raise click.exceptions.NoSuchCommand(exc.command_name, possibilities=_COMMANDS, ctx=ctx) from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkywatchError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except OSError as exc:
            if exc.errno not in _WRITE_ERRNOS:
                raise
            # Output streams that cannot take more (stdout on a full disk, a closed pipe): never a bug of
            # skywatch's, so one line, and stdout pointed at /dev/null so the interpreter's last flush is quiet.
            _silence_stdout()
            if exc.errno != errno.EPIPE:  # `skywatch ... | head` closing early is not an error worth a line
                click.echo(f"error: could not write the output: {exc.strerror or exc}", err=True)
            ctx.exit(1)


_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EPIPE, errno.EIO})


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured in tests)
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skywatch")
def cli() -> None:
    """skywatch: watch the Amur leopard and tiger forest from space.

    Sentinel imagery and camera-trap records in; fire, logging and road alerts, presence and habitat-risk
    layers out.
    """


# GDAL's block cache defaults to 5 % of the machine's RAM per process, and writing a large job's COGs fills it: on
# the 64x benchmark pack (6,400 km2) the `skywatch run` process peaked at 2177 MiB with that default and at
# 1361 MiB with 256 MB, in about the same time (114.6 vs 110.2 s, one run each). Set as a GDAL configuration option
# of this process only, so neither a user's own GDAL_CACHEMAX nor the workers' settings are overridden.
# rasterio hands this option to GDALSetCacheMax64, which takes bytes (256 alone would be a 256-byte cache).
GDAL_CACHEMAX_BYTES = 256 * 2**20


def main() -> None:
    """Console-script entry point."""
    if "GDAL_CACHEMAX" not in os.environ:
        from rasterio.env import set_gdal_config

        set_gdal_config("GDAL_CACHEMAX", GDAL_CACHEMAX_BYTES)
    # Third-party notices that say nothing to a user of skywatch (odc-loader's internal VRT reads).
    from rasterio.errors import NotGeoreferencedWarning

    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    sys.exit(cli.main(prog_name="skywatch", standalone_mode=True))
