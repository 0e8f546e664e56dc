"""Cube-load throughput: skywatch (odc-stac + offsets + SCL mask) next to a plain ``odc.stac.load`` of the same
items, both reading the sample's COGs from a local HTTP server (GDAL /vsicurl/, Range requests).

    .venv/bin/python benchmarks/cube_load.py [--repeats 3] [--chunk 512]

Each variant runs in its own process (so peak RSS is its own); figures are Mpix/s per core (output pixels x
bands x dates / wall seconds / cores) and peak RSS. Goal (issue 3): skywatch within 20 % of plain odc-stac while
adding masking, and peak memory bounded by chunk size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skywatch.jobs.sample import write_sample  # noqa: E402
from skywatch.sample.scene import SAMPLE_BOUNDS  # noqa: E402
from skywatch.sources.local import LocalSource  # noqa: E402
from tests.helpers.range_server import serve  # noqa: E402

BANDS = ["blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl"]

CHILD = r"""
import json, resource, sys, time
import pystac
spec = json.loads(sys.argv[1])
items = [pystac.Item.from_dict(d) for d in spec["items"]]
bounds, chunk, variant = tuple(spec["bounds"]), spec["chunk"], spec["variant"]
t0 = time.perf_counter()
if variant == "plain":
    import odc.stac
    from odc.geo.geobox import GeoBox
    gb = GeoBox.from_bbox(bounds, crs="EPSG:32652", resolution=10)
    ds = odc.stac.load(items, bands=spec["bands"], geobox=gb, chunks={"x": chunk, "y": chunk}, groupby="solar_day")
else:
    from skywatch.cube.mask import apply_mask
    from skywatch.sources.odc_load import load_cube
    ds = apply_mask(load_cube(items, bands=spec["bands"], bounds=bounds, epsg=32652, chunk_px=chunk))
ds.load()
seconds = time.perf_counter() - t0
px = sum(int(v.size) for v in ds.data_vars.values() if v.dtype.kind != "b")
print(json.dumps({"seconds": seconds, "px": px, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=512)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        sample = write_sample(Path(tmp) / "sample")
        items = LocalSource(path=sample).search(
            bbox=(131.0, 43.0, 131.3, 43.3), start=date(2025, 1, 1), end=date(2025, 12, 31), collection="sentinel-2-l2a"
        )
        with serve(sample / "stac") as server:
            remote = []
            for it in items:
                it = it.clone()
                for asset in it.assets.values():
                    rel = Path(asset.get_absolute_href() or "").relative_to(sample / "stac")
                    asset.href = f"{server.url}/{rel.as_posix()}"
                remote.append(it.to_dict())
            results: dict[str, list[dict[str, float]]] = {"plain": [], "skywatch": []}
            for _ in range(args.repeats):
                for variant in results:
                    spec = {
                        "items": remote,
                        "bounds": list(SAMPLE_BOUNDS),
                        "chunk": args.chunk,
                        "variant": variant,
                        "bands": BANDS,
                    }
                    out = subprocess.run(
                        [sys.executable, "-c", CHILD, json.dumps(spec)],
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=REPO,
                    )
                    results[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}
    print(
        f"cube load over local HTTP, {len(items)} dates x {len(BANDS)} bands x 1000 x 1000 px, chunk {args.chunk}, "
        f"{cores} cores, best of {args.repeats}"
    )
    for name, r in best.items():
        mpx = r["px"] / 1e6 / r["seconds"]
        print(
            f"  {name:9s} {r['seconds']:6.2f} s  {mpx / cores:6.2f} Mpix/s per core  peak RSS {r['rss_mib']:5.0f} MiB"
        )
    ratio = (best["plain"]["seconds"]) / best["skywatch"]["seconds"]
    print(f"  skywatch throughput / plain odc-stac: {ratio:.2f} (goal >= 0.80)")


if __name__ == "__main__":
    main()
