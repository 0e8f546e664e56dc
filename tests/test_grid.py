"""The tiling grid: deterministic, aligned, independent of the AOI that asks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from skywatch.aoi import AOI, load_aoi
from skywatch.errors import GridError
from skywatch.grid import TileGrid, snap_bounds


def test_tiles_are_deterministic_and_stable_across_aois() -> None:
    park = load_aoi("land-of-the-leopard")
    grid = TileGrid.for_aoi(park)
    assert grid.epsg == 32652
    first = [t.id for t in grid.tiles_for(park)]
    assert first == [t.id for t in grid.tiles_for(park)]
    assert len(first) == len(set(first)) > 10
    # a small AOI inside the park gets the same IDs and pixels for the tiles it shares
    small = AOI(name="small", geometry=box(131.05, 43.1, 131.15, 43.2))
    big_tiles = {t.id: t for t in grid.tiles_for(park)}
    for t in grid.tiles_for(small):
        assert t.id in big_tiles
        assert t.bounds == big_tiles[t.id].bounds and t.transform == big_tiles[t.id].transform


def test_tiles_cover_the_aoi_and_align_to_10_m() -> None:
    park = load_aoi("land-of-the-leopard")
    grid = TileGrid.for_aoi(park, tile_px=512)
    tiles = grid.tiles_for(park)
    union = box(*tiles[0].bounds)
    for t in tiles[1:]:
        union = union.union(box(*t.bounds))
        assert all(v % 10 == 0 for v in t.bounds)
    assert union.buffer(1).contains(park.to_crs(32652))


def test_parse_id_round_trips_and_rejects_others() -> None:
    grid = TileGrid(epsg=32652)
    t = grid.tile(65, 466)
    assert t.id == "32652-E0065-N0466"
    assert grid.parse_id(t.id) == t
    with pytest.raises(GridError):
        grid.parse_id("32653-E0065-N0466")
    with pytest.raises(GridError):
        grid.parse_id("garbage")


def test_bad_grid_parameters() -> None:
    with pytest.raises(GridError, match="UTM"):
        TileGrid(epsg=4326)
    with pytest.raises(GridError, match="resolution"):
        TileGrid(epsg=32652, resolution=0)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 900_000),
    st.floats(0, 9_000_000),
    st.floats(0.001, 50_000),
    st.floats(0.001, 50_000),
    st.sampled_from([10.0, 20.0, 60.0]),
)
def test_snap_bounds_contains_and_aligns(x: float, y: float, w: float, h: float, res: float) -> None:
    b = (x, y, x + w, y + h)
    s = snap_bounds(b, res)
    assert s[0] <= b[0] + 1e-3 and s[1] <= b[1] + 1e-3 and s[2] >= b[2] - 1e-3 and s[3] >= b[3] - 1e-3
    for v in s:
        assert abs(v / res - round(v / res)) < 1e-6
