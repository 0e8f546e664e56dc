"""Training and evaluation scenes: ``date:band`` reflectance arrays, a truth mask and a validity mask.

Sources:
- SYNTHETIC scenes drawn by :func:`skywatch.sample.scene.synthesize_scene` from seeds (labelled synthetic);
- sample packs written by ``skywatch sample`` (read through the local source, exactly as a user's data);
- REAL CAL FIRE chips in the layout of ``burn-scars-calfire-s2`` (``post_fire/``, ``masks/``, optional
  ``pre_fire/`` and ``dnbr/``). Post-fire files carry TCI_R, TCI_G, TCI_B, B8, B12 (B8/B12 reflectance x 10000);
  pre-fire files carry B2, B3, B4, B8, B12 on a grid that may be wider: they are aligned by transform.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import from_bounds

from skywatch.errors import DataError
from skywatch.sample.scene import synthesize_scene
from skywatch.sample.spectra import BANDS

__all__ = ["CALFIRE_EXCLUDE", "Scene", "calfire_scenes", "sample_pack_scenes", "synthetic_scenes"]

log = logging.getLogger(__name__)

# KENNETH_20250109: label and imagery disagree (mean dNBR -0.08 inside the perimeter; SOURCE.md).
CALFIRE_EXCLUDE = {"KENNETH_20250109": "its CAL FIRE label does not match its image (dNBR inside < outside)"}
_KEY = {"blue": "B02", "green": "B03", "red": "B04", "rededge1": "B05", "rededge2": "B06", "rededge3": "B07",
        "nir": "B08", "nir08": "B8A", "swir16": "B11", "swir22": "B12"}  # fmt: skip
_20M = {"B05", "B06", "B07", "B8A", "B11", "B12"}


@dataclass(frozen=True, kw_only=True)
class Scene:
    """One scene for training or evaluation."""

    name: str
    arrays: dict[str, np.ndarray]
    truth: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: str
    synthetic: bool
    dnbr: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def _as_20m(img: np.ndarray) -> np.ndarray:
    """Block-average to 20 m and back (how a 20 m band looks on the 10 m grid)."""
    h, w = img.shape
    small = img[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    out = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
    return np.pad(out, ((0, h - out.shape[0]), (0, w - out.shape[1])), mode="edge")


def synthetic_scenes(seeds: Sequence[int], *, label: str, size_px: int = 512) -> Iterator[Scene]:
    """SYNTHETIC scenes; ``label`` is ``burn``, ``clearcut`` or ``road``. Each seed sits at its own place."""
    for seed in seeds:
        s = synthesize_scene(seed, size_px=size_px)
        arrays = {}
        for di, date_key in enumerate(("pre", "post")):
            for band, key in _KEY.items():
                img = s.reflectance[di][BANDS.index(key)]
                arrays[f"{date_key}:{band}"] = _as_20m(img) if key in _20M else img
        valid = ~s.truth["invalid_before"] & ~s.truth["invalid_after"]
        shift = (seed % 1000) * size_px * 10 * 1.5  # keep scenes apart in space for the GeoDataset index
        transform = Affine(10, 0, s.bounds[0] + shift, 0, -10, s.bounds[3])
        yield Scene(name=f"synthetic-{seed}", arrays=arrays, truth=s.truth[label].astype(bool), valid=valid,
                    transform=transform, crs=f"EPSG:{s.epsg}", synthetic=True)  # fmt: skip


def sample_pack_scenes(folder: Path, *, label: str) -> Iterator[Scene]:
    """Scenes from sample packs (folders written by ``skywatch sample``) under ``folder``, read through the
    local source like any user's data; ``label`` names the truth file (``burn``, ``clearcut``, ``road``)."""
    from skywatch.aoi import load_aoi
    from skywatch.cube.mask import apply_mask
    from skywatch.grid import TileGrid
    from skywatch.sources.local import LocalSource

    packs = sorted(p.parent for p in folder.glob("*/truth/truth.json"))
    if (folder / "truth" / "truth.json").exists():
        packs = [folder]
    if not packs:
        raise DataError(f"no sample packs under {str(folder)!r} (folders written by `skywatch sample`)")
    for pack in packs:
        aoi = load_aoi(pack / "aoi.geojson")
        grid = TileGrid.for_aoi(aoi)
        src = LocalSource(path=pack)
        items = src.search(bbox=aoi.bbox, start=date(1970, 1, 1), end=date(2100, 1, 1), collection="sentinel-2-l2a")
        bands = [*list(_KEY), "scl"]
        cube = apply_mask(src.load(items, bands=bands, bounds=grid.bounds_for(aoi), epsg=grid.epsg)).compute()
        arrays = {}
        for ti, date_key in enumerate(("pre", "post")):
            for band in _KEY:
                arrays[f"{date_key}:{band}"] = cube[band].isel(time=ti).values.astype(np.float32)
        valid = cube["valid"].isel(time=0).values & cube["valid"].isel(time=1).values
        with rasterio.open(pack / "truth" / f"{label}.tif") as ds:
            truth = ds.read(1).astype(bool)
            transform, crs = ds.transform, ds.crs.to_string()
        yield Scene(name=pack.name, arrays=arrays, truth=truth, valid=valid, transform=transform, crs=crs,
                    synthetic=True)  # fmt: skip


