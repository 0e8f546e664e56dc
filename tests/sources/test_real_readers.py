"""Evaluation: REAL Sentinel-2 (13 bands) and Sentinel-1 chips from ../shared load by band name, in the right
order, on the right grid. Skipped with a message when ../shared is absent."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.vrt import WarpedVRT

from skywatch.aoi import utm_epsg
from skywatch.grid import snap_bounds
from skywatch.sources.local import LocalSource

pytestmark = pytest.mark.evaluation
L1C = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]


def _load(folder: Path, bands: list[str], lonlat_bounds: tuple[float, float, float, float], day: date):  # type: ignore[no-untyped-def]
    src = LocalSource(path=folder)
    items = src.search(bbox=lonlat_bounds, start=day, end=day, collection="sentinel-2-l2a")
    epsg = utm_epsg((lonlat_bounds[0] + lonlat_bounds[2]) / 2, (lonlat_bounds[1] + lonlat_bounds[3]) / 2)
    from shapely.geometry import box

    from skywatch.geometry import reproject

    utm = reproject(box(*lonlat_bounds), 4326, epsg).bounds
    inner = snap_bounds((utm[0] + 100, utm[1] + 100, utm[2] - 100, utm[3] - 100), 10.0)
    return src.load(items, bands=bands, bounds=inner, epsg=epsg, resolution=10.0).compute(), epsg


def test_sen1floods11_s2_and_s1_band_order(shared: Path, tmp_path: Path) -> None:
    root = shared / "data" / "real" / "sen1floods11-sample"
    (tmp_path / "chips").mkdir()
    # the event table dates the chips (S2 2019-09-18, S1 2019-09-17); skywatch reads dates from file names
    (tmp_path / "chips" / "Spain_7370579_20190918_S2Hand.tif").symlink_to(root / "Spain_7370579_S2Hand.tif")
    (tmp_path / "chips" / "Spain_7370579_20190917_S1Hand.tif").symlink_to(root / "Spain_7370579_S1Hand.tif")
    with rasterio.open(root / "Spain_7370579_S2Hand.tif") as ds:
        lonlat = tuple(ds.bounds)
        assert ds.crs.to_epsg() == 4326
    s2, epsg = _load(tmp_path / "chips", ["green", "red", "nir", "nir08", "swir16"], lonlat, date(2019, 9, 18))
    assert epsg == 32630 and s2.odc.geobox.crs.epsg == 32630
    s1, _ = _load(tmp_path / "chips", ["vv", "vh"], lonlat, date(2019, 9, 17))
    gb = s2.odc.geobox  # the hand label (no band names) warped onto the cube's grid, nearest neighbour
    with (
        rasterio.open(root / "Spain_7370579_LabelHand.tif") as ds,
        WarpedVRT(ds, crs=f"EPSG:{epsg}", transform=gb.affine, width=gb.shape[1], height=gb.shape[0]) as vrt,
    ):
        label = vrt.read(1)
    water, land = label == 1, label == 0
    g, r, n, n8 = (s2[b].isel(time=0).values for b in ("green", "red", "nir", "nir08"))
    # water: green above NIR (NDWI > 0); land: NIR above red. Swapped bands would break both.
    assert np.nanmedian((g - n)[water]) > 0 and np.nanmedian((n - r)[land]) > 0
    assert abs(np.nanmedian(n[land]) - np.nanmedian(n8[land])) < 0.05  # B08 and B8A agree on land
    # S1 in dB (float bands kept as they are): open water is dark
    vv = s1["vv"].isel(time=0).values
    assert np.nanmedian(vv[water]) < -15 < np.nanmedian(vv[land])
    assert np.nanmedian(s1["vh"].isel(time=0).values[land]) < np.nanmedian(vv[land])


def test_eolearn_13_band_stack_matches_its_ndvi(shared: Path, tmp_path: Path) -> None:
    root = shared / "data" / "real" / "eolearn-slovenia-s2l1c"
    scenes = np.load(root / "REFERENCE_SCENES_L1C_13band.npy")  # (5, 101, 100, 13), frames of these dates:
    stamps = json.loads((root / "timestamps.json").read_text())
    order = [2, 1, 4, 3, 0]  # SOURCE.md: frame i is timestamps[order[i]]
    ndvi_ref = np.load(root / "data_NDVI.npy")[..., 0]
    ring = json.loads((root / "bbox.geojson").read_text())["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    transform = Affine((max(xs) - min(xs)) / 100, 0, min(xs), 0, -(max(ys) - min(ys)) / 101, max(ys))
    folder = tmp_path / "eolearn"
    folder.mkdir()
    frame = 2  # a cloud-free frame (2015-09-09)
    day = date.fromisoformat(stamps[order[frame]][:10])
    with rasterio.open(
        folder / f"slovenia_{day:%Y%m%d}.tif",
        "w",
        driver="GTiff",
        width=100,
        height=101,
        count=13,
        dtype="float32",
        crs="EPSG:32633",
        transform=transform,
    ) as dst:
        dst.write(np.moveaxis(scenes[frame], -1, 0).astype(np.float32))
        for i, name in enumerate(L1C, start=1):
            dst.set_band_description(i, name)
    from shapely.geometry import box

    from skywatch.geometry import reproject

    lonlat = reproject(box(min(xs), min(ys), max(xs), max(ys)), 32633, 4326).bounds
    cube, epsg = _load(folder, ["red", "nir"], lonlat, day)
    assert epsg == 32633
    red, nir = cube["red"].isel(time=0).values, cube["nir"].isel(time=0).values
    ours = (nir - red) / (nir + red)
    # the reference NDVI on the file's own grid, resampled to ours by the same transform
    ref = ndvi_ref[order[frame]]
    gb = cube.odc.geobox
    cols = ((gb.coordinates["x"].values - transform.c) / transform.a).astype(int)
    rows = ((gb.coordinates["y"].values - transform.f) / transform.e).astype(int)
    ref_on_ours = ref[np.clip(rows, 0, 100)][:, np.clip(cols, 0, 99)]
    ok = np.isfinite(ours)
    assert ok.mean() > 0.9
    assert np.corrcoef(ours[ok], ref_on_ours[ok])[0, 1] > 0.95
    assert np.median(np.abs(ours[ok] - ref_on_ours[ok])) < 0.03


def test_s2cloudless_on_real_l1c_matches_the_reference_probabilities(shared: Path) -> None:
    """The eo-learn patch carries Sentinel Hub's s2cloudless probabilities (CLP, computed at 160 m); ours, run on
    the same L1C frames at 10 m, must agree in scene cloudiness and flag the two cloudy frames."""
    import xarray as xr

    from skywatch.cube.cloudless import cloud_probability, cloudless_mask

    root = shared / "data" / "real" / "eolearn-slovenia-s2l1c"
    scenes = np.load(root / "REFERENCE_SCENES_L1C_13band.npy")
    clp = np.load(root / "data_CLP.npy")[..., 0]
    order = [2, 1, 4, 3, 0]
    names = {"B01": "coastal", "B02": "blue", "B04": "red", "B05": "rededge1", "B08": "nir", "B8A": "nir08",
             "B09": "nir09", "B10": "cirrus", "B11": "swir16", "B12": "swir22"}  # fmt: skip
    ds = xr.Dataset({v: (("time", "y", "x"), scenes[..., L1C.index(k)]) for k, v in names.items()})
    prob = cloud_probability(ds.chunk({"time": 1})).compute().values
    for i, t in enumerate(order):
        assert abs(prob[i].mean() - clp[t].mean()) < 0.02
    cloudy = [cloudless_mask(prob[i]).mean() for i in range(5)]
    assert cloudy[0] > 0.9 and cloudy[1] > 0.5 and max(cloudy[2:]) < 0.1


def test_cube_cli_with_s2cloudless_on_a_real_l1c_stack(shared: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    import xarray as xr

    root = shared / "data" / "real" / "eolearn-slovenia-s2l1c"
    scenes = np.load(root / "REFERENCE_SCENES_L1C_13band.npy")
    stamps = json.loads((root / "timestamps.json").read_text())
    order = [2, 1, 4, 3, 0]
    ring = json.loads((root / "bbox.geojson").read_text())["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    transform = Affine((max(xs) - min(xs)) / 100, 0, min(xs), 0, -(max(ys) - min(ys)) / 101, max(ys))
    folder = tmp_path / "l1c"
    folder.mkdir()
    for frame in range(5):
        day = stamps[order[frame]][:10]
        with rasterio.open(folder / f"slovenia_{day}.tif", "w", driver="GTiff", width=100, height=101, count=13,
                           dtype="float32", crs="EPSG:32633", transform=transform) as dst:  # fmt: skip
            dst.write(np.moveaxis(scenes[frame], -1, 0).astype(np.float32))
            for i, name in enumerate(L1C, start=1):
                dst.set_band_description(i, name)
    from shapely.geometry import box, mapping

    from skywatch.geometry import reproject

    aoi = tmp_path / "aoi.geojson"
    inner = box(min(xs) + 50, min(ys) + 50, max(xs) - 50, max(ys) - 50)
    aoi.write_text(json.dumps(mapping(reproject(inner, 32633, 4326))))
    out = tmp_path / "cube.zarr"
    r = subprocess.run(
        [sys.executable, "-c", "from skywatch.cli.main import main; main()", "cube", "--aoi", str(aoi),
         "--start", "2015-07-01", "--end", "2015-09-30", "--provider", "local", "--path", str(folder),
         "--bands", "red,nir", "--cloud-mask", "s2cloudless", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    ds = xr.open_zarr(out)
    assert ds.sizes["time"] == 5 and "cloud_probability" in ds
    clear_share = ds["red"].notnull().mean(("y", "x")).values
    # in date order 07-11, 07-31, 08-20, 08-30, 09-09; 07-31 and 08-20 are cloudy (eo-learn CLM = 1)
    assert clear_share[2] < 0.1 and clear_share[1] < 0.5 and min(clear_share[[0, 3, 4]]) > 0.8
