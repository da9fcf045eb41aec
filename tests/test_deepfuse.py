"""DeepFuse: the network, tiled inference, chroma fusion, the training loss and data, weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from conftest import need  # noqa: E402

from expokit.color import rgb_to_ycbcr, ycbcr_to_rgb  # noqa: E402
from expokit.errors import InputError, MissingResourceError  # noqa: E402
from expokit.fusion.deepfuse import fuse_chroma, fuse_deepfuse, fuse_y  # noqa: E402
from expokit.metrics import mef_ssim  # noqa: E402
from expokit.models.deepfuse import DeepFuse  # noqa: E402
from expokit.models.zoo import WEIGHTS_DIR, export_weights, load_weights  # noqa: E402
from expokit.simulate import photograph, render_scene  # noqa: E402
from expokit.train.deepfuse import (  # noqa: E402
    DataConfig,
    deepfuse_loss,
    list_mefb_scenes,
    load_train_config,
)


def _net(seed: int = 0) -> DeepFuse:
    torch.manual_seed(seed)
    return DeepFuse().eval()


def _bracket(h: int = 48, w: int = 64, seed: int = 0) -> list[np.ndarray]:
    """A 3-shot 8-bit synthetic bracket (1/64, 1/8, 1 s) of expokit's HDR test scene."""
    return photograph(render_scene(h, w, seed=seed), (1 / 64, 1 / 8, 1.0))


# --- the network --------------------------------------------------------------------------
def test_parameter_count_matches_the_paper():
    # conv parameters = c_in * c_out * k * k + c_out (bias), layer by layer (paper, figure 2):
    c1 = 1 * 16 * 5 * 5 + 16  # 416
    c2 = 16 * 32 * 7 * 7 + 32  # 25120 (tied: counted once for all exposures)
    c3 = 32 * 32 * 7 * 7 + 32  # 50208
    c4 = 32 * 16 * 5 * 5 + 16  # 12816
    c5 = 16 * 1 * 5 * 5 + 1  # 401
    expected = c1 + c2 + c3 + c4 + c5
    assert expected == 88961  # "about 89K"
    assert sum(p.numel() for p in DeepFuse().parameters()) == expected


@pytest.mark.parametrize("n", [2, 3, 5])
def test_forward_shapes(n):
    y = torch.rand(2, n, 1, 24, 30)
    with torch.no_grad():
        out = _net()(y)
    assert out.shape == (2, 1, 24, 30)
    assert torch.isfinite(out).all()


def test_tied_weights_permuting_inputs_changes_nothing():
    net = _net()
    y = torch.rand(1, 3, 1, 32, 32)
    with torch.no_grad():
        a = net(y)
        b = net(y[:, [2, 0, 1]])
        c = net(y[:, :2].flip(1))
        d = net(y[:, :2])
    assert torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(c, d, atol=1e-6)


def test_more_than_two_inputs_sum_features_scaled_by_two_over_n():
    net = _net()
    y = torch.rand(1, 3, 1, 20, 20)
    with torch.no_grad():
        feats = [net.features(y[:, k]) for k in range(3)]
        expected = net.reconstruct((feats[0] + feats[1] + feats[2]) * (2.0 / 3.0))
        assert torch.allclose(net(y), expected, atol=1e-6)
        # two copies of a pair fed as N = 4 give the pair's result: (2/4)(2a + 2b) = a + b
        pair = y[:, :2]
        assert torch.allclose(net(torch.cat([pair, pair], dim=1)), net(pair), atol=1e-5)
        # the pair is the paper's plain sum
        assert torch.allclose(net(pair), net.reconstruct(feats[0] + feats[1]), atol=1e-6)


def test_forward_rejects_bad_shapes():
    net = _net()
    with pytest.raises(InputError, match=r"expected \(B, N, 1, H, W\)"):
        net(torch.rand(1, 2, 16, 16))
    with pytest.raises(InputError, match="at least 2"):
        net(torch.rand(1, 1, 1, 16, 16))


# --- tiled inference -----------------------------------------------------------------------
def test_tiled_equals_untiled_so_no_seams():
    net = _net(1)
    rng = np.random.default_rng(0)
    ys = [rng.random((83, 101), dtype=np.float32) for _ in range(3)]
    with torch.no_grad():
        whole = net(torch.from_numpy(np.stack(ys))[None, :, None])[0, 0].numpy()
    for tile, overlap in [(16, 12), (32, 12), (40, 20), (512, 32)]:
        tiled = fuse_y(ys, net, tile=tile, overlap=overlap)
        assert np.abs(tiled - whole).max() < 1e-5, (tile, overlap)
    # less context than the 12-pixel receptive radius shows at tile borders: the test can fail
    assert np.abs(fuse_y(ys, net, tile=16, overlap=4) - whole).max() > 1e-4


