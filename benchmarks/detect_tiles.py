"""Peak memory and wall time of `skywatch detect` against the tile size, on the SYNTHETIC sample.

    .venv/bin/python benchmarks/detect_tiles.py [--task fire] [--method baseline]

Each run is a fresh process (peak RSS = ru_maxrss of that process). The whole-AOI run (one tile larger than
the sample) is the baseline measured in the same run; smaller tiles should hold less in memory at a time
(the interpreter, GDAL and torch themselves are a fixed floor of a few hundred MB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from datetime import date
from pathlib import Path
from skywatch.aoi import load_aoi
from skywatch.jobs.detect import run_detect
from skywatch.sources.registry import open_source
spec = json.loads(sys.argv[1])
sample = Path(spec["sample"])
t = time.perf_counter()
aoi = load_aoi(str(sample / "aoi.geojson"))
r = run_detect(spec["task"], source=open_source("local", env={}, path=sample), aoi=aoi,
               before=(date(2025, 9, 1), date(2025, 9, 10)), after=(date(2025, 10, 15), date(2025, 10, 25)),
               out=Path(spec["out"]), method=spec["method"], tile_px=spec["tile_px"])
print(json.dumps({"seconds": time.perf_counter() - t, "tiles": r.tiles, "detections": r.detections,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    """Print one line per tile size and ratios against the whole-AOI run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="fire", choices=["fire", "clearcut", "roads"])
    parser.add_argument("--method", default="baseline", choices=["baseline", "model"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample"
        subprocess.run([str(Path(sys.executable).parent / "skywatch"), "sample", "--out", str(sample)], check=True,
                       capture_output=True)  # fmt: skip
        rows = {}
        for tile_px in (2048, 512, 256, 128):
            spec = {"sample": str(sample), "task": args.task, "method": args.method, "tile_px": tile_px,
                    "out": str(Path(tmp) / f"out-{tile_px}")}  # fmt: skip
            done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], check=True, capture_output=True,
                                  text=True)  # fmt: skip
            rows[tile_px] = json.loads(done.stdout.strip().splitlines()[-1])
    base = rows[2048]
    print(f"detect {args.task} --method {args.method} on the synthetic 1000 x 1000 px sample")
    for tile_px, r in rows.items():
        ratio = r["seconds"] / base["seconds"]
        print(f"tile_px {tile_px:5d}: {r['tiles']:3d} tiles, {r['seconds']:6.1f} s ({ratio:.2f}x),"
              f" peak RSS {r['peak_rss_mb']:7.1f} MB ({r['peak_rss_mb'] / base['peak_rss_mb']:.2f}x),"
              f" {r['detections']} detections")  # fmt: skip


if __name__ == "__main__":
    main()
