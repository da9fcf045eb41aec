"""Tests of expokit.metrics.learned: MUSIQ and DBCNN with user-supplied checkpoints.

No published checkpoint is available to the tests (expokit never downloads weights), so the
networks are checked through facts that do not need trained weights:

* parameter counts computed here by hand from the published layer sizes (VGG-16's conv part has
  14,714,688 parameters; MUSIQ's Transformer from hidden 384, MLP 1152, 14 layers);
* the parameter names and shapes of pyiqa's released checkpoints (``musiq_arch.py`` and
  ``dbcnn_arch.py`` of IQA-PyTorch: the layout its ``musiq_koniq_ckpt-*.pth`` and
  ``DBCNN_KonIQ10k-*.pth`` files have, read from that project's source);
* hand-computable scores: a head with zero weights returns its bias (AVA: a uniform 10-bin
  distribution has mean 5.5);
* the hash-based spatial positions against PyTorch's own "nearest" interpolation and by hand,
  the number of multi-scale patches for a given size by hand;
* DBCNN's bilinear pooling against a NumPy float64 re-computation from the branch outputs.

Randomly initialised state dicts saved in pyiqa's key layout (``.pth`` and ``.safetensors``)
exercise loading, unwrapping, strictness and caching.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from expokit.errors import InputError, MissingResourceError  # noqa: E402
from expokit.metrics import METRICS, dbcnn, learned, musiq, score  # noqa: E402
from expokit.metrics._dbcnn_net import DBCNN  # noqa: E402
from expokit.metrics._musiq_net import (  # noqa: E402
    MUSIQ,
    MusiqConfig,
    hashed_positions,
    multiscale_patches,
    nearest_grid_index,
)

torch.set_num_threads(1)


def _randomized(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """A random state dict of ``model`` (every float tensor drawn anew)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in model.state_dict().items():
        if not v.dtype.is_floating_point:
            out[k] = v.clone()
        elif k.endswith("running_var"):
            out[k] = torch.rand(v.shape, generator=g) + 0.5
        elif v.ndim <= 1:
            out[k] = torch.randn(v.shape, generator=g) * 0.1 + (1.0 if k.endswith("weight") else 0)
        else:
            out[k] = torch.randn(v.shape, generator=g) * 0.05
    return out


@pytest.fixture(scope="module")
def musiq_state() -> dict[str, torch.Tensor]:
    return _randomized(MUSIQ(), 1)


@pytest.fixture(scope="module")
def dbcnn_state() -> dict[str, torch.Tensor]:
    return _randomized(DBCNN(), 2)


@pytest.fixture(scope="module")
def musiq_file(tmp_path_factory, musiq_state):
    path = tmp_path_factory.mktemp("musiq") / "musiq_random.pth"
    torch.save(musiq_state, path)
    return path


@pytest.fixture(scope="module")
def dbcnn_file(tmp_path_factory, dbcnn_state):
    path = tmp_path_factory.mktemp("dbcnn") / "dbcnn_random.pth"
    torch.save({"params": dbcnn_state}, path)  # pyiqa's DBCNN files nest under "params"
    return path


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --- architecture facts --------------------------------------------------------------------


def _conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def _linear(cin: int, cout: int) -> int:
    return cin * cout + cout


def test_vgg16_conv_part_has_the_published_parameter_count():
    # VGG-16 (configuration D): 13 3x3 convolutions.
    chans = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    vgg = sum(_conv(a, b, 3) for a, b in zip(chans[:-1], chans[1:], strict=True))
    assert vgg == 14_714_688
    model = DBCNN()
    assert sum(p.numel() for p in model.features1.parameters()) == vgg


def test_dbcnn_parameter_count():
    scnn_chans = [3, 48, 48, 64, 64, 64, 64, 128, 128, 128]
    scnn = sum(_conv(a, b, 3) + 2 * b for a, b in zip(scnn_chans[:-1], scnn_chans[1:], strict=True))
    expected = 14_714_688 + scnn + _linear(512 * 128, 1)
    assert expected == 15_311_345
    assert sum(p.numel() for p in DBCNN().parameters()) == expected