def test_fuse_deepfuse_tiles_match_one_tile_on_colour():
    shots = _bracket(70, 90)
    net = _net(2)
    a = fuse_deepfuse(shots, weights=net, tile=16, overlap=12, threads=1)
    b = fuse_deepfuse(shots, weights=net, tile=512, overlap=12, threads=1)
    assert a.shape == (70, 90, 3) and a.dtype == np.float32
    assert np.abs(a - b).max() < 1e-5


# --- colour ----------------------------------------------------------------------------------
def test_ycbcr_matches_opencv_and_round_trips():
    rng = np.random.default_rng(3)
    rgb = rng.random((9, 11, 3), dtype=np.float32)
    ycc = rgb_to_ycbcr(rgb)
    # OpenCV's float RGB2YCrCb is full-range BT.601 with delta 0.5, channel order Y, Cr, Cb;
    # its chroma factors are rounded to 3 digits (0.713 for 1/1.402, 0.564 for 1/1.772),
    # which moves chroma by up to ~3e-4
    ref = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    assert np.abs(ycc[..., 0] - ref[..., 0]).max() < 1e-5
    assert np.abs(ycc[..., 1] - ref[..., 2]).max() < 5e-4
    assert np.abs(ycc[..., 2] - ref[..., 1]).max() < 5e-4
    # the definition itself: Cb = 0.5 + (B - Y) / 1.772, Cr = 0.5 + (R - Y) / 1.402
    y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert np.abs(ycc[..., 1] - (0.5 + (rgb[..., 2] - y) / 1.772)).max() < 1e-5
    assert np.abs(ycc[..., 2] - (0.5 + (rgb[..., 0] - y) / 1.402)).max() < 1e-5
    assert np.abs(ycbcr_to_rgb(ycc) - rgb).max() < 1e-5
    with pytest.raises(InputError, match="expected"):
        rgb_to_ycbcr(np.zeros((4, 4)))


def test_chroma_fusion_formula_on_hand_values():
    def f(*vals):
        return float(fuse_chroma([np.array([v], np.float32) for v in vals])[0])

    assert f(0.5, 0.9) == pytest.approx(0.9, abs=1e-6)  # grey has weight |0.5 - 0.5| = 0
    # weights |0.2 - 0.5| = 0.3 and |0.7 - 0.5| = 0.2: (0.2 * 0.3 + 0.7 * 0.2) / 0.5 = 0.4
    assert f(0.2, 0.7) == pytest.approx(0.4, abs=1e-6)
    assert f(0.5, 0.5, 0.5) == pytest.approx(0.5, abs=1e-7)  # all grey: the plain mean
    assert f(0.1, 0.9) == pytest.approx(0.5, abs=1e-6)  # symmetric opposite colours


def test_fuse_deepfuse_colour_keeps_the_saturated_chroma():
    # a network whose output Y is the constant 0.5 (C5 weights 0, bias 0.5), two flat
    # exposures: grey and red (0.8, 0.3, 0.3). The grey one has no chroma weight, so the fused
    # pixel is red's chroma at Y = 0.5: red + (0.5 - Y_red) on every channel.
    net = _net()
    with torch.no_grad():
        net.c5.weight.zero_()
        net.c5.bias.fill_(0.5)
    grey = np.full((24, 24, 3), 0.4, np.float32)
    red = np.empty((24, 24, 3), np.float32)
    red[...] = (0.8, 0.3, 0.3)
    y_red = 0.299 * 0.8 + 0.587 * 0.3 + 0.114 * 0.3
    out = fuse_deepfuse([grey, red], weights=net, threads=1)
    assert np.abs(out - (red + (0.5 - y_red))).max() < 1e-5


