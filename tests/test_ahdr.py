"""AHDR (expokit.models.ahdr) and its training recipe (expokit.train.ahdr).

Reference values: the parameter count is computed by hand from the layer shapes of Yan et al.
(CVPR 2019) and the authors' AHDRNet code; the input channels and the mu-law are checked against
hand arithmetic and the NumPy metric; the receptive radius against the layer count (a pixel just
outside it cannot change the output, one on its edge does). The recipe runs on a synthetic data
root of a few small .exr radiance maps written here, so it needs no real data.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("skimage")

from expokit.errors import InputError  # noqa: E402
from expokit.io import write_image  # noqa: E402
from expokit.metrics.hdr import mu_law  # noqa: E402
from expokit.models.ahdr import AHDR, ahdr_inputs, mu_law_torch  # noqa: E402
from expokit.train import recipe as rc  # noqa: E402
from expokit.train.ahdr import (  # noqa: E402
    RECIPE,
    TEST_SCENES,
    VAL_SCENES,
    TrainData,
    load_train_config,
    prepare_data,
    render_dynamic,
)

torch.set_num_threads(1)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out  # weights + bias


# --- the network --------------------------------------------------------------------------
def test_paper_parameter_count_by_hand():
    f, g, n_layers, n_blocks = 64, 32, 6, 3  # the paper: 64 features, growth 32, 6 layers, 3 DRDBs
    conv1 = _conv(6, f, 3)  # shared by the three frames
    attention = 2 * (_conv(2 * f, 2 * f, 3) + _conv(2 * f, f, 3))  # low and high frames
    conv2 = _conv(3 * f, f, 3)
    drdb = sum(_conv(f + i * g, g, 3) for i in range(n_layers)) + _conv(f + n_layers * g, f, 1)
    gff = _conv(n_blocks * f, f, 1) + _conv(f, f, 3)
    tail = _conv(f, f, 3) + _conv(f, 3, 3)  # conv_up, conv3
    expected = conv1 + attention + conv2 + n_blocks * drdb + gff + tail
    assert (conv1, attention, conv2, drdb) == (3520, 442752, 110656, 265472)
    assert expected == 1441283  # "about 1.4 M parameters"
    assert _count(AHDR()) == expected
    # the same formula holds for a narrow model (the shipped configs' 16 / 8 / 6 / 3)
    f, g = 16, 8
    narrow = (_conv(6, f, 3) + 2 * (_conv(2 * f, 2 * f, 3) + _conv(2 * f, f, 3))
              + _conv(3 * f, f, 3)
              + 3 * (sum(_conv(f + i * g, g, 3) for i in range(6)) + _conv(f + 6 * g, f, 1))
              + _conv(3 * f, f, 1) + 2 * _conv(f, f, 3) + _conv(f, 3, 3))
    assert narrow == 91331  # the number in configs/ahdr.toml
    assert _count(AHDR(features=16, growth=8, layers=6, blocks=3)) == narrow


def _tiny(seed: int = 0, **kw) -> AHDR:
    torch.manual_seed(seed)
    arch = {"features": 4, "growth": 2, "layers": 2, "blocks": 1, **kw}
    return AHDR(**arch).eval()


def test_output_shape_range_and_features():
    net = _tiny(blocks=2)
    x = ahdr_inputs(torch.rand(2, 3, 3, 20, 28), torch.tensor([[1.0, 4.0, 16.0]] * 2))
    with torch.no_grad():
        hdr, feats = net.forward_features(x)
        plain = net(x)
    assert hdr.shape == (2, 3, 20, 28)
    assert torch.equal(hdr, plain)
    assert ((hdr > 0) & (hdr < 1)).all()  # a sigmoid
    assert len(feats) == 2 and all(f.shape == (2, 4, 20, 28) for f in feats)


def test_bad_input_shapes_and_architecture():
    net = _tiny()
    for shape in [(1, 2, 6, 16, 16), (1, 3, 3, 16, 16), (3, 6, 16, 16), (1, 4, 6, 16, 16)]:
        with pytest.raises(InputError, match=r"AHDR takes \(B, 3, 6, H, W\)"):
            net(torch.rand(*shape))
    for bad in [{"features": 0}, {"growth": 2.5}, {"blocks": True}]:
        with pytest.raises(InputError, match="whole number >= 1"):
            AHDR(**bad)


def test_ahdr_inputs_by_hand():
    frames = torch.tensor([0.5, 0.25, 1.0]).reshape(1, 3, 1, 1, 1).expand(1, 3, 3, 2, 2)
    times = torch.tensor([[1.0, 4.0, 16.0]])
    x = ahdr_inputs(frames, times)
    assert x.shape == (1, 3, 6, 2, 2)
    assert torch.equal(x[:, :, :3], frames)
    # 0.5 ** 2.2 = exp(2.2 ln 0.5) = 0.2176376...; 0.25 ** 2.2 = 0.0473661...; 1 ** 2.2 = 1
    want = [math.exp(2.2 * math.log(0.5)) / 1, math.exp(2.2 * math.log(0.25)) / 4, 1.0 / 16]
    assert want[0] == pytest.approx(0.21763764, abs=1e-8)
    for i in range(3):
        assert torch.allclose(x[0, i, 3:], torch.full((3, 2, 2), want[i]), rtol=1e-6, atol=0)
    # the frames are not modified and values above 1 are clamped in the linear part only
    over = ahdr_inputs(torch.full((1, 3, 3, 1, 1), 1.2), torch.tensor([[1.0, 2.0, 4.0]]))
    assert float(over[0, 0, 0]) == pytest.approx(1.2)
    assert float(over[0, 2, 3]) == pytest.approx(0.25)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_mu_law_torch_matches_numpy_metric(dtype):
    rng = np.random.default_rng(0)
    h = np.concatenate([rng.random(500), [0.0, 1.0, 1e-5, 0.5]])
    got = mu_law_torch(torch.from_numpy(h).to(dtype)).double().numpy()
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert np.abs(got - mu_law(h)).max() < tol
    # hand values: mu-law of 1 is 1, of 0 is 0, of 0.5 is log(2501) / log(5001)
    assert got[-4:-2].tolist() == pytest.approx([0.0, 1.0], abs=tol)
    assert got[-1] == pytest.approx(math.log(2501) / math.log(5001), abs=tol)


def test_receptive_radius():
    # longest path: conv1 (1), attention (2), conv2 (1), 2 dilated layers of 2 per DRDB, the
    # global 3x3 fusion (1), conv_up (1), conv3 (1)
    net = _tiny(seed=3)
    r = net.radius
    assert r == 1 + 2 + 1 + 1 * 2 * 2 + 1 + 1 + 1 == 11
    size = 2 * r + 7
    c = size // 2
    times = torch.tensor([[1.0, 4.0, 16.0]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    x = ahdr_inputs(torch.rand(1, 3, 3, size, size, generator=gen, dtype=torch.float64), times)

    # a random model: a pixel just outside the radius cannot change the output, a near one does
    net = net.double()
    with torch.no_grad():
        base = net(x)[0, :, c, c]

        def moved(dy: int, dx: int) -> float:
            y = x.clone()
            y[:, :, :, c + dy, c + dx] += 5.0
            return float((net(y)[0, :, c, c] - base).abs().max())

        for dy, dx in [(0, r + 1), (r + 1, 0), (-(r + 1), r + 1), (3, -(r + 1))]:
            assert moved(dy, dx) == 0.0, (dy, dx)
        for dy, dx in [(0, 1), (1, -1), (2, 0)]:
            assert moved(dy, dx) > 0.0, (dy, dx)



@pytest.mark.parametrize(("layers", "blocks"), [(2, 1), (1, 3)])
def test_receptive_field_is_exactly_the_radius(layers, blocks):
    # positive weights (every ReLU active, every path adds): the gradient of one output pixel
    # is non-zero on exactly the (2r + 1) x (2r + 1) square around it
    net = _tiny(layers=layers, blocks=blocks).double()
    r = net.radius
    assert r == 7 + 2 * layers * blocks
    size = 2 * r + 5
    c = size // 2
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen, dtype=torch.float64)
                               * 0.5 + 0.5).div_(fan_in)
                m.bias.fill_(0.01)
    x = ahdr_inputs(torch.rand(1, 3, 3, size, size, generator=gen, dtype=torch.float64),
                    torch.tensor([[1.0, 4.0, 16.0]], dtype=torch.float64))
    x.requires_grad_(True)
    net(x)[0, :, c, c].sum().backward()
    support = x.grad.abs().sum(dim=(0, 1, 2)) > 0
    want = torch.zeros(size, size, dtype=torch.bool)
    want[c - r:c + r + 1, c - r:c + r + 1] = True
    assert torch.equal(support, want)


# --- render_dynamic --------------------------------------------------------------------------
def test_render_dynamic_ground_truth_and_reference_frame():
    # a static scene (no objects, no shake, no EV offset) exactly `size` pixels wide: the crop is
    # the whole map, so the ground truth is the map itself
    size = 48
    rad = np.full((size, size, 3), 0.4, np.float32)
    rad[:, size // 2:] = 0.8  # right half one stop brighter
    rad[: size // 4, :] = 60.0  # a strip that the shortest frame cannot hold: clipped
    b = render_dynamic(rad, np.random.default_rng(3), size=size, ev_jitter=0.0, shake_px=0.0,
                       max_objects=0)
    assert b.frames.shape == (3, size, size, 3) and b.frames.dtype == np.uint8
    assert np.allclose(b.times / b.times[0], [1.0, 4.0, 16.0], rtol=1e-9)  # -2, 0, +2 EV
    assert np.array_equal(b.radiance, rad)
    want = np.clip(rad.astype(np.float64) * b.times[0], 0.0, 1.0)
    assert b.hdr.dtype == np.float32
    assert np.abs(b.hdr - want).max() < 1e-6
    assert b.hdr[0].min() == 1.0 and b.hdr[size // 2:].max() < 1.0
    # the reference (middle) frame: a brighter mid-tone region has higher code values, and a
    # longer exposure of the same region too (until saturation)
    ref = b.frames[1].astype(np.float64)
    lower = slice(size // 2, size)
    dark, bright = ref[lower, 2:size // 2 - 2].mean(), ref[lower, size // 2 + 2:-2].mean()
    assert 20 < dark < bright < 250
    means = [f[lower, 2:size // 2 - 2].astype(np.float64).mean() for f in b.frames]
    assert means[0] < means[1] < means[2]


def test_render_dynamic_crop_is_deterministic_and_in_range():
    rng_map = np.random.default_rng(0)
    rad = (rng_map.random((70, 90, 3)) * 4).astype(np.float32)
    a = render_dynamic(rad, np.random.default_rng(5), size=32)
    b = render_dynamic(rad, np.random.default_rng(5), size=32)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.hdr, b.hdr)
    assert a.hdr.shape == (32, 32, 3) and 0.0 <= a.hdr.min() and a.hdr.max() <= 1.0
    assert np.all(np.diff(a.times) > 0)
    where = a.radiance * a.times[0] < 1.0  # not clipped: hdr is the scaled radiance itself
    assert np.abs(a.hdr[where] - a.radiance[where] * a.times[0]).max() < 1e-6


# --- the recipe on a synthetic data root -------------------------------------------------------
TRAIN_FILES = ("hdr_cc0_more/alpha.exr", "hdr_cc0_more/beta.exr", "hdr_cc0/gamma.exr")
# one benchmark scene is present, to check that it is skipped; the other seven are absent
HELD_OUT_FILES = tuple(f"hdr_cc0_more/{s}.exr" for s in (*VAL_SCENES, TEST_SCENES[0]))


def _radiance_map(seed: int, h: int = 56, w: int = 72) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.exp2(4.0 * xx / w - 2.0)[..., None] * rng.uniform(0.3, 1.0, 3).astype(np.float32)
    base = base * (1.0 + 0.3 * np.sin(yy / 3.0 + seed))[..., None]
    base[h // 3: h // 2, w // 4: w // 2] *= 8.0  # a bright patch
    return base.astype(np.float32)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hdr_root")
    for k, rel in enumerate(TRAIN_FILES + HELD_OUT_FILES):
        write_image(root / rel, _radiance_map(k))
    return root


def _overrides(root: Path, **extra) -> dict:
    return {
        "data.data_root": str(root), "data.max_side": 64, "data.brackets_per_scene": 1,
        "data.size": 48, "data.patch": 32, "data.val_size": 48, "data.max_objects": 1,
        "data.shake_px": 2.0,
        "model.features": 4, "model.growth": 2, "model.layers": 1, "model.blocks": 2,
        "transfer.segments": 4, "transfer.skam_latent": 4,
        "loop.steps": 3, "loop.batch_size": 2, "loop.warmup_steps": 1, "loop.val_every": 3,
        "loop.ckpt_every": 1, "loop.log_every": 1, "loop.threads": 1,
        **extra,
    }


def test_prepare_data_never_trains_on_held_out_scenes(data_root):
    cfg = load_train_config(None, _overrides(data_root))
    data = prepare_data(cfg)
    assert isinstance(data, TrainData)
    assert sorted(data.sources) == sorted(TRAIN_FILES)
    held = {f"{s}.exr" for s in TEST_SCENES + VAL_SCENES}
    assert not any(Path(s).name in held for s in data.sources)
    assert data.frames.shape == (3, 3, 48, 48, 3) and data.frames.dtype == np.uint8
    assert np.allclose(data.times[:, 0], 1.0) and np.all(np.diff(data.times, axis=1) > 0)
    assert data.hdr.shape == (3, 48, 48, 3) and 0 <= data.hdr.min() and data.hdr.max() <= 1
    assert [name for name, _ in data.val] == list(VAL_SCENES)
    assert all(b.frames.shape == (3, 48, 48, 3) for _, b in data.val)
    # the seed alone decides the pool
    again = prepare_data(cfg)
    assert np.array_equal(again.frames, data.frames) and np.array_equal(again.hdr, data.hdr)


def test_batches_are_network_inputs(data_root):
    cfg = load_train_config(None, _overrides(data_root, **{"transfer.ramp": 0.5}))
    data = prepare_data(cfg)
    batch_fn = RECIPE.make_batch_fn(cfg, data)
    x, gt, w = batch_fn(0, np.random.default_rng(0))
    assert x.shape == (2, 3, 6, 32, 32) and gt.shape == (2, 3, 32, 32)
    # channels 3..5 are the frame linearised and divided by its relative exposure time
    lin = x[:, :, :3].clamp(0, 1) ** 2.2 / x.new_tensor([1.0, 4.0, 16.0])[None, :, None, None, None]
    assert data.times[:, 1] == pytest.approx(4.0) and data.times[:, 2] == pytest.approx(16.0)
    assert torch.allclose(x[:, :, 3:], lin, rtol=1e-5, atol=1e-7)
    # ramp 0.5 of 3 steps: the transfer weight is (step + 1) / 1.5, at most 1
    assert float(w) == pytest.approx(1 / 1.5)
    assert float(batch_fn(2, np.random.default_rng(0))[2]) == 1.0
    assert torch.equal(batch_fn(1, np.random.default_rng(7))[0],
                       batch_fn(1, np.random.default_rng(7))[0])


def _state(path: Path) -> dict:
    return torch.load(path / "checkpoint.pt", weights_only=True)["model"]


@pytest.mark.parametrize("transfer", [False, True])
def test_recipe_trains_resumes_bit_exactly_and_exports(data_root, tmp_path, monkeypatch,
                                                       transfer):

    over = _overrides(data_root, **{"transfer.enabled": transfer, "transfer.ramp": 0.5})
    dest = tmp_path / "w.safetensors"
    whole = rc.run_recipe("ahdr", None, tmp_path / "whole", overrides=over, progress=False,
                          export=dest)
    assert whole.train.step == 3
    assert math.isfinite(whole.train.val["psnr_mu"])
    rows = (tmp_path / "whole" / "log.csv").read_text().splitlines()
    losses = [float(r.split(",")[1]) for r in rows[1:]]
    assert len(losses) == 3 and all(math.isfinite(v) and v > 0 for v in losses)
    state = _state(tmp_path / "whole")
    assert any(k.startswith("spgrm.") for k in state) == transfer
    assert any(k.startswith("skam.") for k in state) == transfer

    # a run stopped after two steps (Ctrl-C) and started again ends where the whole run did
    stop = {"at": 2}

    def stopping_recipe():
        def make_batch_fn(cfg, data):
            inner = RECIPE.make_batch_fn(cfg, data)

            def batch_fn(step, rng):
                if step == stop["at"]:
                    stop["at"] = None
                    raise KeyboardInterrupt
                return inner(step, rng)

            return batch_fn

        return dataclasses.replace(RECIPE, make_batch_fn=make_batch_fn)

    monkeypatch.setitem(rc.RECIPES, "ahdr", rc.RecipeEntry("ahdr", "ahdr", stopping_recipe))
    with pytest.raises(KeyboardInterrupt):
        rc.run_recipe("ahdr", None, tmp_path / "part", overrides=over, progress=False)
    assert torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)["step"] == 2
    torch.manual_seed(123)  # scrambled: the checkpoint restores every random state
    part = rc.run_recipe("ahdr", None, tmp_path / "part", overrides=over, progress=False)
    assert part.train.step == 3
    resumed = _state(tmp_path / "part")
    assert resumed.keys() == state.keys()
    for k, v in state.items():
        assert torch.equal(v, resumed[k]), k
    assert part.train.val == whole.train.val

    # the export: the ORM alone, loadable by from_pretrained, with its data record
    net = AHDR.from_pretrained(path=dest)
    assert net.architecture == {"features": 4, "growth": 2, "layers": 1, "blocks": 2}
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[f"orm.{k}"]), k
    record = json.loads(dest.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["name"] == ("ahdr_skt" if transfer else "ahdr")
    assert set(record["data"]["test_scenes_held_out"]) == {
        f"hdr_cc0_more/{s}.exr" for s in TEST_SCENES}
    assert sorted(record["data"]["radiance_maps"]) == sorted(TRAIN_FILES)
    data_json = json.loads((tmp_path / "whole" / "data.json").read_text(encoding="utf-8"))
    assert sorted(data_json["radiance_maps"]) == sorted(TRAIN_FILES)
    assert record["data"]["brackets"] == 3 and record["scores"]["val_psnr_mu"] is not None
    # the exported ORM reproduces the trained ORM on a bracket
    x = ahdr_inputs(torch.rand(1, 3, 3, 16, 16), torch.tensor([[1.0, 4.0, 16.0]]))
    model = RECIPE.build_model(load_train_config(None, over))
    model.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(net(x), model.orm.eval()(x))


def test_recipe_without_data_is_a_clear_error(tmp_path):
    from expokit.errors import MissingResourceError

    with pytest.raises(MissingResourceError, match="no radiance maps"):
        prepare_data(load_train_config(None, _overrides(tmp_path)))
    # training files but no validation scenes: the message names the absent file
    write_image(tmp_path / "hdr_cc0" / "gamma.exr", _radiance_map(0))
    with pytest.raises(MissingResourceError, match=r"lab\.exr is absent"):
        prepare_data(load_train_config(None, _overrides(tmp_path)))


class _ScriptedPrior(torch.nn.Module):
    """A TorchScript prior obeying the contract: pooled images, two soft masks."""

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        f = torch.nn.functional
        feats = [f.avg_pool2d(x, 2), f.avg_pool2d(x, 4), f.avg_pool2d(x, 8),
                 f.avg_pool2d(x, 16)]
        grey = x.mean(1, keepdim=True)
        return feats, torch.cat([grey, 1.0 - grey], dim=1)


@pytest.mark.parametrize("variant", [
    {"transfer.prior": "none"},
    {"transfer.prior": "torchscript"},
    {"transfer.content": False, "transfer.skam": False},
    {"transfer.color": False, "transfer.ramp": 0.0},
])
def test_recipe_priors_and_ablations_train(data_root, tmp_path, variant):
    if variant.get("transfer.prior") == "torchscript":
        path = tmp_path / "prior.pt"
        torch.jit.save(torch.jit.script(_ScriptedPrior()), str(path))
        variant = {**variant, "transfer.prior_path": str(path)}
    over = _overrides(data_root, **{"transfer.enabled": True, "loop.steps": 1,
                                    "loop.val_every": 1, **variant})
    res = rc.run_recipe("ahdr", None, tmp_path / "run", overrides=over, progress=False)
    assert res.train.step == 1 and math.isfinite(res.train.val["psnr_mu"])
    loss = float((tmp_path / "run" / "log.csv").read_text().splitlines()[1].split(",")[1])
    assert math.isfinite(loss) and loss > 0
    state = _state(tmp_path / "run")
    assert any(k.startswith("skam.") for k in state) == variant.get("transfer.skam", True)
    assert any(k.startswith("spgrm.fpn.") for k in state) == (
        variant.get("transfer.prior") != "none")


def test_torchscript_prior_needs_a_path():
    with pytest.raises(InputError, match="prior_path"):
        load_train_config(None, {"transfer.enabled": True, "transfer.prior": "torchscript"})
    with pytest.raises(InputError, match="'classical', 'torchscript' or 'none'"):
        load_train_config(None, {"transfer.prior": "fastsam"})


def _kalantari_scene(folder: Path, radiance: np.ndarray, evs=(-2.0, 0.0, 2.0)) -> None:
    """A scene in Kalantari's layout: three 16-bit TIFFs (gamma 2.2 of radiance * 2**EV,
    clipped), exposure.txt in EV, HDRImg.hdr."""
    for i, ev in enumerate(evs):
        code = np.clip(radiance * 2.0**ev, 0.0, 1.0) ** (1 / 2.2)
        write_image(folder / f"{i}.tif", np.round(code * 65535).astype(np.uint16))
    (folder / "exposure.txt").write_text("\n".join(f"{e:g}" for e in evs) + "\n")
    write_image(folder / "HDRImg.hdr", radiance)


def test_real_scenes_in_kalantari_layout_join_the_training_pool(data_root, tmp_path):
    from expokit.train.ahdr import load_real_scenes

    rad = _radiance_map(11, 40, 40) * 0.25
    _kalantari_scene(tmp_path / "Training" / "001", rad)
    [(frames, times, gt)] = load_real_scenes(tmp_path / "Training", "kalantari")
    # times relative to the shortest (2**-2), ground truth in the shortest frame's units
    assert times.tolist() == [1.0, 4.0, 16.0]
    assert np.allclose(gt, np.clip(rad * 0.25, 0, 1), rtol=1e-2, atol=1e-6)
    # where the reference frame is not clipped, its linearised value / t_rel is the truth
    ref_lin = frames[1] ** 2.2 / times[1]
    ok = frames[1] < 0.95
    assert np.allclose(ref_lin[ok], gt[ok], rtol=2e-2, atol=2e-4)

    over = _overrides(data_root, **{"data.scenes_root": str(tmp_path / "Training"),
                                    "data.real_fraction": 1.0})
    cfg = load_train_config(None, over)
    data = prepare_data(cfg)
    assert len(data.real) == 1 and "kalantari" in data.sources[-1]
    x, y, _ = RECIPE.make_batch_fn(cfg, data)(0, np.random.default_rng(0))
    # every crop comes from the real scene: its linear channels / t equal the truth
    lin = x[:, 1, 3:]
    ok = x[:, 1, :3] < 0.95
    assert torch.allclose(lin[ok], y[ok], rtol=2e-2, atol=2e-4)
    # a simulated-only config draws no extra random numbers: same batches as before
    base = load_train_config(None, _overrides(data_root))
    d0 = prepare_data(base)
    no_real = dataclasses.replace(data, real=[])
    assert torch.equal(RECIPE.make_batch_fn(base, d0)(0, np.random.default_rng(3))[0],
                       RECIPE.make_batch_fn(cfg, no_real)(0, np.random.default_rng(3))[0])
    with pytest.raises(InputError, match="scenes_layout"):
        load_train_config(None, _overrides(data_root, **{"data.scenes_layout": "x"}))