def test_musiq_parameter_count():
    d, mlp, layers, grid, scales = 384, 1152, 14, 10, 3
    block = 2 * 2 * d + 4 * _linear(d, d) + _linear(d, mlp) + _linear(mlp, d)
    encoder = layers * block + 2 * d + d + grid * grid * d + scales * d  # + final LN, CLS, embs
    assert layers * block == 20_708_352
    stem = _conv(3, 64, 7, bias=False) + 2 * 64
    bottleneck = (
        _conv(64, 64, 1, False) + _conv(64, 64, 3, False) + _conv(64, 256, 1, False)
        + _conv(64, 256, 1, False) + 2 * (64 + 64 + 256 + 256)
    )  # fmt: skip
    embedding = _linear(256 * 8 * 8, d)  # 256 channels on the 8 x 8 map of a 32 x 32 patch
    expected = stem + bottleneck + embedding + encoder + _linear(d, 1)
    model = MUSIQ()
    assert sum(p.numel() for p in model.transformer_encoder.transformer.parameters()) == 20_708_352
    assert sum(p.numel() for p in model.parameters()) == expected == 27_125_825
    ava = MUSIQ(MusiqConfig(num_classes=10))
    assert sum(p.numel() for p in ava.parameters()) == expected - _linear(d, 1) + _linear(d, 10)


def test_vgg_branch_is_vgg16_layer_sequence():
    model = DBCNN()
    expected = []
    cin = 3
    for item in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]:
        if item == "M":
            expected.append(("pool",))
        else:
            expected += [("conv", cin, item), ("relu",)]
            cin = item
    assert len(expected) == 30  # torchvision's vgg16().features[:30]
    got = []
    for m in model.features1:
        if isinstance(m, nn.Conv2d):
            assert m.kernel_size == (3, 3) and m.padding == (1, 1) and m.stride == (1, 1)
            assert m.bias is not None
            got.append(("conv", m.in_channels, m.out_channels))
        elif isinstance(m, nn.ReLU):
            got.append(("relu",))
        elif isinstance(m, nn.MaxPool2d):
            assert m.kernel_size == 2 and m.stride == 2
            got.append(("pool",))
        else:
            got.append((type(m).__name__,))
    assert got == expected


def test_scnn_branch_layout():
    convs = [m for m in DBCNN().features2 if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (3, 48, 1), (48, 48, 2), (48, 64, 1), (64, 64, 2), (64, 64, 1), (64, 64, 2),
        (64, 128, 1), (128, 128, 1), (128, 128, 2),
    ]  # fmt: skip
    kinds = [type(m).__name__ for m in DBCNN().features2]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU"] * 9


def test_state_dicts_have_pyiqa_key_layout():
    m = MUSIQ().state_dict()
    expected = {
        "conv_root.weight": (64, 3, 7, 7),
        "gn_root.bias": (64,),
        "block1.conv2.weight": (64, 64, 3, 3),
        "block1.conv_proj.weight": (256, 64, 1, 1),
        "block1.gn_proj.weight": (256,),
        "embedding.weight": (384, 16384),
        "transformer_encoder.posembed_input.position_emb": (1, 100, 384),
        "transformer_encoder.scaleembed_input.scale_emb": (3, 384),
        "transformer_encoder.cls": (1, 1, 384),
        "transformer_encoder.encoder_norm.weight": (384,),
        "transformer_encoder.transformer.encoderblock_13.attention.query.weight": (384, 384),
        "transformer_encoder.transformer.encoderblock_0.attention.out.bias": (384,),
        "transformer_encoder.transformer.encoderblock_7.mlp.fc1.weight": (1152, 384),
        "transformer_encoder.transformer.encoderblock_7.norm2.bias": (384,),
        "head.weight": (1, 384),
    }
    for k, shape in expected.items():
        assert tuple(m[k].shape) == shape, k
    # stem 3, block1 4 convs + 4 GN x 2, embedding 2, encoder embeddings/CLS/norm 5, 16 per
    # layer, head 2
    assert len(m) == 3 + 12 + 2 + 5 + 14 * 16 + 2
    assert "head.0.weight" in MUSIQ(MusiqConfig(num_classes=10)).state_dict()
    d = DBCNN().state_dict()
    for k, shape in {
        "features1.0.weight": (64, 3, 3, 3),
        "features1.28.weight": (512, 512, 3, 3),
        "features2.0.weight": (48, 3, 3, 3),
        "features2.25.running_var": (128,),
        "features2.24.weight": (128, 128, 3, 3),
        "fc.weight": (1, 65536),
        "fc.bias": (1,),
    }.items():
        assert tuple(d[k].shape) == shape, k
    assert len(d) == 13 * 2 + 9 * 2 + 9 * 5 + 2  # VGG convs, S-CNN convs, S-CNN BN, fc


