"""Property tests for parsing: tile IDs round-trip, the camera-trap time parser agrees with itself across formats."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from skywatch.camtrap.readers._common import BadRow, parse_time
from skywatch.errors import GridError
from skywatch.grid import TileGrid

EPSGS = st.sampled_from([32601, 32652, 32660, 32701, 32760])


@settings(max_examples=200, deadline=None)
@given(EPSGS, st.integers(0, 99_999), st.integers(0, 99_999), st.sampled_from([64, 512, 1024]))
def test_tile_id_round_trips(epsg: int, col: int, row: int, tile_px: int) -> None:
    grid = TileGrid(epsg=epsg, tile_px=tile_px)
    assert grid.parse_id(grid.tile_id(col, row)) == grid.tile(col, row)


@settings(max_examples=50, deadline=None)
@given(st.integers(-9_999, -1), st.integers(0, 9_999))
def test_negative_tile_id_round_trips(col: int, row: int) -> None:
    grid = TileGrid(epsg=32652)
    assert grid.parse_id(grid.tile_id(col, row)) == grid.tile(col, row)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_id_never_raises_anything_but_griderror(text: str) -> None:
    with contextlib.suppress(GridError):
        TileGrid(epsg=32652).parse_id(text)


MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=300, deadline=None)
@given(MOMENTS, OFFSETS)
def test_time_formats_agree(local: datetime, tz: timezone) -> None:
    """ISO with offset, naive ISO plus a zone, and EXIF style plus a zone name the same instant."""
    aware = local.replace(tzinfo=tz)
    want = aware.astimezone(UTC)
    assert parse_time(aware.isoformat(), None, column="t") == want
    assert parse_time(local.isoformat(sep=" "), tz, column="t") == want
    assert parse_time(local.strftime("%Y:%m:%d %H:%M:%S"), tz, column="t") == want


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40), st.booleans())
def test_parse_time_fails_only_with_badrow(text: str, allow_date: bool) -> None:
    try:
        value = parse_time(text, UTC, column="t", allow_date=allow_date)
    except BadRow as bad:
        assert bad.column == "t" and bad.reason
    else:
        assert value.tzinfo is not None
