"""Raster masks to vector features (pure: arrays in, shapely geometries out)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from affine import Affine
from rasterio import features
from scipy import ndimage
from shapely import STRtree
from shapely.geometry import LineString, MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import make_valid

__all__ = ["centreline", "components", "join_across_tiles", "valid_polygonal"]


def components(mask: np.ndarray, transform: Affine) -> Iterator[tuple[np.ndarray, Polygon | MultiPolygon]]:
    """Each 8-connected component of ``mask`` as (its pixel mask, its polygon in map coordinates)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return
    shapes: dict[int, list[Polygon]] = {}
    for geom, value in features.shapes(labels.astype(np.int32), mask=labels > 0, transform=transform, connectivity=8):
        shapes.setdefault(int(value), []).append(shape(geom))
    for label in range(1, n + 1):
        yield labels == label, valid_polygonal(unary_union(shapes[label]))


def valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Pixels joined only at a corner (8-connected components) make self-touching rings; split them into a
    valid MultiPolygon so GeoJSON consumers see no self-intersection."""
    if geom.geom_type not in {"Polygon", "MultiPolygon"} or geom.is_valid:
        return geom
    fixed = make_valid(geom)
    polys = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in {"Polygon", "MultiPolygon"}]
    parts = [p for g in polys for p in getattr(g, "geoms", [g])]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def centreline(skeleton: np.ndarray, transform: Affine) -> LineString | None:
    """The longest path through a one-pixel skeleton, as a LineString in map coordinates (None if < 2 px)."""
    import networkx as nx  # here, not at the top: tile workers never draw centre-lines (11 MiB each, measured)

    rows, cols = np.nonzero(skeleton)
    if len(rows) < 2:
        return None
    index = {(r, c): i for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True))}
    graph = nx.Graph()
    graph.add_nodes_from(range(len(rows)))
    for (r, c), i in index.items():
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            j = index.get((r + dr, c + dc))
            if j is not None:
                graph.add_edge(i, j, weight=float(np.hypot(dr, dc)))
    largest = max(nx.connected_components(graph), key=len)
    sub = graph.subgraph(largest)
    start = next(iter(largest))
    far = max(nx.single_source_dijkstra_path_length(sub, start).items(), key=lambda kv: kv[1])[0]
    dist, paths = nx.single_source_dijkstra(sub, far)
    end = max(dist.items(), key=lambda kv: kv[1])[0]
    coords = [transform @ (cols[i] + 0.5, rows[i] + 0.5) for i in paths[end]]
    return LineString(coords) if len(coords) >= 2 else None


def join_across_tiles(geoms: list[BaseGeometry]) -> list[list[int]]:
    """Group pieces of detections cut by tile edges: indices of pieces that touch (edge or corner), transitively.

    Pieces from one tile never touch (they are separate 8-connected components), so a group is exactly the
    component the whole-array labelling would have found.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(len(geoms)))
    if geoms:
        left, right = STRtree(geoms).query(geoms, predicate="intersects")
        graph.add_edges_from((int(a), int(b)) for a, b in zip(left, right, strict=True) if a < b)
    return sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: c[0])
