"""The synthetic sample's invariants: deterministic, realistic spectra, every file marked synthetic."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import rasterio
from rio_cogeo.cogeo import cog_validate

from skywatch.aoi import load_aoi
from skywatch.sample.scene import SAMPLE_BOUNDS, synthesize_scene
from skywatch.sample.spectra import BANDS


def test_same_seed_same_scene_other_seed_other_scene() -> None:
    a, b, c = (
        synthesize_scene(3, size_px=200),
        synthesize_scene(3, size_px=200),
        synthesize_scene(4, size_px=200),
    )
    assert np.array_equal(a.reflectance[1], b.reflectance[1]) and np.array_equal(a.scl[1], b.scl[1])
    assert not np.array_equal(a.reflectance[1], c.reflectance[1])


def test_disturbances_clouds_and_snow_are_present_and_flagged() -> None:
    s = synthesize_scene(42)
    t = s.truth
    for key in ("burn", "fire_active", "clearcut", "road"):
        assert t[key].sum() > 100, key
    assert t["fire_active"][~t["burn"]].sum() == 0  # the front is part of the burned area
    assert (t["clearcut"] & t["burn"]).sum() == 0
    scl_after = s.scl[1]
    for code in (3, 8, 9, 10, 11):
        assert (scl_after == code).sum() > 50, code
    assert (s.scl[0] == 0).sum() > 0  # orbit-edge nodata on the before date
    # burn severity has a gradient
    sev = t["burn_severity"][t["burn"]]
    assert sev.min() < 0.45 and sev.max() > 0.95


def test_forest_spectra_look_like_forest() -> None:
    s = synthesize_scene(42, size_px=300)
    b = {name: i for i, name in enumerate(BANDS)}
    pre = s.reflectance[0]
    forest = (s.landcover == 1) & ~s.truth["invalid_before"]
    with np.errstate(invalid="ignore"):  # the orbit-edge nodata corner is 0 / 0
        ndvi = (pre[b["B08"]] - pre[b["B04"]]) / (pre[b["B08"]] + pre[b["B04"]])
    assert 0.75 < float(np.median(ndvi[forest])) < 0.92


def test_sample_files(sample_dir: Path) -> None:
    aoi = load_aoi(sample_dir / "aoi.geojson")
    assert load_aoi("land-of-the-leopard").geometry.contains(aoi.geometry)
    catalog = pystac.Catalog.from_file(str(sample_dir / "stac" / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert len(items) == 2
    expected = {
        "blue",
        "green",
        "red",
        "nir",
        "rededge1",
        "rededge2",
        "rededge3",
        "nir08",
        "swir16",
        "swir22",
        "scl",
    }
    for item in items:
        assert item.properties["synthetic"] is True
        assert item.collection_id == "sentinel-2-c1-l2a"
        assert set(item.assets) == expected
        assert item.assets["red"].extra_fields["raster:bands"][0]["offset"] == -0.1
        for key, asset in item.assets.items():
            path = Path(asset.get_absolute_href() or "")
            ok, errors, warnings = cog_validate(str(path), strict=True)
            assert ok, (key, errors, warnings)
            with rasterio.open(path) as ds:
                assert ds.tags()["SKYWATCH_SYNTHETIC"] == "true"
                assert ds.crs.to_epsg() == 32652
                assert ds.res == (
                    (20.0, 20.0)
                    if key in {"rededge1", "rededge2", "rededge3", "nir08", "swir16", "swir22", "scl"}
                    else (10.0, 10.0)
                )
                assert ds.bounds == SAMPLE_BOUNDS
    truth = json.loads((sample_dir / "truth" / "truth.json").read_text())
    assert truth["synthetic"] is True
    for name in ("burn", "fire_active", "clearcut", "road", "burn_severity"):
        assert (sample_dir / "truth" / f"{name}.tif").exists()


def test_dn_encode_the_baseline_04_offset(sample_dir: Path) -> None:
    """DN = reflectance * 10000 + 1000, as Earth Search sentinel-2-c1-l2a."""
    scene = synthesize_scene(42)
    item_dir = next((sample_dir / "stac" / "sentinel-2-c1-l2a").glob("*20251021*"))
    with rasterio.open(item_dir / "B04.tif") as ds:
        dn = ds.read(1)
    refl = scene.reflectance[1][BANDS.index("B04")]
    ok = dn > 0
    np.testing.assert_allclose(dn[ok] * 0.0001 - 0.1, refl[ok], atol=6e-5)
