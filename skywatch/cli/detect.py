"""`skywatch detect fire|clearcut|roads`."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click

from skywatch.aoi import load_aoi
from skywatch.cli.options import overwrite_option
from skywatch.sources.registry import PROVIDER_NAMES, open_source

__all__ = ["detect"]


def _window(value: str, name: str) -> tuple[date, date]:
    try:
        start, end = (date.fromisoformat(v) for v in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not START/END (YYYY-MM-DD/YYYY-MM-DD)", param_hint=name) from None
    if end < start:
        raise click.BadParameter(f"{value!r} ends before it starts", param_hint=name)
    return start, end


@click.command()
@click.argument("task", type=click.Choice(["fire", "clearcut", "roads"]))
@click.option("--aoi", "aoi_name", required=True, help="Built-in AOI name or a vector file.")
@click.option("--before", required=True, help="Window before the change: START/END.")
@click.option("--after", required=True, help="Window after the change: START/END.")
@click.option("--provider", type=click.Choice(PROVIDER_NAMES), default="earth-search", show_default=True)
@click.option("--stac-url", help="Another endpoint with the same STAC API.")
@click.option("--path", type=click.Path(path_type=Path, exists=True), help="For --provider local.")
@click.option("--method", type=click.Choice(["model", "baseline"]), default="model", show_default=True)
@click.option(
    "--fire-index",
    type=click.Choice(["dnbr", "rdnbr"]),
    default="dnbr",
    show_default=True,
    help="Fire baseline: dNBR >= 0.10 (Key & Benson) or RdNBR >= 0.069 (Miller & Thode).",
)
@click.option("--model", "model_name", help="Another shipped model for this task (see `skywatch models list`).")
@click.option("--max-cloud", type=click.FloatRange(0, 100), help="Largest scene cloud cover, %.")
@click.option(
    "--tile-px",
    type=click.IntRange(128, 8192),
    default=1024,
    show_default=True,
    help="Grid tile edge in pixels; memory grows with its square (plus a 64 px halo).",
)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False))
@overwrite_option
def detect(
    task: str,
    aoi_name: str,
    before: str,
    after: str,
    provider: str,
    stac_url: str | None,
    path: Path | None,
    method: str,
    fire_index: str,
    model_name: str | None,
    max_cloud: float | None,
    tile_px: int,
    out: Path,
    overwrite: bool,
) -> None:
    """Detect TASK between the two windows; write <task>.tif, <task>_prob.tif and <task>.gpkg into --out."""
    from skywatch.jobs.detect import run_detect

    b, a = _window(before, "--before"), _window(after, "--after")
    source = open_source(provider, env=os.environ, stac_url=stac_url, path=path)
    result = run_detect(task, source=source, aoi=load_aoi(aoi_name), before=b, after=a, out=out, method=method,
                        model_name=model_name, max_cloud=max_cloud, fire_index=fire_index,
                        tile_px=tile_px, overwrite=overwrite,
                        progress=lambda msg: click.echo(msg, err=True))  # fmt: skip
    click.echo(f"{task}: {result.detections} detection(s) in {result.tiles} tile(s) -> {result.out}", err=True)
