"""`skywatch camtrap secr`: spatial capture-recapture density from a Camtrap DP package or secr text files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from skywatch.cli.options import json_option, skip_bad_rows_option

__all__ = ["secr_command"]


@click.command("secr")
@click.argument("package", required=False, type=click.Path(path_type=Path, exists=True))
@click.option("--species", help="Scientific name (Camtrap DP), e.g. 'Panthera pardus orientalis'.")
@click.option("--captures", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="secr capture file: Session ID Occasion X Y (or ... DetectorID).")  # fmt: skip
@click.option("--traps", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="secr trap file: ID X Y.")
@click.option("--detector", type=click.Choice(["multi", "proximity"]), default=None,
              help="Detector type [default: proximity for camera traps, multi for secr files].")  # fmt: skip
@click.option("--detectfn", type=click.Choice(["HN", "HR"]), default="HN", show_default=True,
              help="Half-normal or hazard-rate detection function.")  # fmt: skip
@click.option("--buffer", "buffer_m", type=click.FloatRange(min=0, min_open=True),
              help="Mask buffer around the detectors, metres [default: 4 x RPSV, rounded up to 100 m].")  # fmt: skip
@click.option(
    "--spacing", type=click.FloatRange(min=0, min_open=True), help="Mask cell size, metres [default: 64 cells across]."
)
@click.option("--occasion-days", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Occasion length for camera-trap records.")  # fmt: skip
@click.option("--occasions", type=click.IntRange(min=1),
              help="Occasions in secr files [default: usage length, else the last captured occasion].")  # fmt: skip
@click.option("--start", help="First occasion's start, ISO 8601 with zone [default: first deployment, UTC midnight].")
@click.option("--epsg", type=int, help="Projected CRS for the stations [default: their UTM zone].")
@click.option("--aoi", "aoi_name", help="Clip the mask to this AOI (built-in name or vector file).")
@click.option("--habitat", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Raster: the mask keeps points where it is > 0 (e.g. a forest mask).")  # fmt: skip
@skip_bad_rows_option
@json_option
def secr_command(package: Path | None, species: str | None, captures: Path | None, traps: Path | None,
                 detector: str | None, detectfn: str, buffer_m: float | None, spacing: float | None,
                 occasion_days: float, occasions: int | None, start: str | None, epsg: int | None,
                 aoi_name: str | None, habitat: Path | None, skip_bad_rows: bool, as_json: bool) -> None:  # fmt: skip
    """Fit maximum-likelihood SECR: density (animals/ha and /100 km2), g0 and sigma with SE and 95 % CI.

    Either PACKAGE (a Camtrap DP folder) with --species, or --captures and --traps (secr's text formats).
    """
    from skywatch.aoi import load_aoi, utm_epsg
    from skywatch.camtrap.load import load_table
    from skywatch.camtrap.secr.run import run_secr

    if (package is None) == (captures is None):
        raise click.UsageError("give either PACKAGE or --captures with --traps")
    if captures is not None and traps is None:
        raise click.UsageError("--captures needs --traps")
    if package is not None and not species:
        raise click.UsageError("--species is required with a Camtrap DP package")
    table = load_table(package, skip_bad_rows=skip_bad_rows) if package is not None else None
    for row in table.skipped if table is not None else []:
        click.echo(f"skipped: {row}", err=True)
    if table is not None and epsg is None:
        epsg = utm_epsg(float(table.stations["longitude"].mean()), float(table.stations["latitude"].mean()))
    aoi_geom = load_aoi(aoi_name).to_crs(epsg) if aoi_name and epsg else None
    if aoi_name and not epsg:
        raise click.UsageError("--aoi with secr text files needs --epsg (the CRS of their coordinates)")
    run = run_secr(table=table, species=species, epsg=epsg, capture_file=captures, trap_file=traps,
                   detector=detector or ("proximity" if table is not None else "multi"), detectfn=detectfn,
                   buffer=buffer_m, spacing=spacing, occasion_days=occasion_days, start=start, aoi=aoi_geom,
                   habitat=habitat, occasions=occasions)  # fmt: skip
    fit = run.fit
    for note in run.notes:
        click.echo(note, err=True)
    summary = run.capthist.summary()
    if as_json:
        skipped = [str(r) for r in table.skipped] if table is not None else []
        doc = {"species": species, "epsg": epsg, **summary, "merged_detections": run.capthist.merged,
               **fit.as_dict(), "notes": run.notes, "skipped_rows": skipped}  # fmt: skip
        click.echo(json.dumps(doc, indent=1))
        return
    d, d100 = fit.density, fit.density_per_100km2()
    click.echo(f"SECR ({fit.detectfn}, {fit.detector} detectors){' - ' + species if species else ''}")
    click.echo(f"  {summary['animals']} animals, {summary['detections']} detections at {summary['detectors_used']}"
               f" of {summary['detectors']} detectors, {summary['occasions']} occasions"
               + (f" ({run.capthist.merged} repeat detections merged)" if run.capthist.merged else ""))  # fmt: skip
    click.echo(f"  mask: {fit.mask_points} points, buffer {fit.buffer:g} m, {fit.mask_area_ha:.1f} ha")
    click.echo(f"  {'parameter':<10} {'estimate':>12} {'SE':>11} {'95% CI':>26}")
    rows = [("D /ha", d), ("D /100km2", d100), ("g0", fit.g0), ("sigma m", fit.sigma)]
    if fit.z is not None:
        rows.append(("z", fit.z))
    for name, e in rows:
        click.echo(f"  {name:<10} {e.estimate:>12.6g} {e.se:>11.4g} {e.lcl:>12.6g} - {e.ucl:<12.6g}")
    click.echo(f"  log-likelihood {fit.log_likelihood:.5f}, AIC {fit.aic:.4f}, AICc {fit.aicc:.4f}"
               + ("" if fit.converged else "  WARNING: not converged, SEs unreliable"))  # fmt: skip
