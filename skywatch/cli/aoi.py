"""`skywatch aoi list|show`."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from skywatch.aoi import list_builtin, load_aoi
from skywatch.cli.options import json_option
from skywatch.grid import TileGrid

__all__ = ["aoi"]


@click.group()
def aoi() -> None:
    """Areas of interest: the built-in park outlines, or any vector file."""


@aoi.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List the built-in AOIs."""
    rows = [
        {"name": a.name, "name_en": a.properties.get("name_en", ""), "area_km2": round(a.area_km2, 1)}
        for a in list_builtin()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("name", "park", "area km2")
    for r in rows:
        table.add_row(str(r["name"]), str(r["name_en"]), f"{r['area_km2']:,.1f}")
    Console().print(table)


@aoi.command("show")
@click.argument("name_or_file")
@click.option("--tile-px", default=1024, show_default=True, help="Tile edge of the grid, in 10 m pixels.")
@json_option
def show_cmd(name_or_file: str, tile_px: int, as_json: bool) -> None:
    """Area, bounds, UTM zone, Sentinel-2 tiles and grid tiles of NAME_OR_FILE."""
    a = load_aoi(name_or_file)
    grid = TileGrid.for_aoi(a, tile_px=tile_px)
    info = {
        "name": a.name,
        "area_km2": round(a.area_km2, 1),
        "bbox": [round(v, 6) for v in a.bbox],
        "utm_epsg": a.utm_epsg,
        "utm_zone": f"{a.utm_epsg % 100}{'N' if a.utm_epsg < 32700 else 'S'}",
        "mgrs_tiles": a.mgrs_tiles,
        "grid_tiles": len(grid.tiles_for(a)),
        "source": a.properties.get("source", a.source),
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    table = Table(show_header=False)
    for key, value in info.items():
        table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    Console().print(table)
