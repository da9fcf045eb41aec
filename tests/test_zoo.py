"""Weights zoo: safetensors export with SHA-256 + sidecar, strict loading, from_pretrained."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from expokit.errors import InputError, MissingResourceError
from expokit.models import zoo
from expokit.models.zoo import Pretrained, export_weights, list_pretrained, load_weights

torch.set_num_threads(1)


class Tiny(nn.Module, Pretrained):
    PRETRAINED: ClassVar[dict[str, str]] = {"tiny": "tiny_v1", "tiny-b": "tiny_b"}

    def __init__(self, *, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.norm = nn.BatchNorm2d(width)  # buffers are weights too
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.conv(x))))


@dataclass(frozen=True)
class TrainCfg:
    steps: int = 10
    lr: float = 0.001


def trained_tiny(width: int = 4) -> Tiny:
    torch.manual_seed(0)
    net = Tiny(width=width)
    net.train()
    net(torch.rand(2, 1, 8, 8))  # move BatchNorm's running statistics off their defaults
    return net


def test_round_trip_and_sidecar(tmp_path):
    net = trained_tiny(width=5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    sha = export_weights(
        net,
        tmp_path / "out" / "tiny",
        name="tiny",
        architecture={"width": 5},
        config=TrainCfg(),
        data={"summary": "synthetic squares", "n": 3},
        scores={"mef_ssim": 0.93, "bad": float("nan")},
    )
    weights = tmp_path / "out" / "tiny.safetensors"
    # Independent check of the digest with hashlib on the bytes.
    assert sha == hashlib.sha256(weights.read_bytes()).hexdigest()
    record = json.loads((tmp_path / "out" / "tiny.json").read_text())
    assert record["sha256"] == sha and record["file"] == "tiny.safetensors"
    assert record["architecture"] == {"width": 5}
    assert record["config"] == {"steps": 10, "lr": 0.001}
    assert record["data"] == {"summary": "synthetic squares", "n": 3}
    assert record["scores"] == {"mef_ssim": 0.93, "bad": None}
    assert record["torch"] == torch.__version__ and record["created"].endswith("+00:00")
    with safe_open(weights, framework="pt") as fh:
        assert json.loads(fh.metadata()["expokit"])["architecture"] == {"width": 5}
        assert set(fh.keys()) == set(before)
    again = export_weights(net, tmp_path / "again" / "tiny", name="tiny",
                           architecture={"width": 5})
    assert again == sha  # same tensors and record: same bytes, same digest
    for key, value in net.state_dict().items():  # export leaves the model as it was
        assert torch.equal(value, before[key])

    loaded = Tiny.from_pretrained(path=weights)
    assert not loaded.training and loaded.conv.out_channels == 5
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, before[key]), key
    x = torch.rand(1, 1, 6, 6)
    net.eval()
    assert torch.equal(loaded(x), net(x))
    # The stem and the .json work as path too.
    assert Tiny.from_pretrained(path=tmp_path / "out" / "tiny").conv.out_channels == 5
    assert Tiny.from_pretrained(path=str(tmp_path / "out" / "tiny.json")).conv.out_channels == 5


def export_tiny(tmp_path, width: int = 4):
    export_weights(trained_tiny(width), tmp_path / "w", name="tiny", architecture={"width": width})
    return tmp_path / "w.safetensors"


def test_missing_key(tmp_path):
    path = tmp_path / "m.safetensors"
    state = {k: v for k, v in trained_tiny().state_dict().items() if k != "head.bias"}
    save_file(state, path)
    with pytest.raises(
        InputError, match=r"m\.safetensors does not fit Tiny \(missing keys: head\.bias\)"
    ):
        load_weights(Tiny(), path)


def test_extra_key(tmp_path):
    path = tmp_path / "e.safetensors"
    state = dict(trained_tiny().state_dict())
    state["extra.weight"] = torch.zeros(2)
    save_file(state, path)
    with pytest.raises(InputError, match=r"unexpected keys: extra\.weight\)"):
        load_weights(Tiny(), path)


def test_wrong_shape(tmp_path):
    path = export_tiny(tmp_path, width=6)
    with pytest.raises(
        InputError, match=r"wrong shapes: conv\.weight \(6, 1, 3, 3\) \(expected \(4, 1, 3, 3\)\)"
    ):
        load_weights(Tiny(width=4), path)


def test_corrupted_byte_is_sha_mismatch(tmp_path):
    path = export_tiny(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # flip one bit of the last tensor's data: still a valid safetensors file
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"w\.safetensors has SHA-256 .* corrupt"):
        Tiny.from_pretrained(path=path)
    load_weights(Tiny(), path)  # without a digest the (damaged) file still loads


def test_not_safetensors(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    torch.save({"conv.weight": torch.zeros(4, 1, 3, 3)}, path)
    with pytest.raises(InputError, match=r"ckpt\.safetensors is not a readable safetensors file"):
        load_weights(Tiny(), path)


def test_from_pretrained_names_and_absent_files(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(InputError, match="unknown weights name 'nope'.*shipped: tiny, tiny-b"):
        Tiny.from_pretrained("nope")
    with pytest.raises(MissingResourceError, match="installed without its model weights"):
        Tiny.from_pretrained()
    with pytest.raises(InputError, match="either name .* or path"):
        Tiny.from_pretrained("tiny", path=tmp_path / "x")
    with pytest.raises(MissingResourceError, match="does not exist"):
        Tiny.from_pretrained(path=tmp_path / "x.safetensors")
    export_weights(trained_tiny(3), tmp_path / "tiny_v1", name="tiny", architecture={"width": 3},
                   data="synthetic", scores={"psnr": 30})  # fmt: skip
    net = Tiny.from_pretrained()  # the first name is the default
    assert net.conv.out_channels == 3
    rows = list_pretrained()
    assert [(r["name"], r["file"], r["present"], r["scores"]) for r in rows] == [
        ("tiny", "tiny_v1.safetensors", True, {"psnr": 30.0})
    ]
    (tmp_path / "tiny_v1.json").unlink()
    with pytest.raises(MissingResourceError, match=r"tiny_v1\.json is absent"):
        Tiny.from_pretrained("tiny")


def test_architecture_mismatch(tmp_path):
    export_weights(trained_tiny(), tmp_path / "a", name="x", architecture={"depth": 3})
    with pytest.raises(InputError, match="does not accept.*belong to another model"):
        Tiny.from_pretrained(path=tmp_path / "a.safetensors")
    with pytest.raises(InputError, match="architecture cannot be written"):
        export_weights(Tiny(), tmp_path / "b", name="x", architecture={"f": object()})
