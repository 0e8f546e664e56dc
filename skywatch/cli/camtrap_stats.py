"""`skywatch camtrap summary PKG --species NAME`: effort, events, RAI, naive occupancy and individuals."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from skywatch.camtrap.effort import (
    TOTAL,
    CompareTo,
    capture_counts,
    capture_histories,
    naive_occupancy,
    occasions,
    relative_abundance,
    trap_days,
    within_effort,
)
from skywatch.camtrap.events import DetectionTable
from skywatch.camtrap.readers import OnError, read_camtrap_dp_table
from skywatch.cli.options import json_option
from skywatch.errors import CamtrapError

__all__ = ["summarize", "summary_command"]


def summarize(
    table: DetectionTable,
    species: str,
    *,
    occasion_days: float = 1.0,
    gap_minutes: float = 30.0,
    compare_to: str = "last_independent",
    start: str | None = None,
) -> dict[str, Any]:
    """The numbers ``skywatch camtrap summary`` prints, as a JSON-ready dict.

    Raises:
        CamtrapError: as the effort functions (events outside effort, bad occasions).
    """
    mode: CompareTo = "last_record" if compare_to == "last_record" else "last_independent"
    rai = relative_abundance(table, species, gap_minutes=gap_minutes, compare_to=mode)
    td = trap_days(table)
    occ = occasions(table, start=start, occasion_days=occasion_days)
    counts = capture_counts(table, species, occasion_days=occasion_days, start=start)
    caps = capture_histories(table, species, occasion_days=occasion_days, start=start)
    operating = td[td["trap_days"] > 0]
    per_station = rai[rai["station"] != TOTAL].merge(td[["station", "deployments", "gap_days"]], on="station")
    total = rai[rai["station"] == TOTAL].iloc[0]
    detected = int((per_station["events"] > 0).sum())
    return {
        "species": species,
        "gap_minutes": gap_minutes,
        "independence": mode,
        "occasion_days": occasion_days,
        "occasion_start": occ["start"].iloc[0].isoformat(),
        "occasions": len(occ),
        "stations": [
            {
                "station": str(r.station),
                "deployments": int(r.deployments),
                "trap_days": float(r.trap_days),
                "gap_days": float(r.gap_days),
                "events": int(r.events),
                "rai": _number(r.rai),
            }
            for r in per_station.itertuples(index=False)
        ],
        "total": {
            "trap_days": float(total["trap_days"]),
            "events": int(total["events"]),
            "rai": _number(total["rai"]),
        },
        "stations_operating": len(operating),
        "stations_detected": detected,
        "naive_occupancy": _number(naive_occupancy(table, species)),
        "records": len(table.species(species)),
        "individuals": len(counts),
        "individual_ids": counts["individual"].tolist(),
        "captures": len(caps),
        "skipped": [str(s) for s in table.skipped],
    }


@click.command("summary")
@click.argument("package", type=click.Path(exists=True, path_type=Path))
@click.option("--species", required=True, help="Scientific name, e.g. 'Panthera pardus orientalis'.")
@click.option(
    "--occasion-days",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Occasion length in days (capture histories).",
)
@click.option(
    "--gap-minutes",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Minimum minutes between independent events at a station.",
)
@click.option(
    "--independence",
    type=click.Choice(["last-independent", "last-record"]),
    default="last-independent",
    show_default=True,
    help="Measure the gap from the last independent event or from the last record (camtrapR deltaTimeComparedTo).",
)
@click.option(
    "--start",
    default=None,
    help="First occasion start, ISO 8601 with a zone (default: earliest deployment start floored to UTC midnight).",
)
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="Bad rows and events outside every deployment of their station: stop, or leave them out and list them.",
)
@json_option
def summary_command(
    package: Path,
    species: str,
    occasion_days: float,
    gap_minutes: float,
    independence: str,
    start: str | None,
    on_error: OnError,
    as_json: bool,
) -> None:
    """Trap-days, independent events and RAI per station, naive occupancy and individuals of a Camtrap DP PACKAGE."""
    table = _load(package, on_error=on_error)
    present = sorted(set(table.events.loc[table.events["kind"] == "animal", "species"]) - {""})
    if species not in present:
        if species not in _listed_species(table):
            raise CamtrapError(f"no animal events of {species!r} in {str(package)!r}; species present: {present}")
        click.echo(f"warning: {species!r} is listed in the package but has no animal events", err=True)
    if on_error == "skip":
        table = within_effort(table, on_error="skip")
    info = summarize(
        table,
        species,
        occasion_days=occasion_days,
        gap_minutes=gap_minutes,
        compare_to=independence.replace("-", "_"),
        start=start,
    )
    info = {"package": str(package), **info}
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    for line in info["skipped"]:
        click.echo(f"skipped: {line}", err=True)
    _print(info)


def _load(path: Path, *, on_error: OnError) -> DetectionTable:
    """The package as a DetectionTable (full Camtrap DP reader: with "skip" it also leaves out bad rows)."""
    return read_camtrap_dp_table(path, on_error=on_error)


def _listed_species(table: DetectionTable) -> set[str]:
    """Scientific names of the package's ``taxonomic`` coverage (Camtrap DP metadata), if any."""
    package = table.metadata.get("package", table.metadata)
    taxa = package.get("taxonomic") if isinstance(package, dict) else None
    if not isinstance(taxa, list):
        return set()
    return {str(t.get("scientificName", "")) for t in taxa if isinstance(t, dict)}


def _number(value: Any) -> float | None:
    v = float(value)
    return None if math.isnan(v) else v


def _print(info: dict[str, Any]) -> None:
    console = Console()
    table = Table("station", "deployments", "trap-days", "gap days", "events", "RAI", title=info["species"])
    for r in info["stations"]:
        rai = "-" if r["rai"] is None else f"{r['rai']:.3f}"
        table.add_row(
            r["station"], str(r["deployments"]), f"{r['trap_days']:.1f}", f"{r['gap_days']:.1f}", str(r["events"]), rai
        )
    t = info["total"]
    total_rai = "-" if t["rai"] is None else f"{t['rai']:.3f}"
    table.add_row("total", "", f"{t['trap_days']:.1f}", "", str(t["events"]), total_rai, style="bold")
    console.print(table)
    occ = "-" if info["naive_occupancy"] is None else f"{info['naive_occupancy']:.3f}"
    start = pd.Timestamp(info["occasion_start"]).isoformat()
    console.print(
        f"independent events: gap {info['gap_minutes']:g} min, compared to the {info['independence'].replace('_', ' ')}"
    )
    console.print(f"naive occupancy: {occ} ({info['stations_detected']} of {info['stations_operating']} stations)")
    console.print(
        f"individuals: {info['individuals']} ({', '.join(info['individual_ids']) or 'none'}); "
        f"{info['captures']} captures over {info['occasions']} occasions of {info['occasion_days']:g} day(s) "
        f"from {start}"
    )
