"""expokit.nn.runtime: the one device check, thread-count scope, strict loader and torch guard."""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")

from expokit.errors import InputError, MissingResourceError  # noqa: E402
from expokit.nn.runtime import (  # noqa: E402
    load_state_strict,
    require_torch,
    resolve_device,
    torch_threads,
)


def test_require_torch_names_the_missing_package_and_the_extra(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *args):
        return None if name == "safetensors" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    msg = r'DeepFuse needs safetensors.*"expokit\[torch\]"'
    with pytest.raises(MissingResourceError, match=msg):
        require_torch("DeepFuse")
    require_torch("MUSIQ", safetensors=False)  # torch alone is enough there


def test_every_torch_guard_is_the_runtime_one(monkeypatch):
    """The fusion table's DeepFuse, the lazy UEC import and expokit.nn all refuse a missing
    torch with the same message (no ImportError from deep inside)."""
    import expokit.correct
    import expokit.fusion
    import expokit.nn

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    for call in (lambda: expokit.fusion.fuse_deepfuse([]),
                 lambda: expokit.correct.correct_exposure,
                 lambda: expokit.nn.mef_ssim_loss):
        with pytest.raises(MissingResourceError, match=r"needs torch, which is not installed"):
            call()


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match=r"LoopConfig.device 'gpu' is not a torch device"):
        resolve_device("gpu", what="LoopConfig.device")
    with pytest.raises(InputError, match="not a torch device"):
        resolve_device(3.5)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_torch_threads_restores_the_count_even_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with torch_threads(before + 1, lower_only=True):  # never raised
        assert torch.get_num_threads() == before


def test_load_state_strict_diagnosis():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    good = {k: v.clone() for k, v in net.state_dict().items()}
    # BatchNorm's counter may be absent (old checkpoints); the model's value is kept
    del good["1.num_batches_tracked"]
    good["0.bias"] = torch.tensor([1.0, 2.0])
    assert load_state_strict(net, good, source="ok.pth", hint="-") is net
    assert net[0].bias.tolist() == [1.0, 2.0]

    bad = dict(good)
    del bad["0.weight"]
    bad["extra"] = torch.zeros(1)
    bad["1.weight"] = torch.zeros(3)
    with pytest.raises(InputError) as err:
        load_state_strict(net, bad, source="checkpoint w.pth", hint="export it again")
    assert str(err.value) == (
        "checkpoint w.pth does not fit Sequential (missing keys: 0.weight; unexpected keys: "
        "extra; wrong shapes: 1.weight (3,) (expected (2,))): export it again"
    )
    many = {f"k{i}": torch.zeros(1) for i in range(7)}
    with pytest.raises(InputError, match=r"unexpected keys: k0, k1, k2, k3, k4 and 2 more"):
        load_state_strict(net, {**good, **many}, source="w", hint="-", network="the net")
