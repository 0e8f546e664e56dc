"""The deterministic tiling grid every stage shares.

Tiles are squares of ``tile_px`` pixels in a UTM zone, anchored at the CRS origin (not at the AOI), so a tile's
ID and pixels never depend on which AOI asked for it: ``32652-E0065-N0466`` is the tile whose lower-left corner
is at x = 65 * tile size, y = 466 * tile size metres in EPSG:32652. Edges are multiples of the resolution
(10 m by default), so Sentinel-2 10 m and 20 m pixels align with tile edges.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from affine import Affine
from shapely.geometry import box

from skywatch.aoi import AOI
from skywatch.errors import GridError
from skywatch.types import BBox, TileID

__all__ = ["Tile", "TileGrid", "snap_bounds"]

# "32652-E0065-N0466"; west or south of the zone's origin the numbers are negative: "32652-E-001-N0005"
_TILE_ID = re.compile(r"(?P<epsg>\d+)-E(?P<col>-?\d+)-N(?P<row>-?\d+)")


def snap_bounds(bounds: BBox, resolution: float) -> BBox:
    """Grow ``bounds`` outward to the nearest multiples of ``resolution`` (ignoring sub-millimetre overshoot)."""
    minx, miny, maxx, maxy = bounds
    r = resolution
    eps = 1e-3  # reprojection round-trips leave millimetre noise; do not grow a whole pixel for it
    return (
        math.floor((minx + eps) / r) * r,
        math.floor((miny + eps) / r) * r,
        math.ceil((maxx - eps) / r) * r,
        math.ceil((maxy - eps) / r) * r,
    )


@dataclass(frozen=True, kw_only=True)
class Tile:
    """One tile of a :class:`TileGrid`."""

    id: TileID
    col: int
    row: int
    epsg: int
    resolution: float
    size_px: int

    @property
    def bounds(self) -> BBox:
        """(min x, min y, max x, max y) in metres of the grid's CRS."""
        size = self.size_px * self.resolution
        return (self.col * size, self.row * size, (self.col + 1) * size, (self.row + 1) * size)

    @property
    def transform(self) -> Affine:
        """Affine transform of the tile's pixel grid (north up)."""
        minx, _, _, maxy = self.bounds
        return Affine(self.resolution, 0.0, minx, 0.0, -self.resolution, maxy)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) in pixels."""
        return (self.size_px, self.size_px)


@dataclass(frozen=True, kw_only=True)
class TileGrid:
    """A square tiling of one UTM zone.

    Attributes:
        epsg: EPSG code of the projected CRS (a UTM zone, 326xx or 327xx).
        resolution: Pixel size in metres.
        tile_px: Tile edge in pixels.
    """

    epsg: int
    resolution: float = 10.0
    tile_px: int = 1024

    def __post_init__(self) -> None:
        if not (32601 <= self.epsg <= 32660 or 32701 <= self.epsg <= 32760):
            raise GridError(f"grid CRS EPSG:{self.epsg} is not a WGS84 UTM zone (EPSG:32601-32660, 32701-32760)")
        if not (self.resolution > 0 and math.isfinite(self.resolution)):
            raise GridError(f"grid resolution must be a positive number of metres, got {self.resolution!r}")
        if self.tile_px < 16:
            raise GridError(f"tile_px must be at least 16 pixels, got {self.tile_px!r}")

    @classmethod
    def for_aoi(cls, aoi: AOI, *, resolution: float = 10.0, tile_px: int = 1024) -> TileGrid:
        """The grid in the UTM zone of ``aoi``."""
        return cls(epsg=aoi.utm_epsg, resolution=resolution, tile_px=tile_px)

    @property
    def tile_m(self) -> float:
        """Tile edge in metres."""
        return self.tile_px * self.resolution

    def tile_id(self, col: int, row: int) -> TileID:
        """The stable ID of tile (col, row)."""
        return f"{self.epsg}-E{col:04d}-N{row:04d}"

    def tile(self, col: int, row: int) -> Tile:
        """Tile (col, row)."""
        return Tile(
            id=self.tile_id(col, row),
            col=col,
            row=row,
            epsg=self.epsg,
            resolution=self.resolution,
            size_px=self.tile_px,
        )

    def parse_id(self, tile_id: TileID) -> Tile:
        """The tile named by ``tile_id``.

        Raises:
            GridError: the ID is malformed or belongs to another CRS.
        """
        m = _TILE_ID.fullmatch(tile_id)
        ok = m is not None and int(m["epsg"]) == self.epsg
        if not ok or m is None:
            raise GridError(f"tile ID {tile_id!r} is not of this grid (expected like {self.tile_id(65, 466)!r})")
        return self.tile(int(m["col"]), int(m["row"]))

    def tiles_for(self, aoi: AOI) -> list[Tile]:
        """Tiles meeting ``aoi``, north to south then west to east (a stable order)."""
        geom = aoi.to_crs(self.epsg)
        minx, miny, maxx, maxy = geom.bounds
        size = self.tile_m
        tiles = []
        for row in range(math.floor(maxy / size), math.floor(miny / size) - 1, -1):
            for col in range(math.floor(minx / size), math.floor(maxx / size) + 1):
                t = self.tile(col, row)
                if geom.intersects(box(*t.bounds)):
                    tiles.append(t)
        return tiles

    def bounds_for(self, aoi: AOI) -> BBox:
        """The AOI's bounds in the grid CRS, snapped outward to whole pixels."""
        minx, miny, maxx, maxy = aoi.to_crs(self.epsg).bounds
        return snap_bounds((minx, miny, maxx, maxy), self.resolution)
