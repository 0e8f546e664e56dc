"""The weights registry: shipped segmentation models, pinned by sha256, with their inputs declared.

Each model is ``models/<name>.safetensors`` (weights, loaded without code execution) beside ``models/<name>.json``
(metadata: task, version, inputs, features, architecture, sha256, metrics) and ``models/<name>.md`` (model card).
Inputs are named ``date:band`` (``post:nir``, ``pre:swir16``); a caller that cannot supply them gets a clear
error, never garbage output. Features are computed from the inputs in a fixed, declared order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skywatch.errors import SkywatchError

__all__ = ["ModelError", "ModelSpec", "SegModel", "compute_features", "get_model", "list_models", "models_dir"]


class ModelError(SkywatchError, ValueError):
    """A model is missing, altered (sha256 mismatch) or fed the wrong bands."""


def models_dir() -> Path:
    """The repository's ``models/`` folder (or the copy inside an installed wheel)."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "_data" / "models", here.parent / "models"):
        if candidate.is_dir():
            return candidate
    raise ModelError(f"models folder not found next to {here}; reinstall skywatch")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Metadata of one shipped model (``models/<name>.json``)."""

    name: str
    task: str
    version: str
    inputs: list[str]
    features: list[str]
    architecture: dict[str, Any]
    classes: list[str]
    threshold: float
    sha256: str
    file: str
    halo: int
    metrics: dict[str, Any] = field(default_factory=dict)
    trained_on: str = ""
    synthetic_training_data: bool = False

    @property
    def bands(self) -> list[str]:
        """The input bands without their dates (what a provider must deliver)."""
        return sorted({i.split(":", 1)[1] for i in self.inputs})

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``skywatch models list --json``."""
        return {
            "name": self.name, "task": self.task, "version": self.version, "sha256": self.sha256,
            "bands": self.bands, "inputs": self.inputs, "path": str(models_dir() / self.file), "metrics": self.metrics,
        }  # fmt: skip


def _read_spec(path: Path) -> ModelSpec:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return ModelSpec(**doc)
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise ModelError(f"model metadata {str(path)!r} is unreadable: {exc}") from None