# --- MUSIQ input ---------------------------------------------------------------------------


def test_nearest_grid_index_by_hand():
    assert nearest_grid_index(10, 5).tolist() == [0, 2, 4, 6, 8]  # floor(2 i)
    assert nearest_grid_index(10, 7).tolist() == [0, 1, 2, 4, 5, 7, 8]  # floor(10 i / 7)
    assert nearest_grid_index(10, 12).tolist() == [0, 0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]
    assert nearest_grid_index(10, 20).tolist() == [i // 2 for i in range(20)]
    assert nearest_grid_index(10, 10).tolist() == list(range(10))
    assert nearest_grid_index(10, 1).tolist() == [0]


def test_nearest_grid_index_matches_torch_interpolate():
    grid = torch.arange(10, dtype=torch.float32).reshape(1, 1, 10)
    for count in range(1, 61):
        ref = F.interpolate(grid, size=count, mode="nearest")[0, 0].long().tolist()
        assert nearest_grid_index(10, count).tolist() == ref, count


def test_hashed_positions_by_hand():
    # 2 x 3 patch grid on the 10 x 10 table: rows -> cells 0, 5; columns -> 0, 3, 6.
    assert hashed_positions(10, 2, 3).tolist() == [0, 3, 6, 50, 53, 56]
    pos = hashed_positions(10, 10, 10)
    assert pos.tolist() == list(range(100))
    pos = hashed_positions(10, 20, 20).reshape(20, 20)
    assert pos[19, 19] == 99 and pos[1, 1] == 0 and pos[2, 3] == 11


def test_multiscale_patch_count_by_hand():
    # 100 x 150: 224 scale -> 149 x 224 (ceil: 5 x 7 = 35 patches); 384 scale -> 256 x 384
    # (8 x 12 = 96); the image itself -> ceil(100/32) x ceil(150/32) = 4 x 5 = 20.
    x = torch.zeros(3, 100, 150)
    patches, spatial, scales = multiscale_patches(x)
    assert patches.shape == (35 + 96 + 20, 3, 32, 32)
    assert spatial.shape == scales.shape == (151,)
    assert torch.bincount(scales).tolist() == [35, 96, 20]
    assert spatial[:35].tolist() == hashed_positions(10, 5, 7).tolist()
    assert spatial[-20:].tolist() == hashed_positions(10, 4, 5).tolist()


def test_multiscale_patches_are_tiles_of_the_image():
    x = torch.rand(3, 64, 96) * 2 - 1
    patches, _, scales = multiscale_patches(x)
    native = patches[scales == 2]
    assert native.shape[0] == 6
    for i in range(2):
        for j in range(3):
            tile = x[:, 32 * i : 32 * i + 32, 32 * j : 32 * j + 32]
            assert torch.equal(native[3 * i + j], tile)
    # SAME padding: a 40 x 40 image is padded by 12 zero rows/columns at each side.
    y = torch.ones(3, 40, 40)
    p, _, s = multiscale_patches(y)
    first = p[s == 2][0]
    assert first[:, :12].abs().sum() == 0 and first[:, :, :12].abs().sum() == 0
    assert torch.all(first[:, 12:, 12:] == 1)


# --- MUSIQ scores --------------------------------------------------------------------------


def test_musiq_scores_a_random_checkpoint(musiq_file, musiq_state, tmp_path):
    from safetensors.torch import save_file

    img = _image(48, 72)
    before = img.copy()
    value = musiq(img, checkpoint=musiq_file)
    assert isinstance(value, float) and math.isfinite(value)
    assert np.array_equal(img, before)
    hits = learned._cached_model.cache_info().hits
    assert musiq(img, checkpoint=str(musiq_file)) == value  # deterministic, cached
    assert learned._cached_model.cache_info().hits == hits + 1
    assert learned.load_model("musiq", musiq_file) is learned.load_model("musiq", musiq_file)
    st = tmp_path / "musiq_random.safetensors"
    save_file(musiq_state, str(st))
    assert musiq(img, checkpoint=st) == pytest.approx(value, abs=1e-6)
    # The same picture as uint16 codes, as floats in [0, 1] and with another data_range.
    img16 = img.astype(np.uint16) * 257
    assert musiq(img16, checkpoint=musiq_file) == pytest.approx(value, abs=1e-6)
    f = img / 255.0
    assert musiq(f, checkpoint=musiq_file, data_range=1.0) == pytest.approx(value, abs=1e-6)
    assert musiq(img.astype(np.float32), checkpoint=musiq_file, data_range=255) == pytest.approx(
        value, abs=1e-6
    )
    # Another image gives another score (the weights are used).
    assert abs(musiq(_image(48, 72, seed=1), checkpoint=musiq_file) - value) > 1e-6


def test_musiq_head_bias_is_the_score(musiq_state, tmp_path):
    state = dict(musiq_state)
    state["head.weight"] = torch.zeros(1, 384)
    state["head.bias"] = torch.tensor([42.5])
    path = tmp_path / "bias.pth"
    torch.save(state, path)
    assert musiq(_image(40, 40), checkpoint=path) == 42.5


def test_musiq_ava_distribution_head(musiq_state, tmp_path):
    state = {k: v for k, v in musiq_state.items() if not k.startswith("head.")}
    state["head.0.weight"] = torch.zeros(10, 384)
    state["head.0.bias"] = torch.zeros(10)
    path = tmp_path / "ava_uniform.pth"
    torch.save(state, path)
    assert musiq(_image(40, 40), checkpoint=path) == pytest.approx(5.5, abs=1e-6)  # mean of 1..10
    state["head.0.weight"] = torch.randn(10, 384, generator=torch.Generator().manual_seed(3))
    torch.save(state, path)
    learned._cached_model.cache_clear()
    value = musiq(_image(40, 40), checkpoint=path)
    assert 1.0 <= value <= 10.0 and value != pytest.approx(5.5, abs=1e-3)


def test_musiq_grey_equals_repeated_rgb(musiq_file):
    grey = _image(40, 56)[..., 0]
    assert musiq(grey, checkpoint=musiq_file) == musiq(
        np.repeat(grey[..., None], 3, axis=2), checkpoint=musiq_file
    )


# --- DBCNN ---------------------------------------------------------------------------------


def test_dbcnn_scores_a_random_checkpoint(dbcnn_file, dbcnn_state):
    img = _image(50, 70)
    value = dbcnn(img, checkpoint=dbcnn_file)
    assert isinstance(value, float) and math.isfinite(value)
    assert dbcnn(img, checkpoint=dbcnn_file) == value
    # Independent float64 re-computation of the bilinear pooling from the two branch outputs.
    model = learned.load_model("dbcnn", dbcnn_file)
    x = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / 255)[None]
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    with torch.no_grad():
        a = model.features1(x)[0].double().numpy()  # 512 x 3 x 4 (50/16, 70/16 floored)
        s = model.features2(x)
        assert tuple(s.shape[-2:]) == (4, 5)  # S-CNN: ceil(50/16) x ceil(70/16)
        s = F.interpolate(s, size=a.shape[1:], mode="bilinear", align_corners=True)[0]
    s = s.double().numpy()
    assert a.shape == (512, 3, 4)
    b = np.einsum("ihw,jhw->ij", a, s) / 12.0
    feat = np.sqrt(b.reshape(-1) + 1e-8)
    feat /= np.linalg.norm(feat)
    ref = float(dbcnn_state["fc.weight"].double().numpy()[0] @ feat + float(dbcnn_state["fc.bias"]))
    assert value == pytest.approx(ref, abs=1e-5)


