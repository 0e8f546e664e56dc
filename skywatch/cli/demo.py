"""`skywatch demo`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from skywatch.cli.options import json_option, out_option, overwrite_option
from skywatch.jobs.demo import DemoConfig, load_demo_job, run_demo

__all__ = ["demo"]


@click.command()
@out_option("Folder for the results (alerts.geojson, skywatch.gpkg, COGs, the sample used).")
@click.option(
    "--sample",
    "sample_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Use this sample pack instead of generating one.",
)
@click.option(
    "--job",
    "job",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Demo job file (see cli/jobs/demo.yaml).",
)
@overwrite_option
@json_option
def demo(out: Path, sample_dir: Path | None, job: Path | None, overwrite: bool, as_json: bool) -> None:
    """Run the whole chain on the SYNTHETIC sample and write alerts, layers and COGs."""
    config = load_demo_job(job) if job else DemoConfig()
    result = run_demo(out, sample=sample_dir, config=config, overwrite=overwrite)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "out": str(result.out),
                    "seconds": round(result.seconds, 2),
                    "counts": result.counts,
                    "files": [str(f) for f in result.files],
                }
            )
        )
        return
    table = Table(title=f"skywatch demo (SYNTHETIC sample) - {result.seconds:.1f} s")
    for col in ("type", "detected", "area ha", "length km", "confidence", "severity"):
        table.add_column(col)
    for inc in sorted(result.incidents, key=lambda i: (i.type, -i.area_ha)):
        table.add_row(
            inc.type,
            inc.detected.isoformat(),
            f"{inc.area_ha:.2f}",
            f"{inc.length_km:.2f}" if inc.length_km is not None else "",
            inc.confidence,
            inc.severity or "",
        )
    console = Console()
    console.print(table)
    console.print(f"camera stations: {result.counts['stations']}; outputs in {result.out}:")
    for f in result.files:
        console.print(f"  {f.relative_to(result.out)}")
