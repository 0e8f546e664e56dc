"""`skywatch search` and `skywatch cube`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from skywatch.aoi import load_aoi
from skywatch.cli.options import json_option, overwrite_option
from skywatch.cli.progress import dask_progress
from skywatch.jobs.cube import build_cube, default_bands, scene_rows, write_cube
from skywatch.sources.providers import COLLECTIONS
from skywatch.sources.registry import PROVIDER_NAMES, open_source

__all__ = ["cube", "search"]

_PROVIDER_HELP = (
    "Where imagery comes from. earth-search: no account. planetary-computer: pip install "
    "'skywatch[planetary-computer]'. cdse: CDSE_S3_ACCESS_KEY/CDSE_S3_SECRET_KEY to read pixels. sentinelhub: "
    "SH_CLIENT_ID/SH_CLIENT_SECRET. earthengine: EE_PROJECT and EE_SERVICE_ACCOUNT/EE_PRIVATE_KEY_FILE or "
    "`earthengine authenticate`. local: --path."
)


def _imagery_options(f):  # type: ignore[no-untyped-def]
    for option in reversed(
        [
            click.option("--aoi", "aoi_name", required=True, help="Built-in AOI name or a vector file."),
            click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day (YYYY-MM-DD)."),
            click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (YYYY-MM-DD)."),
            click.option(
                "--provider",
                type=click.Choice(PROVIDER_NAMES),
                default="earth-search",
                show_default=True,
                help=_PROVIDER_HELP,
            ),
            click.option("--collection", type=click.Choice(COLLECTIONS), default="sentinel-2-l2a", show_default=True),
            click.option("--max-cloud", type=click.FloatRange(0, 100), help="Largest scene cloud cover, %."),
            click.option("--stac-url", help="Another endpoint with the same STAC API (mirror, stac-fastapi)."),
            click.option(
                "--path",
                type=click.Path(path_type=Path, exists=True),
                help="For --provider local: a STAC catalog or a folder of GeoTIFFs.",
            ),
        ]
    ):
        f = option(f)
    return f


def _dates(start: object, end: object) -> tuple[date, date]:
    s, e = start.date(), end.date()  # type: ignore[attr-defined]
    if e < s:
        raise click.BadParameter(f"--end {e} is before --start {s}", param_hint="--end")
    return s, e


@click.command()
@_imagery_options
@json_option
def search(
    aoi_name: str,
    start: object,
    end: object,
    provider: str,
    collection: str,
    max_cloud: float | None,
    stac_url: str | None,
    path: Path | None,
    as_json: bool,
) -> None:
    """List scenes over an AOI: id, date, cloud cover, MGRS tile, estimated bytes for the AOI."""
    s, e = _dates(start, end)
    aoi = load_aoi(aoi_name)
    source = open_source(provider, env=os.environ, stac_url=stac_url, path=path, for_pixels=False)
    items = source.search(bbox=aoi.bbox, start=s, end=e, collection=collection, max_cloud=max_cloud)
    rows = scene_rows(items, aoi, default_bands(collection))
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows]))
        return
    table = Table("id", "datetime", "cloud %", "MGRS", "est. MB", title=f"{len(rows)} scene(s) from {provider}")
    for r in rows:
        cc = "" if r.cloud_cover is None else f"{r.cloud_cover:.1f}"
        table.add_row(r.id, r.datetime[:19], cc, r.mgrs_tile, f"{r.est_bytes / 1e6:.1f}")
    Console().print(table)


@click.command()
@_imagery_options
@click.option("--bands", help="Comma-separated bands (default: all 10/20 m bands + scl, or vv,vh).")
@click.option("--resolution", type=click.FloatRange(min=1), default=10.0, show_default=True, help="Metres.")
@click.option(
    "--composite",
    type=click.Choice(["none", "median", "best"]),
    default="none",
    show_default=True,
    help="Keep every date, or reduce them to a median or least-cloudy (best-pixel) composite.",
)
@click.option(
    "--mask-classes",
    default="0,1,3,8,9,10,11",
    show_default=True,
    help="SCL classes masked out (nodata, defective, shadow, clouds, cirrus, snow).",
)
@click.option(
    "--cloud-mask",
    type=click.Choice(["scl", "s2cloudless"]),
    default="scl",
    show_default=True,
    help="SCL classes (L2A), or s2cloudless probabilities for L1C stacks with B10 "
    "(pip install 'skywatch[s2cloudless]').",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="cube.zarr for a Zarr store, or a folder for one COG per band and date.",
)
@overwrite_option
def cube(
    aoi_name: str,
    start: object,
    end: object,
    provider: str,
    collection: str,
    max_cloud: float | None,
    stac_url: str | None,
    path: Path | None,
    bands: str | None,
    resolution: float,
    composite: str,
    mask_classes: str,
    cloud_mask: str,
    out: Path,
    overwrite: bool,
) -> None:
    """Build the masked cube over an AOI on its UTM grid and write it (Zarr or COGs)."""
    s, e = _dates(start, end)
    try:
        invalid = [int(c) for c in mask_classes.split(",") if c.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{mask_classes!r} is not a list of SCL class numbers", param_hint="--mask-classes"
        ) from None
    band_list = [b.strip() for b in bands.split(",")] if bands else None
    aoi = load_aoi(aoi_name)
    source = open_source(provider, env=os.environ, stac_url=stac_url, path=path)
    data, items = build_cube(
        source,
        aoi=aoi,
        start=s,
        end=e,
        collection=collection,
        bands=band_list,
        resolution=resolution,
        max_cloud=max_cloud,
        invalid_scl=invalid,
        composite=composite,
        cloud_mask=cloud_mask,
    )
    with dask_progress(f"cube: {len(items)} scene(s)"):
        files = write_cube(data, out, overwrite=overwrite)
    click.echo(f"wrote {out} ({len(files)} file(s)) from {len(items)} scene(s)", err=True)