def test_dbcnn_fc_bias_is_the_score(dbcnn_state, tmp_path):
    state = dict(dbcnn_state)
    state["fc.weight"] = torch.zeros(1, 65536)
    state["fc.bias"] = torch.tensor([0.625])
    path = tmp_path / "dbcnn_bias.safetensors"
    from safetensors.torch import save_file

    save_file(state, str(path))
    assert dbcnn(_image(32, 32), checkpoint=path) == 0.625


# --- checkpoint loading --------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: {"params": s},
        lambda s: {"params_ema": s},
        lambda s: {"state_dict": {"module." + k: v for k, v in s.items()}},
        lambda s: {"model": {"net." + k: v for k, v in s.items()}, "epoch": 3},
        lambda s: {"module." + k: v for k, v in s.items()},
    ],
    ids=["params", "params_ema", "state_dict+module", "model+net", "module"],
)
def test_containers_and_prefixes_unwrap(dbcnn_state, tmp_path, wrap):
    plain = tmp_path / "plain.pth"
    torch.save(dbcnn_state, plain)
    wrapped = tmp_path / "wrapped.pth"
    torch.save(wrap(dbcnn_state), wrapped)
    loaded = learned.load_checkpoint(wrapped)
    assert set(loaded) == set(dbcnn_state)
    img = _image(32, 48)
    assert dbcnn(img, checkpoint=wrapped) == dbcnn(img, checkpoint=plain)


