"""`skywatch camtrap import` and `skywatch camtrap validate`: records in, a valid Camtrap DP package out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from skywatch.cli.options import json_option, out_option, overwrite_option
from skywatch.errors import CamtrapError

if TYPE_CHECKING:
    from skywatch.camtrap.readers import Format

__all__ = ["import_command", "validate_command"]

_FORMATS = ("auto", "camtrap-dp", "megadetector", "reid-csv", "coco")
_SHOWN_SKIPS = 3


def _timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from skywatch.camtrap.readers import parse_timezone

    if value is not None:
        try:
            parse_timezone(value)
        except CamtrapError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@click.command("import")
@click.argument("src", type=click.Path(path_type=Path, exists=True))
@out_option("Camtrap DP package folder to write.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help="Input format; auto: a folder or datapackage.json is Camtrap DP, .csv re-ID CSV, .json MegaDetector or COCO.",
)
@click.option(
    "--stations",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Station table CSV (station, longitude/latitude or utm_x/utm_y, start, end, problemN_from/to); "
    "needed by all formats but Camtrap DP.",
)
@click.option(
    "--epsg", type=click.IntRange(1024, 999999), help="EPSG code of projected station coordinates (utm_x/utm_y)."
)
@click.option(
    "--timezone",
    callback=_timezone,
    help="Time zone of naive times: an offset like +10:00 or an IANA name like Asia/Vladivostok.",
)
@click.option(
    "--min-conf",
    type=click.FloatRange(0, 1),
    default=0.2,
    show_default=True,
    help="MegaDetector: smallest detection confidence kept (MDv5's typical threshold).",
)
@click.option(
    "--station-pattern",
    help="MegaDetector: regex with a named group 'station' matched in image paths (default: the first folder).",
)
@click.option("--title", help="Package title (default: 'Camera-trap records from SRC').")
@click.option("--skip-bad-rows", is_flag=True, help="Leave bad rows out (listed on stderr) instead of stopping.")
@overwrite_option
def import_command(
    src: Path,
    out: Path,
    fmt: str,
    stations: Path | None,
    epsg: int | None,
    timezone: str | None,
    min_conf: float,
    station_pattern: str | None,
    title: str | None,
    skip_bad_rows: bool,
    overwrite: bool,
) -> None:
    """Read camera-trap records from SRC and write them as a Camtrap DP 1.0.2 package into --out."""
    from skywatch.camtrap.export import write_camtrap_dp
    from skywatch.camtrap.readers import detect_format, read_detections

    kind: Format = detect_format(src) if fmt == "auto" else cast("Format", fmt)
    if kind != "camtrap-dp" and stations is None:
        raise click.UsageError(f"{kind} input needs --stations (a station table CSV)")
    table = read_detections(
        src,
        format=kind,
        stations=stations,
        epsg=epsg,
        timezone=timezone,
        min_conf=min_conf,
        station_pattern=station_pattern,
        on_error="skip" if skip_bad_rows else "raise",
    )
    write_camtrap_dp(table, out, title=title or f"Camera-trap records from {src.name}", overwrite=overwrite)
    meta = table.metadata
    extra = ""
    if kind == "megadetector":
        extra = (
            f"; {meta.get('images_blank', 0)} image(s) without detections >= {min_conf:g}, "
            f"{meta.get('detections_below_threshold', 0)} detection(s) below it"
        )
    elif meta.get("media_observations_folded"):
        extra = f"; {meta['media_observations_folded']} media-level observation(s) folded into their events"
    skipped = table.skipped
    skips = ""
    if skipped:
        shown = "; ".join(str(s) for s in skipped[:_SHOWN_SKIPS])
        more = f"; ... {len(skipped) - _SHOWN_SKIPS} more" if len(skipped) > _SHOWN_SKIPS else ""
        skips = f"; skipped {len(skipped)} row(s): {shown}{more}"
    click.echo(
        f"{kind}: {len(table.events)} event(s) at {len(table.stations)} station(s), "
        f"{len(table.deployments)} deployment(s) -> {out}{extra}{skips}",
        err=True,
    )


@click.command("validate")
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@json_option
@click.pass_context
def validate_command(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Check the Camtrap DP package at PATH offline; print problems as file:row:column: message; exit 1 if any."""
    from skywatch.camtrap.validate import validate_package

    problems = validate_package(path)
    if as_json:
        click.echo(json.dumps({"valid": not problems, "problems": [p.as_dict() for p in problems]}, indent=1))
    else:
        for p in problems:
            click.echo(str(p))
    click.echo(f"{path}: " + (f"{len(problems)} problem(s)" if problems else "valid Camtrap DP 1.0.2"), err=True)
    if problems:
        ctx.exit(1)