def list_models(root: Path | None = None) -> list[ModelSpec]:
    """Every shipped model (in ``root``, default :func:`models_dir`), by name."""
    folder = root or models_dir()
    return [_read_spec(p) for p in sorted(folder.glob("*.json")) if not p.name.endswith(".cv.json")]


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compute_features(spec_features: list[str], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Stack the model's features from ``date:band`` arrays; ``nbr(post)``-style features are indices.

    Supported features: ``date:band`` (reflectance as given), ``ndvi(date)``, ``nbr(date)``, ``ndmi(date)``.

    Raises:
        ModelError: an input the features need is missing.
    """
    out = []
    for feat in spec_features:
        if "(" in feat:
            kind, date = feat[:-1].split("(")
            a, b = {"ndvi": ("nir", "red"), "nbr": ("nir", "swir22"), "ndmi": ("nir", "swir16")}[kind]
            x, y = _need(arrays, f"{date}:{a}"), _need(arrays, f"{date}:{b}")
            with np.errstate(divide="ignore", invalid="ignore"):
                out.append(np.where(x + y == 0, 0.0, (x - y) / (x + y)))
        else:
            out.append(_need(arrays, feat))
    return np.stack(out).astype(np.float32)


def _need(arrays: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    if key not in arrays:
        raise ModelError(f"the model needs input {key!r}; got {sorted(arrays)}")
    return np.asarray(arrays[key], dtype=np.float32)


# Rows per pass through the network. The shipped FCNs keep full-resolution feature maps of 8 filters; over a whole
# 1152 px tile (1024 + halo) one pass took 0.272 s and 182 MiB more peak RSS, in strips of 256 rows + halo 0.155 s
# (cache-sized maps; clearcut-fcn, one thread, this repository's 2-core Xeon; `benchmarks/inference.py --strips`
# compares strip sizes that way, features precomputed). With the features computed per strip too
# (SegModel.predict, random 1152 px inputs, numpy peak by tracemalloc), 256/128/96 rows took 0.232/0.229/0.220 s
# with a numpy peak of 47/27/22 MiB: 96 rows keep the speed at under half the memory of 256 (12 % halo overhead,
# paid for by the smaller maps staying in cache).
STRIP_ROWS = 96


class SegModel:
    """A loaded model: features in, class-1 probability out (NaN where any input is NaN)."""

    def __init__(self, spec: ModelSpec, module: Any = None, *, weights: Path | None = None) -> None:
        """``module`` (a built torch module), or ``weights`` (a checked safetensors file) to build it from on first
        use: planning a job reads the spec only and never imports torch."""
        if module is None and weights is None:
            raise ModelError(f"model {spec.name!r}: give its module or its weights file")
        self.spec = spec
        self._module = module
        self._weights = weights
        self._ready = False

    @property
    def module(self) -> Any:
        """The torch module in inference mode, built from the weights on first use."""
        if not self._ready:
            import torch

            if self._module is None:
                from safetensors.torch import load_file

                assert self._weights is not None
                module = build_module(self.spec.architecture, len(self.spec.features), len(self.spec.classes))
                module.load_state_dict(load_file(str(self._weights)))
                self._module = module.eval()
            # NHWC ("channels_last") is oneDNN's fast layout for convolutions with few channels: the shipped FCNs
            # (8 filters) run about 1.5x faster on CPU than in the default NCHW layout, with the same fp32
            # arithmetic (measured on a 1152 px tile, one thread; see PyTorch's channels_last tutorial).
            self._module = self._module.to(memory_format=torch.channels_last)
            self._ready = True
        return self._module

    def check_inputs(self, available: list[str]) -> None:
        """Raise :class:`ModelError` unless every declared input is available."""
        missing = [i for i in self.spec.inputs if i not in available]
        if missing:
            raise ModelError(
                f"model {self.spec.name!r} needs inputs {self.spec.inputs}; missing {missing}. "
                f"Bands it expects: {self.spec.bands}"
            )

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Probability of the detected class for a (features, rows, cols) array."""
        if features.shape[0] != len(self.spec.features):
            raise ModelError(
                f"model {self.spec.name!r} takes {len(self.spec.features)} feature bands "
                f"({self.spec.features}), got {features.shape[0]}"
            )
        return self._predict_strips(lambda a, b: features[:, a:b], features.shape[1], features.shape[2])

    def predict(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """Probability from ``date:band`` arrays (rows, cols); the features are computed strip by strip (they are
        per-pixel), so the whole feature stack never sits in memory."""
        self.check_inputs(list(arrays))
        rows, cols = np.shape(arrays[self.spec.inputs[0]])
        return self._predict_strips(
            lambda a, b: compute_features(self.spec.features, {k: v[a:b] for k, v in arrays.items()}), rows, cols
        )

    def _predict_strips(self, features: Callable[[int, int], np.ndarray], rows: int, cols: int) -> np.ndarray:
        """The network over :data:`STRIP_ROWS` rows at a time plus ``spec.halo`` rows of real context above and
        below (wider than its receptive field): the result equals one pass over the whole array while the working
        memory stays a strip's. ``features(a, b)`` gives rows ``a:b`` of the feature stack; NaN out where any
        feature is not finite."""
        import torch

        module = self.module
        halo = max(0, int(self.spec.halo))
        prob = np.empty((rows, cols), np.float32)
        with torch.inference_mode():
            for r0 in range(0, rows, STRIP_ROWS):
                r1 = min(rows, r0 + STRIP_ROWS)
                a, b = max(0, r0 - halo), min(rows, r1 + halo)
                part = features(a, b)
                finite = np.isfinite(part)
                clean = np.where(finite, part, np.float32(0.0)).astype(np.float32, copy=False)
                x = torch.from_numpy(clean[None]).contiguous(memory_format=torch.channels_last)
                prob[r0:r1] = torch.softmax(module(x), dim=1)[0, 1, r0 - a : r1 - a].numpy()
                prob[r0:r1][~finite[:, r0 - a : r1 - a].all(axis=0)] = np.nan
        return prob


def build_module(architecture: dict[str, Any], n_features: int, n_classes: int) -> Any:
    """The torch module of an architecture description (TorchGeo's FCN, without importing all of torchgeo)."""
    from skywatch.detect.torchgeo_fcn import FCN

    if architecture.get("model") != "fcn":
        raise ModelError(f"unknown architecture {architecture!r}")
    return FCN(in_channels=n_features, classes=n_classes, num_filters=int(architecture["num_filters"]))


def get_model(name: str, root: Path | None = None) -> SegModel:
    """Shipped model ``name`` after checking its sha256; its weights load (via safetensors: no code runs) when it
    first predicts.

    Raises:
        ModelError: unknown name, missing file or checksum mismatch.
    """
    folder = root or models_dir()
    specs = {s.name: s for s in list_models(folder)}
    if name not in specs:
        raise ModelError(f"no model {name!r}; shipped: {sorted(specs)}")
    spec = specs[name]
    path = folder / spec.file
    if not path.is_file():
        raise ModelError(f"weights {str(path)!r} of model {name!r} are missing; reinstall skywatch")
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ModelError(f"weights {str(path)!r} fail their checksum (sha256 {actual[:12]}..., expected "
                         f"{spec.sha256[:12]}...); the file is damaged or was replaced")  # fmt: skip
    return SegModel(spec, weights=path)