def test_old_checkpoint_without_num_batches_tracked_loads(dbcnn_state, tmp_path):
    state = {k: v for k, v in dbcnn_state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "old.pth"
    torch.save(state, path)
    assert math.isfinite(dbcnn(_image(32, 32), checkpoint=path))


def test_missing_key_is_named(dbcnn_state, tmp_path):
    state = dict(dbcnn_state)
    del state["features2.4.running_mean"]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(InputError, match=r"missing.pth.*missing keys: features2\.4\.running_mean"):
        dbcnn(_image(32, 32), checkpoint=path)


def test_renamed_key_is_named(musiq_state, tmp_path):
    state = dict(musiq_state)
    state["transformer_encoder.pos_emb"] = state.pop(
        "transformer_encoder.posembed_input.position_emb"
    )
    path = tmp_path / "renamed.pth"
    torch.save(state, path)
    with pytest.raises(InputError) as err:
        musiq(_image(32, 32), checkpoint=path)
    msg = str(err.value)
    assert "renamed.pth" in msg and "musiq_koniq_ckpt" in msg
    assert "missing keys: transformer_encoder.posembed_input.position_emb" in msg
    assert "unexpected keys: transformer_encoder.pos_emb" in msg


def test_wrong_shape_is_named(dbcnn_state, tmp_path):
    state = dict(dbcnn_state)
    state["fc.weight"] = torch.zeros(1, 512 * 64)
    path = tmp_path / "shape.pth"
    torch.save(state, path)
    msg = r"wrong shapes: fc\.weight \(1, 32768\) \(expected \(1, 65536\)\)"
    with pytest.raises(InputError, match=msg):
        dbcnn(_image(32, 32), checkpoint=path)


def test_checkpoint_of_the_other_network_is_refused(dbcnn_file):
    with pytest.raises(InputError, match="does not fit MUSIQ"):
        musiq(_image(32, 32), checkpoint=dbcnn_file)


def test_unreadable_and_non_dict_files(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth is not a readable"):
        dbcnn(_image(32, 32), checkpoint=junk)
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(InputError, match="holds a Tensor"):
        dbcnn(_image(32, 32), checkpoint=tensor)


def test_missing_file_raises_missing_resource(tmp_path):
    path = tmp_path / "musiq_koniq_ckpt-e95806b9.pth"
    with pytest.raises(MissingResourceError) as err:
        musiq(_image(32, 32), checkpoint=path)
    msg = str(err.value)
    assert str(path) in msg and "does not exist" in msg
    assert "EXPOKIT_MUSIQ_CHECKPOINT" in msg and "checkpoint=PATH" in msg
    with pytest.raises(MissingResourceError, match=r"DBCNN_KonIQ10k-2de81c0a\.pth"):
        dbcnn(_image(32, 32), checkpoint=tmp_path)  # a folder


def test_environment_variable_default(monkeypatch, dbcnn_file):
    monkeypatch.delenv("EXPOKIT_DBCNN_CHECKPOINT", raising=False)
    with pytest.raises(MissingResourceError, match="none was given.*EXPOKIT_DBCNN_CHECKPOINT"):
        dbcnn(_image(32, 32))
    monkeypatch.setenv("EXPOKIT_DBCNN_CHECKPOINT", str(dbcnn_file))
    img = _image(32, 32)
    assert dbcnn(img) == dbcnn(img, checkpoint=dbcnn_file)
    monkeypatch.setenv("EXPOKIT_DBCNN_CHECKPOINT", str(dbcnn_file) + ".gone")
    with pytest.raises(MissingResourceError, match=r"from \$EXPOKIT_DBCNN_CHECKPOINT"):
        dbcnn(img)


# --- inputs, table and score() -------------------------------------------------------------


def test_bad_inputs(dbcnn_file):
    with pytest.raises(InputError, match="at least 32 pixels"):
        dbcnn(_image(31, 64), checkpoint=dbcnn_file)
    with pytest.raises(InputError, match="data_range is required"):
        dbcnn(np.zeros((32, 32, 3)), checkpoint=dbcnn_file)
    with pytest.raises(InputError, match="device"):
        dbcnn(_image(32, 32), checkpoint=dbcnn_file, device="no-such-device")
    with pytest.raises(InputError, match="checkpoint must be a file path"):
        dbcnn(_image(32, 32), checkpoint=3)  # type: ignore[arg-type]


def test_table_entries():
    for name, lo, hi in (("musiq", 0.0, 100.0), ("dbcnn", 0.0, 1.0)):
        info = METRICS[name]
        assert info.kind == "blind" and info.higher_is_better and info.needs_checkpoint
        assert info.range == (lo, hi)
        assert info.checkpoint_env == f"EXPOKIT_{name.upper()}_CHECKPOINT"
    assert not METRICS["brisque"].needs_checkpoint and not METRICS["psnr"].needs_checkpoint


def test_score_needs_a_checkpoint(monkeypatch, dbcnn_file):
    monkeypatch.delenv("EXPOKIT_DBCNN_CHECKPOINT", raising=False)
    img = _image(32, 40)
    # Refused before anything is computed (the image path does not even exist).
    with pytest.raises(MissingResourceError, match="dbcnn needs a checkpoint"):
        score("no/such/image.png", metrics=["psnr", "dbcnn"], reference=img)
    out = score(img, metrics=["dbcnn"], options={"dbcnn": {"checkpoint": dbcnn_file}})
    assert out == {"dbcnn": dbcnn(img, checkpoint=dbcnn_file)}
