"""TorchGeo's ``FCN`` network, taken from the installed torchgeo's own ``torchgeo/models/fcn.py``.

The shipped models are TorchGeo FCNs. ``from torchgeo.models import FCN`` runs the whole ``torchgeo.models``
package first (every backbone: torchvision, timm, segmentation-models-pytorch, kornia): on the pinned torchgeo
0.8.1 that costs each Dask worker 2.2 s and about 300 MiB of RSS before its first tile (measured: ``import torch``
507 MiB ru_maxrss, ``+ from torchgeo.models import FCN`` 810 MiB). ``fcn.py`` itself needs only ``torch.nn``, so
this module executes that one file from the installed package - TorchGeo's code, unchanged and unvendored - and
falls back to the package import if a future torchgeo's ``fcn.py`` ever needs the rest of the package.
:func:`tests.detect.test_torchgeo_fcn` checks the result against ``torchgeo.models.FCN``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["FCN", "fcn_source"]


def fcn_source() -> Path:
    """The installed torchgeo's ``models/fcn.py`` (found without importing torchgeo).

    Raises:
        ImportError: torchgeo is not installed.
    """
    spec = importlib.util.find_spec("torchgeo")  # a top-level name: located, not executed
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchgeo is not installed; reinstall skywatch's pinned dependencies (make venv)")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "fcn.py"


def _load() -> Any:
    try:
        path = fcn_source()
        spec = importlib.util.spec_from_file_location(f"{__name__}._torchgeo_source", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cls = module.FCN
    except (ImportError, OSError, AttributeError):  # a torchgeo whose fcn.py needs more than torch.nn
        import torchgeo.models

        return torchgeo.models.FCN
    cls.__module__ = __name__  # pickled by reference to this module, which any process can import
    return cls


FCN: Any = _load()
