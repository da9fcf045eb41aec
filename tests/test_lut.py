"""LUT fusion: NumPy inference against known answers, OpenCV and the torch twin; weights; errors."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import cv2
import numpy as np
import pytest

from expokit.color import rgb_to_ycbcr
from expokit.errors import InputError, MissingResourceError
from expokit.fusion import fuse
from expokit.fusion.deepfuse import fuse_chroma
from expokit.fusion.lut import (
    BINS,
    FRAMES,
    WEIGHTS_DIR,
    LUTFusion,
    _upsample_rows,
    fuse_lut,
    guided_coefficients,
    load_lut,
    low_resolution,
    order_by_brightness,
    table_for,
)
from expokit.metrics import mef_ssim
from expokit.simulate import photograph, render_scene


def _bracket(h: int = 60, w: int = 80, seed: int = 0) -> list[np.ndarray]:
    """A 3-shot 8-bit synthetic bracket (1/64, 1/8, 1 s) of expokit's HDR test scene."""
    return photograph(render_scene(h, w, seed=seed), (1 / 64, 1 / 8, 1.0))


def _lut(seed: int = 0, **kw) -> LUTFusion:
    rng = np.random.default_rng(seed)
    tables = {n: np.exp(rng.normal(0, 1, (n, BINS))).astype(np.float32) for n in FRAMES}
    return LUTFusion(tables, **kw)


def _flat(values: dict[int, list[float]] | None = None) -> LUTFusion:
    values = values or {n: [1.0] * n for n in FRAMES}
    return LUTFusion({n: np.tile(np.asarray(v, np.float32)[:, None], (1, BINS))
                      for n, v in values.items()})


# --- building blocks against OpenCV and known answers ------------------------------------------
def test_upsampling_a_strip_equals_opencv_resize_of_the_whole_map():
    coef = np.random.default_rng(0).random((23, 31)).astype(np.float32)
    whole = cv2.resize(coef, (200, 150), interpolation=cv2.INTER_LINEAR)
    for r0, r1 in ((0, 7), (40, 113), (149, 150)):
        np.testing.assert_allclose(_upsample_rows(coef, (150, 200), r0, r1), whole[r0:r1],
                                   atol=1e-5)