def _averaging_net() -> DeepFuse:
    """A DeepFuse set by hand to output the mean of its N = 2 input Y channels.

    C1..C4 pass channel 0 through (centre tap 1, everything else 0; the inputs are >= 0, so
    the ReLUs change nothing), the features of the two exposures are summed, C5 halves the sum.
    """
    net = DeepFuse().eval()
    with torch.no_grad():
        for conv in (net.c1, net.c2, net.c3, net.c4, net.c5):
            conv.weight.zero_()
            conv.bias.zero_()
            k = conv.weight.shape[-1] // 2
            conv.weight[0, 0, k, k] = 1.0
        net.c5.weight[0, 0, net.c5.weight.shape[-1] // 2, net.c5.weight.shape[-1] // 2] = 0.5
    return net


def test_grey_inputs_give_a_one_channel_fusion_and_identical_inputs_come_back():
    # independent reference: with a network that averages its inputs, fusing two grey images
    # must give exactly their NumPy mean in one channel (no chroma is invented), and fusing an
    # image with itself must return the image.
    rng = np.random.default_rng(0)
    g = (rng.random((40, 50)) * 255).astype(np.uint8)
    h = (rng.random((40, 50)) * 255).astype(np.uint8)
    net = _averaging_net()
    same = fuse_deepfuse([g, g], weights=net, threads=1, tile=32, overlap=8)
    assert same.shape == (40, 50, 1) and same.dtype == np.float32
    np.testing.assert_allclose(same[..., 0], g / 255.0, atol=1e-6)
    mixed = fuse_deepfuse([g, h], weights=net, threads=1, tile=32, overlap=8)
    np.testing.assert_allclose(mixed[..., 0], (g / 255.0 + h / 255.0) / 2, atol=1e-6)


def test_bad_input_errors():
    net = _net()
    a = np.zeros((20, 20, 3), np.uint8)
    b = np.zeros((20, 21, 3), np.uint8)
    with pytest.raises(InputError, match=r"b\.png.*share one size"):
        fuse_deepfuse([a, b], weights=net, paths=[Path("a.png"), Path("b.png")])
    with pytest.raises(InputError, match="at least 2"):
        fuse_deepfuse([a], weights=net)
    with pytest.raises(InputError, match="tile"):
        fuse_deepfuse([a, a], weights=net, tile=8)
    with pytest.raises(InputError, match="overlap"):
        fuse_deepfuse([a, a], weights=net, overlap=-1)
    with pytest.raises(InputError, match="neither a shipped DeepFuse weights name"):
        fuse_deepfuse([a, a], weights="nosuchmodel")
    with pytest.raises(MissingResourceError, match="does not exist"):
        fuse_deepfuse([a, a], weights="/nonexistent/w.safetensors")


# --- the loss is the metric -------------------------------------------------------------------
class _Fixed(torch.nn.Module):
    """A 'model' that returns a given fused image, to compare the loss with the metric."""

    def __init__(self, fused):
        super().__init__()
        self.fused = fused

    def forward(self, y):
        return self.fused


def test_training_loss_equals_one_minus_the_metric():
    shots = _bracket(40, 48, seed=4)
    ys = np.stack([rgb_to_ycbcr(s)[..., 0] for s in shots]).astype(np.float64)
    fused = 0.6 * ys[0] + 0.3 * ys[1] + 0.1 * ys[2]  # any image in [0, 1]
    batch = torch.from_numpy(ys)[None, :, None]
    loss = deepfuse_loss(_Fixed(torch.from_numpy(fused)[None, None]), batch, range_weight=0.0)
    metric = mef_ssim(fused, list(ys), data_range=1.0)
    assert 0.0 < float(loss) < 1.0
    assert float(loss) == pytest.approx(1.0 - metric, abs=1e-6)


def test_loss_is_finite_on_saturated_float32_patches():
    # flat (saturated) areas in every exposure drove the float32 loss to NaN; the training
    # loss computes in float64
    y = torch.zeros(1, 2, 1, 32, 32)
    y[:, 0, :, :, 16:] = 1.0
    y[:, 1, :, :, 16:] = 1.0
    y[:, 1, :, 8:12, :8] = 0.5
    loss = deepfuse_loss(_net(), y)
    assert torch.isfinite(loss)


# --- training ------------------------------------------------------------------------------
def test_tiny_training_run_decreases_the_loss(tmp_path):
    from expokit.train.loop import LoopConfig, train

    stacks = []
    for seed in range(3):
        shots = _bracket(48, 48, seed=seed)
        stacks.append(np.stack([rgb_to_ycbcr(s)[..., 0] for s in shots]))

    def batch_fn(step, rng):
        n = 2 if step % 2 else 3
        items = []
        for _ in range(4):
            st = stacks[int(rng.integers(len(stacks)))]
            y0, x0 = rng.integers(0, 48 - 32 + 1, size=2)
            idx = [0, 2] if n == 2 else [0, 1, 2]
            items.append(st[idx, y0:y0 + 32, x0:x0 + 32])
        return torch.from_numpy(np.stack(items))[:, :, None]

    fixed = [batch_fn(s, np.random.default_rng([9, s])) for s in range(2)]
    torch.manual_seed(0)
    net = DeepFuse()
    with torch.no_grad():
        before = float(sum(deepfuse_loss(net, b) for b in fixed))
    cfg = LoopConfig(steps=40, batch_size=4, lr=2e-3, warmup_steps=0, val_every=0,
                     ckpt_every=0, log_every=10, device="cpu", threads=1)
    train(net, loss_fn=deepfuse_loss, batch_fn=batch_fn, config=cfg, out_dir=tmp_path,
          progress=False)
    net.eval()
    with torch.no_grad():
        after = float(sum(deepfuse_loss(net, b) for b in fixed))
    assert after < 0.7 * before, (before, after)


def test_config_rejects_bad_values():
    with pytest.raises(InputError, match="unknown key"):
        load_train_config({"data": {"pacth": 64}})
    with pytest.raises(InputError, match="sim_exposures"):
        DataConfig(n_inputs=(2, 5), sim_exposures=4)
    cfg = load_train_config(Path(__file__).resolve().parents[1] / "configs" / "deepfuse.toml")
    assert cfg.loop.threads == 1 and cfg.data.patch == 64


def test_memorial_radiance_is_refused(tmp_path):
    from expokit.train.deepfuse import render_sim_pool

    with pytest.raises(InputError, match="Memorial"):
        render_sim_pool(DataConfig(sim_sources=("memorial",)), tmp_path, 0)


# --- weights ---------------------------------------------------------------------------------
def test_shipped_weights_load_strictly_and_fuse():
    if not (WEIGHTS_DIR / "deepfuse.safetensors").is_file():
        pytest.skip("shipped DeepFuse weights are absent (package built without them)")
    net = DeepFuse.from_pretrained()
    # the paper's 88,961 plus the learned merge's 1x1 scores (32 x 32 + 32)
    assert sum(p.numel() for p in net.parameters()) == 88961 + 32 * 32 + 32
    assert net.merge == "softmax" and not net.training
    first = DeepFuse.from_pretrained("deepfuse_3k")
    assert sum(p.numel() for p in first.parameters()) == 88961 and first.merge == "mean"
    shots = _bracket(40, 56)
    out = fuse_deepfuse(shots, threads=1)
    assert out.shape == (40, 56, 3) and 0.0 <= out.min() and out.max() <= 1.0
    # a trained network beats plain averaging of the exposures on the metric it was trained on
    srcs = [s.astype(np.float32) / 255 for s in shots]
    avg = np.mean(srcs, axis=0)
    assert mef_ssim(out, srcs, data_range=1.0) > mef_ssim(avg, srcs, data_range=1.0)


def test_wrong_weights_file_is_rejected_with_a_clear_error(tmp_path):
    small = DeepFuse(c1=8)
    export_weights(small, tmp_path / "small", name="deepfuse", architecture={"c1": 8})
    with pytest.raises(InputError, match=r"does not fit DeepFuse.*wrong shapes: c1\.weight"):
        load_weights(DeepFuse(), tmp_path / "small.safetensors")
    # its own sidecar rebuilds the right network
    assert DeepFuse.from_pretrained(path=tmp_path / "small.safetensors").c1.out_channels == 8
    # a torch.save checkpoint is not a weights file
    torch.save(DeepFuse().state_dict(), tmp_path / "ckpt.safetensors")
    with pytest.raises(InputError, match="not a readable safetensors"):
        load_weights(DeepFuse(), tmp_path / "ckpt.safetensors")
    # a file of another model (sidecar architecture DeepFuse does not accept)
    other = torch.nn.Conv2d(1, 1, 3)
    export_weights(other, tmp_path / "other", name="other", architecture={"width": 3})
    with pytest.raises(InputError, match="does not accept"):
        fuse_deepfuse([np.zeros((20, 20), np.uint8)] * 2,
                      weights=tmp_path / "other.safetensors")


# --- training data: Ma 2015 stays held out ------------------------------------------------------
def test_no_training_scene_matches_any_ma2015_image(shared_data):
    from expokit.io import read_image

    need(shared_data, "mefb/input")
    ma = need(shared_data, "ma2015/source image sequences")
    scenes = list_mefb_scenes(shared_data, ("Arno",))
    ma_images = [read_image(p) for d in ma.iterdir() for p in d.iterdir()]
    ma_hashes = {hashlib.sha256(im.tobytes()).hexdigest() for im in ma_images}
    ma_names = {d.name.rsplit("_", 1)[0].replace(" ", "").replace("_", "").lower()
                for d in ma.iterdir()}

    def small(im):  # another fingerprint: 16x16 block means of the channel mean, normalised
        g = im.astype(np.float64).mean(axis=2) if im.ndim == 3 else im.astype(np.float64)
        h, w = (g.shape[0] // 16) * 16, (g.shape[1] // 16) * 16
        t = g[:h, :w].reshape(16, h // 16, 16, w // 16).mean(axis=(1, 3)).ravel()
        t -= t.mean()
        return t / (np.linalg.norm(t) + 1e-12), im.shape[1] / im.shape[0]

    ma_small = [small(im) for im in ma_images]
    used = {**scenes.train, **scenes.val}
    assert len(scenes.train) >= 70 and "Arno" in scenes.val
    for name, files in used.items():
        assert name.lower().replace("_", "") not in ma_names, name
        for f in files:
            im = read_image(f)
            assert hashlib.sha256(im.tobytes()).hexdigest() not in ma_hashes, f
            t, aspect = small(im)
            for mt, maspect in ma_small:
                if abs(maspect / aspect - 1) < 0.03:
                    assert float(t @ mt) < 0.97, (f, float(t @ mt))
    # copies that a name match misses are caught by content
    assert "TableLamp" in scenes.excluded  # = Ma's Lamp_hdr-projects.com, pixel for pixel
    assert "tower" in scenes.excluded
    assert len(scenes.excluded) == 17


# --- the learned merge of N exposures ---------------------------------------------------------
def test_softmax_merge_starts_as_the_mean_merge_and_is_order_free():
    base = _net(1)
    net = DeepFuse(merge="softmax").eval()
    keys = net.load_state_dict(base.state_dict(), strict=False)
    assert keys.missing_keys == ["score.weight", "score.bias"] and not keys.unexpected_keys
    y = torch.rand(2, 5, 1, 30, 34)
    with torch.no_grad():
        # zero scores: a uniform softmax, 2 * mean = 2/N * sum, the fixed rule
        assert torch.allclose(net(y), base(y), atol=1e-6)
        torch.nn.init.normal_(net.score.weight, std=0.5)
        out = net(y)
        assert not torch.allclose(out, base(y), atol=1e-3)  # the scores now matter
        assert torch.allclose(net(y[:, [3, 0, 4, 2, 1]]), out, atol=1e-5)
    assert net.architecture["merge"] == "softmax" and "merge" not in base.architecture
    with pytest.raises(InputError, match="merge must be one of"):
        DeepFuse(merge="max")


def test_softmax_merge_tiled_one_exposure_at_a_time_equals_whole_image():
    torch.manual_seed(3)
    net = DeepFuse(merge="softmax").eval()
    torch.nn.init.normal_(net.score.weight, std=0.5)
    rng = np.random.default_rng(0)
    ys = [rng.random((70, 90), dtype=np.float32) for _ in range(4)]
    with torch.no_grad():
        whole = net(torch.from_numpy(np.stack(ys))[None, :, None])[0, 0].numpy()
    tiled = fuse_y(ys, net, tile=32, overlap=16)  # online softmax over the exposures
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_training_can_start_from_shipped_weights():
    from expokit.train.deepfuse import _model

    if not (WEIGHTS_DIR / "deepfuse_3k.safetensors").is_file():
        pytest.skip("shipped DeepFuse weights are absent (package built without them)")
    cfg = load_train_config(None, {"init": "deepfuse_3k", "model.merge": "softmax"})
    net = _model(cfg)
    start = DeepFuse.from_pretrained("deepfuse_3k")
    assert torch.equal(net.c3.weight, start.c3.weight)
    assert float(net.score.weight.detach().abs().sum()) == 0.0
    with pytest.raises(InputError, match="do not fit"):
        _model(load_train_config(None, {"init": "deepfuse_3k", "model.c1": 8}))


def test_sim_sources_take_stems_and_globs_and_refuse_memorial(tmp_path):
    from expokit.train.deepfuse import sim_source_paths

    (tmp_path / "hdr_cc0").mkdir()
    (tmp_path / "more").mkdir()
    for p in ("hdr_cc0/city.exr", "more/b.exr", "more/a.exr", "more/notes.txt"):
        (tmp_path / p).write_bytes(b"")
    got = sim_source_paths(["city", "more/*.exr"], tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in got] == [
        "hdr_cc0/city.exr", "more/a.exr", "more/b.exr"]
    with pytest.raises(MissingResourceError, match="matches no file"):
        sim_source_paths(["nothing/*.exr"], tmp_path)
    with pytest.raises(MissingResourceError, match="is absent"):
        sim_source_paths(["forest"], tmp_path)
    (tmp_path / "more" / "Memorial_copy.exr").write_bytes(b"")
    with pytest.raises(InputError, match="Memorial"):
        sim_source_paths(["more/*.exr"], tmp_path)
