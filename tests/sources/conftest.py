"""Sample scenes served over HTTP from 127.0.0.1 (Range requests), read through GDAL /vsicurl/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pystac
import pytest

from skywatch.sources.local import LocalSource
from tests.helpers.range_server import RangeServer, serve


@pytest.fixture
def server(sample_dir: Path, socket_enabled: None) -> Iterator[RangeServer]:
    with serve(sample_dir / "stac") as s:
        yield s


@pytest.fixture
def remote_items(server: RangeServer, sample_dir: Path) -> list[pystac.Item]:
    """The sample's items with every asset href pointing at the local server."""
    root = sample_dir / "stac"
    items = LocalSource(path=sample_dir).search(
        bbox=(131.0, 43.0, 131.3, 43.3), start=date(2025, 1, 1), end=date(2025, 12, 31), collection="sentinel-2-c1-l2a"
    )
    out = []
    for it in items:
        it = it.clone()
        for asset in it.assets.values():
            rel = Path(asset.get_absolute_href() or "").relative_to(root)
            asset.href = f"{server.url}/{rel.as_posix()}"
        out.append(it)
    return out


def path_of(server: RangeServer, href: str) -> str:
    return href[len(server.url) :]
