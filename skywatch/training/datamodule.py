"""TorchGeo plumbing: scenes written as feature stacks, read back by ``RasterDataset`` subclasses, intersected,
sampled by TorchGeo's geo samplers inside a ``GeoDataModule``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from torchgeo.datamodules import GeoDataModule
from torchgeo.datasets import IntersectionDataset, RasterDataset

from skywatch.detect.models import compute_features
from skywatch.training.scenes import Scene

__all__ = ["IGNORE", "StackDataModule", "StackDataset", "write_stacks"]

IGNORE = 255  # mask value for pixels that take no part in the loss (clouds, nodata)


def write_stacks(scenes: Iterable[Scene], features: list[str], folder: Path) -> list[str]:
    """Write each scene's model features (``image_<name>.tif``) and labels (``mask_<name>.tif``) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for scene in scenes:
        feats = compute_features(features, scene.arrays)
        valid = scene.valid & np.isfinite(feats).all(axis=0)
        feats = np.nan_to_num(feats, nan=0.0)
        mask = np.where(valid, scene.truth.astype(np.uint8), IGNORE).astype(np.uint8)
        profile = {"driver": "GTiff", "height": mask.shape[0], "width": mask.shape[1], "crs": scene.crs,
                   "transform": scene.transform, "tiled": True, "blockxsize": 256, "blockysize": 256}  # fmt: skip
        with rasterio.open(folder / f"image_{scene.name}.tif", "w", count=len(features), dtype="float32",
                           **profile) as dst:  # fmt: skip
            dst.write(feats)
            for i, f in enumerate(features, start=1):
                dst.set_band_description(i, f)
            if scene.synthetic:
                dst.update_tags(SKYWATCH_SYNTHETIC="true")
        with rasterio.open(folder / f"mask_{scene.name}.tif", "w", count=1, dtype="uint8", **profile) as dst:
            dst.write(mask, 1)
        names.append(scene.name)
    return names


class _Images(RasterDataset):
    filename_glob = "image_*.tif"
    is_image = True


class _Masks(RasterDataset):
    filename_glob = "mask_*.tif"
    is_image = False


class StackDataset(IntersectionDataset):
    """Feature stacks and their masks under ``root/split``."""

    def __init__(self, root: Path, split: str = "train") -> None:
        super().__init__(_Images(paths=str(Path(root) / split)), _Masks(paths=str(Path(root) / split)))


class StackDataModule(GeoDataModule):
    """Random patches for training, a grid of patches for validation (TorchGeo samplers)."""

    mean = torch.tensor(0.0)
    std = torch.tensor(1.0)  # features are reflectance and indices already

    def __init__(self, root: Path, *, batch_size: int, patch_size: int, length: int, **kwargs: Any) -> None:
        super().__init__(StackDataset, batch_size=batch_size, patch_size=patch_size, length=length, num_workers=0,
                         root=root, **kwargs)  # fmt: skip
