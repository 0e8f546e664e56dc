"""`skywatch presence`: animal-presence layers from camera-trap records."""

from __future__ import annotations

from pathlib import Path

import click

from skywatch.cli.options import overwrite_option, skip_bad_rows_option

__all__ = ["presence"]


@click.command()
@click.option("--camtrap", "package", required=True, type=click.Path(path_type=Path, exists=True),
              help="Camtrap DP package (folder or datapackage.json).")  # fmt: skip
@click.option("--aoi", "aoi_name", required=True, help="Built-in AOI name or a vector file.")
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--species", multiple=True, help="Only these species (repeatable) [default: every detected species].")
@click.option("--resolution", type=float, default=100.0, show_default=True,
              help="Pixel size of the layers, metres (a multiple of the grid's 10 m).")  # fmt: skip
@click.option("--bandwidth", type=click.FloatRange(min=0, min_open=True), default=1500.0, show_default=True,
              help="Kernel bandwidth of the detection-rate surface, metres.")  # fmt: skip
@click.option("--gap-minutes", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Independent events are at least this far apart per species per station.")  # fmt: skip
@click.option("--occasion-days", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="SECR occasion length.")  # fmt: skip
@click.option("--buffer", "buffer_m", type=click.FloatRange(min=0, min_open=True),
              help="SECR mask buffer, metres [default: 4 x RPSV].")  # fmt: skip
@click.option("--mask-to-aoi", is_flag=True,
              help="Clip the SECR mask to the AOI (only where its edge is a habitat edge animals do not cross).",
              )  # fmt: skip
@click.option("--skip-outside", is_flag=True, help="Leave out stations outside the AOI instead of failing.")
@skip_bad_rows_option
@overwrite_option
def presence(package: Path, aoi_name: str, out: Path, species: tuple[str, ...], resolution: float,
             bandwidth: float, gap_minutes: float, occasion_days: float, buffer_m: float | None,
             mask_to_aoi: bool, skip_outside: bool, skip_bad_rows: bool, overwrite: bool) -> None:  # fmt: skip
    """Detection-rate and SECR density COGs per species, and individuals' centres and ranges (GeoPackage)."""
    from skywatch.aoi import load_aoi
    from skywatch.camtrap.load import load_table
    from skywatch.jobs.presence import run_presence

    table = load_table(package, skip_bad_rows=skip_bad_rows)
    result = run_presence(table, aoi=load_aoi(aoi_name), out=out, species=list(species) or None,
                          resolution=resolution, bandwidth_m=bandwidth, gap_minutes=gap_minutes,
                          occasion_days=occasion_days, buffer_m=buffer_m, mask_to_aoi=mask_to_aoi,
                          skip_outside=skip_outside, overwrite=overwrite)  # fmt: skip
    for name, info in result.summary["species"].items():
        line = f"{name}: {info['independent_events']} independent events, RAI {info['rai_per_100_trap_days']:.2f}"
        secr = info.get("secr")
        if secr and secr["fitted"]:
            d = secr["density_per_100km2"]
            line += (f"; SECR {secr['animals']} animals, D {d['estimate']:.2f} /100 km2 "
                     f"(95% CI {d['lcl']:.2f}-{d['ucl']:.2f})")  # fmt: skip
        elif secr:
            line += f"; SECR not fitted: {secr['reason']}"
        click.echo(line, err=True)
        for note in (secr or {}).get("notes", []):
            click.echo(f"  {note}", err=True)
    for row in result.summary["skipped_rows"]:
        click.echo(f"skipped: {row}", err=True)
    click.echo(f"presence layers -> {result.out}", err=True)
