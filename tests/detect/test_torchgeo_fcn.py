"""The FCN taken from torchgeo's own fcn.py is TorchGeo's FCN, and predicting imports no more of torchgeo."""

from __future__ import annotations

import pickle
import subprocess
import sys

import torch

from skywatch.detect import torchgeo_fcn


def test_same_network_as_torchgeo() -> None:
    import torchgeo.models

    TorchGeoFCN = torchgeo.models.FCN  # noqa: N806 - a class
    torch.manual_seed(0)
    theirs = TorchGeoFCN(in_channels=4, classes=2, num_filters=8).eval()
    ours = torchgeo_fcn.FCN(in_channels=4, classes=2, num_filters=8).eval()
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.load_state_dict(theirs.state_dict())
    x = torch.rand(1, 4, 40, 33)
    with torch.inference_mode():
        assert torch.equal(ours(x), theirs(x))
    assert torchgeo_fcn.fcn_source().read_text() == sys.modules[TorchGeoFCN.__module__].__loader__.get_source(
        TorchGeoFCN.__module__)  # fmt: skip
    again = pickle.loads(pickle.dumps(ours))  # by reference to skywatch.detect.torchgeo_fcn
    assert type(again) is torchgeo_fcn.FCN


def test_predicting_imports_neither_torchgeo_models_nor_torchvision() -> None:
    code = (
        "import sys, numpy as np\n"
        "from skywatch.detect.models import get_model\n"
        "m = get_model('clearcut-fcn')\n"
        "p = m.predict_features(np.zeros((len(m.spec.features), 16, 16), np.float32))\n"
        "assert p.shape == (16, 16)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('torchgeo', 'torchvision', 'timm', 'kornia')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