def test_guided_filter_recovers_an_exact_linear_relation():
    guide = np.random.default_rng(1).random((40, 50)).astype(np.float32)
    a, b = guided_coefficients(guide, 2.0 * guide + 0.1, radius=3, eps=1e-9)
    np.testing.assert_allclose(a, 2.0, atol=1e-3)
    np.testing.assert_allclose(b, 0.1, atol=1e-3)
    # a flat guide carries no edges: the output is the box mean of the input
    src = guide.copy()
    a, b = guided_coefficients(np.full_like(guide, 0.5), src, radius=2, eps=1e-3)
    np.testing.assert_allclose(a, 0.0, atol=1e-6)
    box = cv2.blur(cv2.blur(src, (5, 5), borderType=cv2.BORDER_REFLECT_101), (5, 5),
                   borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(b, box, atol=1e-5)


def test_more_than_four_shots_interpolate_the_four_shot_tables():
    lut = _flat({2: [1, 1], 3: [1, 1, 1], 4: [1.0, 2.0, 4.0, 8.0]})
    got = [float(table_for(lut, 5, k)[0]) for k in range(5)]
    # positions 0, 0.75, 1.5, 2.25, 3 on the 4-shot tables
    assert got == pytest.approx([1.0, 1.75, 3.0, 5.0, 8.0])
    assert np.shares_memory(table_for(lut, 3, 2), lut.tables[3])
    with pytest.raises(InputError):
        table_for(lut, 1, 0)


def test_low_resolution_is_the_area_mean_of_bt601_luma():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    low = low_resolution(img, 24)  # 4x smaller, exactly
    y = rgb_to_ycbcr(img)[..., 0]
    ref = y.reshape(16, 4, 24, 4).mean(axis=(1, 3))
    assert low.shape == (16, 24)
    np.testing.assert_allclose(low, ref, atol=2.5 / 255)  # cv2 rounds the area mean to 8 bits
    assert low_resolution(img, 500).shape == (64, 96)  # never upscaled


def test_shots_are_ordered_darkest_first_stably():
    lows = [np.full((2, 2), v, np.float32) for v in (0.5, 0.1, 0.5, 0.9)]
    assert order_by_brightness(lows) == [1, 0, 2, 3]


# --- whole fusion: known answers --------------------------------------------------------------
def test_identical_shots_come_back_unchanged():
    shot = _bracket()[1]
    out = fuse_lut([shot, shot, shot], weights=_lut(), threads=1)
    # the weights cancel; OpenCV's 3-decimal YCrCb coefficients leave < 0.1 code value
    assert np.abs(out * 255 - shot).max() <= 0.1


def test_a_table_that_prefers_one_shot_returns_that_shots_luma():
    shots = _bracket()
    lut = _flat({2: [1, 1], 3: [1e-6, 1e6, 1e-6], 4: [1, 1, 1, 1]})
    out = fuse_lut(shots[::-1], weights=lut, threads=1)  # any input order: sorted inside
    ok = (out.max(axis=2) < 0.999) & (out.min(axis=2) > 0.001)  # not clipped back in RGB
    # luma follows the tables; chroma follows its own rule (distance from grey)
    y = rgb_to_ycbcr(out)[..., 0]
    np.testing.assert_allclose(y[ok], rgb_to_ycbcr(shots[1])[..., 0][ok], atol=5e-4)


def test_equal_tables_average_the_luma_and_chroma_follows_deepfuse_rule():
    shots = [s.astype(np.float32) / 255 for s in _bracket()]
    out = fuse_lut(shots, weights=_flat(), threads=1)
    ycc = [rgb_to_ycbcr(s) for s in shots]
    got = rgb_to_ycbcr(out)
    ok = (out.max(axis=2) < 0.999) & (out.min(axis=2) > 0.001)  # not clipped back in RGB
    mean_y = np.mean([c[..., 0] for c in ycc], axis=0)
    # (OpenCV's 3-decimal YCrCb coefficients: within 5e-4, an eighth of a code value)
    np.testing.assert_allclose(got[..., 0][ok], mean_y[ok], atol=5e-4)
    for ch in (1, 2):  # an independent implementation of the chroma rule
        ref = fuse_chroma([c[..., ch] for c in ycc])
        np.testing.assert_allclose(got[..., ch][ok], ref[ok], atol=5e-4)


def test_threads_and_input_order_do_not_change_the_result():
    shots = _bracket(300, 90)  # several strips
    lut = _lut(3)
    one = fuse_lut(shots, weights=lut, threads=1)
    np.testing.assert_array_equal(fuse_lut(shots, weights=lut, threads=3), one)
    np.testing.assert_array_equal(fuse_lut([shots[2], shots[0], shots[1]], weights=lut,
                                           threads=2), one)


def test_grey_and_sixteen_bit_and_float_inputs():
    shots = _bracket()
    lut = _lut(4)
    ref = fuse_lut(shots, weights=lut, threads=1)
    f = fuse_lut([s.astype(np.float32) / 255 for s in shots], weights=lut, threads=1)
    u16 = fuse_lut([s.astype(np.uint16) * 257 for s in shots], weights=lut, threads=1)
    np.testing.assert_allclose(u16, f, atol=1e-5)
    np.testing.assert_allclose(ref, f, atol=1e-5)
    grey = fuse_lut([rgb_to_ycbcr(s)[..., :1] for s in shots], weights=lut, threads=1)
    assert grey.shape == (60, 80, 1)
    ok = (f.max(axis=2) < 0.999) & (f.min(axis=2) > 0.001)
    np.testing.assert_allclose(grey[..., 0][ok], rgb_to_ycbcr(f)[..., 0][ok], atol=5e-4)


def test_memory_is_bounded_by_strips_not_image_size():
    lut = _lut()

    def extra(h: int) -> int:
        shots = _bracket(h, 800)
        tracemalloc.start()
        out = fuse_lut(shots, weights=lut, threads=1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak - out.nbytes

    small, large = extra(400), extra(3200)
    # 8 times the rows, same working set beyond the output (strips of rows, small maps);
    # holding one float32 copy of one shot would add 30 MB at 3200 x 800
    assert large < small + 2_000_000, (small, large)


def test_bad_input_and_weights_errors(tmp_path):
    shot = np.zeros((10, 12, 3), np.uint8)
    with pytest.raises(InputError, match="at least 2"):
        fuse_lut([shot])
    with pytest.raises(InputError, match="shipped LUT weights name"):
        fuse_lut([shot, shot], weights="nope")
    with pytest.raises(MissingResourceError, match="does not exist"):
        fuse_lut([shot, shot], weights=tmp_path / "absent.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    (tmp_path / "bad.json").write_text('{"architecture": {}}')
    with pytest.raises(InputError, match="unreadable"):
        fuse_lut([shot, shot], weights=tmp_path / "bad.safetensors")
    with pytest.raises(InputError, match="positive"):
        LUTFusion({n: -np.ones((n, BINS), np.float32) for n in FRAMES})
    with pytest.raises(InputError, match="N = "):
        LUTFusion({2: np.ones((2, BINS), np.float32)})
    with pytest.raises(InputError, match="no option 'tile'"):
        fuse([shot, shot], method="lut", tile=64)


# --- shipped tables ---------------------------------------------------------------------------
def _shipped() -> LUTFusion:
    if not (WEIGHTS_DIR / "lut.safetensors").is_file():
        pytest.skip("shipped LUT weights are absent (package built without them)")
    return load_lut("lut")


def test_shipped_tables_beat_plain_averaging_and_need_no_torch():
    lut = _shipped()
    shots = _bracket(120, 160)
    out = fuse_lut(shots, threads=1)
    srcs = [s.astype(np.float32) / 255 for s in shots]
    avg = np.mean(srcs, axis=0)
    assert mef_ssim(out, srcs, data_range=1.0) > mef_ssim(avg, srcs, data_range=1.0)
    assert lut.low_side >= 8 and lut.eps > 0
    code = ("import sys, numpy as np; from expokit.fusion import fuse; "
            "s = [np.full((20, 30, 3), v, np.uint8) for v in (30, 220)]; "
            "fuse(s, method='lut'); print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_a_tables_file_that_does_not_match_its_record_is_refused(tmp_path):
    import json
    import shutil

    _shipped()
    shutil.copy(WEIGHTS_DIR / "lut.safetensors", tmp_path / "t.safetensors")
    record = json.loads((WEIGHTS_DIR / "lut.json").read_text(encoding="utf-8"))
    (tmp_path / "t.json").write_text(json.dumps(record), encoding="utf-8")
    assert load_lut(tmp_path / "t.safetensors").eps == load_lut("lut").eps
    record["sha256"] = "0" * 64
    (tmp_path / "t.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(InputError, match="SHA-256"):
        load_lut(tmp_path / "t.safetensors")


def test_cli_fuses_with_the_shipped_tables_and_a_given_file(tmp_path):
    from conftest import run_cli

    from expokit.io import read_image

    _shipped()
    paths = []
    for i, shot in enumerate(_bracket(48, 64)):
        paths.append(tmp_path / f"s{i}.png")
        cv2.imwrite(str(paths[-1]), shot[..., ::-1])
    proc = run_cli("fuse", *paths, "-o", tmp_path / "a.png", "--method", "lut")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("fuse", *paths, "-o", tmp_path / "b.png", "--method", "lut", "--weights",
                   WEIGHTS_DIR / "lut.safetensors")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), read_image(tmp_path / "b.png"))
    proc = run_cli("fuse", *paths, "-o", tmp_path / "c.png", "--method", "lut", "--tile", "64")
    assert proc.returncode != 0 and "tile" in proc.stderr


# --- the torch twin used for training --------------------------------------------------------
def test_torch_model_fuses_like_the_numpy_inference():
    torch = pytest.importorskip("torch")
    from expokit.train.lut_model import FusionLUT

    torch.manual_seed(0)
    model = FusionLUT(low_side=32, radius=2)
    with torch.no_grad():
        for n in FRAMES:
            getattr(model, f"logits_{n}").add_(0.5 * torch.randn(n, BINS))
    lut = model.to_numpy()
    rng = np.random.default_rng(1)
    base = rng.random((90, 130)).astype(np.float32)
    for n in (2, 3, 5):
        ys = [np.clip(base * (1.1 - 0.2 * k), 0, 1).astype(np.float32) for k in range(n)]
        out = fuse_lut([y[..., None] for y in ys], weights=lut, threads=1)[..., 0]
        lows = [low_resolution(y, 32) for y in ys]
        order = order_by_brightness(lows)
        y_t = torch.from_numpy(np.stack([ys[i] for i in order]))[None]
        low_t = torch.from_numpy(np.stack([lows[i] for i in order]))[None]
        with torch.no_grad():
            ref = model(y_t, low_t)[0, 0].clamp(0, 1).numpy()
        np.testing.assert_allclose(out, ref, atol=2e-5)


def test_a_few_training_steps_raise_mef_ssim_on_the_training_bracket():
    torch = pytest.importorskip("torch")
    from expokit.nn.losses import mef_ssim_loss
    from expokit.train.lut_model import FusionLUT

    shots = [rgb_to_ycbcr(s)[..., 0] for s in _bracket(96, 128, seed=2)]
    lows = [low_resolution(y, 32) for y in shots]
    y = torch.from_numpy(np.stack(shots))[None]
    low = torch.from_numpy(np.stack(lows))[None]
    model = FusionLUT(low_side=32, radius=2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)

    def loss() -> torch.Tensor:
        return mef_ssim_loss(model(y, low).double(), y[:, :, None].double())

    with torch.no_grad():
        start = float(loss())
    for _ in range(30):
        opt.zero_grad()
        value = loss()
        value.backward()
        opt.step()
    with torch.no_grad():
        assert float(loss()) < start - 0.005
