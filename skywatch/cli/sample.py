"""`skywatch sample`."""

from __future__ import annotations

from pathlib import Path

import click

from skywatch.cli.options import out_option, overwrite_option
from skywatch.jobs.sample import write_sample

__all__ = ["sample"]


@click.command()
@out_option("Folder to write the sample pack into.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same files).")
@overwrite_option
def sample(out: Path, seed: int, overwrite: bool) -> None:
    """Generate the SYNTHETIC sample pack: two Sentinel-2 L2A-like dates + STAC, camera traps, truth."""
    write_sample(out, seed=seed, overwrite=overwrite)
    click.echo(f"wrote SYNTHETIC sample (seed {seed}) to {out}", err=True)
