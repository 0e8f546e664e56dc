"""`skywatch` entry point. Exit codes: 0 success, 1 a skywatch error (one line on stderr), 2 usage error."""

from __future__ import annotations

import errno
import os
import sys
import warnings
from typing import Any

import click

from skywatch import __version__
from skywatch.cli.alerts import alerts
from skywatch.cli.aoi import aoi
from skywatch.cli.camtrap import camtrap
from skywatch.cli.demo import demo
from skywatch.cli.detect import detect
from skywatch.cli.imagery import cube, search
from skywatch.cli.models import evaluate_cmd, models, train
from skywatch.cli.presence import presence
from skywatch.cli.run import run
from skywatch.cli.sample import sample
from skywatch.errors import SkywatchError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Turns skywatch errors into one line on stderr and exit code 1, never a traceback."""

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


cli.add_command(aoi)
cli.add_command(sample)
cli.add_command(demo)
cli.add_command(search)
cli.add_command(cube)
cli.add_command(models)
cli.add_command(detect)
cli.add_command(train)
cli.add_command(evaluate_cmd)
cli.add_command(camtrap)
cli.add_command(presence)
cli.add_command(alerts)
cli.add_command(run)


def main() -> None:
    """Console-script entry point."""
    # Third-party notices that say nothing to a user of skywatch (odc-loader's internal VRT reads).
    from rasterio.errors import NotGeoreferencedWarning

    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    sys.exit(cli.main(prog_name="skywatch", standalone_mode=True))