def calfire_scenes(root: Path, *, exclude: dict[str, str] | None = None) -> Iterator[Scene]:
    """REAL burn-scar scenes from a folder in the burn-scars-calfire-s2 layout.

    Raises:
        DataError: the folder lacks ``post_fire/`` or ``masks/``.
    """
    exclude = CALFIRE_EXCLUDE if exclude is None else exclude
    post_dir, mask_dir = root / "post_fire", root / "masks"
    if not post_dir.is_dir() or not mask_dir.is_dir():
        raise DataError(f"{str(root)!r} is not in the CAL FIRE chip layout: it needs post_fire/ and masks/")
    for post_path in sorted(post_dir.glob("*.tif")):
        event = post_path.stem
        if event in exclude:
            log.warning("skipping %s: %s", event, exclude[event])
            continue
        mask_path = mask_dir / post_path.name
        if not mask_path.exists():
            raise DataError(f"{str(post_path)!r} has no mask {str(mask_path)!r}")
        with rasterio.open(post_path) as ds:
            names = [d or "" for d in ds.descriptions]
            post = ds.read().astype(np.float32)
            transform, crs, bounds = ds.transform, ds.crs.to_string(), ds.bounds
        idx = {n: i for i, n in enumerate(names)}
        if "B8" not in idx or "B12" not in idx:
            raise DataError(f"{str(post_path)!r} lacks B8/B12 (bands {names})")
        arrays = {"post:nir": post[idx["B8"]] * 1e-4, "post:swir22": post[idx["B12"]] * 1e-4}
        with rasterio.open(mask_path) as ds:
            truth = ds.read(1) == 1
        valid = np.isfinite(arrays["post:nir"]) & np.isfinite(arrays["post:swir22"]) & (arrays["post:nir"] > 0)
        pre_path = root / "pre_fire" / post_path.name
        if pre_path.exists():
            with rasterio.open(pre_path) as ds:
                pnames = {d: i + 1 for i, d in enumerate(ds.descriptions)}
                window = from_bounds(*bounds, transform=ds.transform).round_offsets().round_lengths()
                for band, key in (("nir", "B8"), ("swir22", "B12"), ("red", "B4")):
                    if key in pnames:
                        arrays[f"pre:{band}"] = (
                            ds.read(pnames[key], window=window, boundless=True).astype(np.float32)[
                                : post.shape[1], : post.shape[2]
                            ]
                            * 1e-4
                        )
        dnbr = None
        dnbr_path = root / "dnbr" / post_path.name
        if "pre:nir" in arrays:
            with np.errstate(divide="ignore", invalid="ignore"):
                nbr_pre = (arrays["pre:nir"] - arrays["pre:swir22"]) / (arrays["pre:nir"] + arrays["pre:swir22"])
                nbr_post = (arrays["post:nir"] - arrays["post:swir22"]) / (arrays["post:nir"] + arrays["post:swir22"])
            dnbr = (nbr_pre - nbr_post).astype(np.float32)
        elif dnbr_path.exists():
            with rasterio.open(dnbr_path) as ds:
                dnbr = ds.read(1).astype(np.float32)
        yield Scene(name=event, arrays=arrays, truth=truth, valid=valid, transform=transform, crs=crs,
                    synthetic=False, dnbr=dnbr)  # fmt: skip
