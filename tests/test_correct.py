"""expokit.correct: UEC exposure correction of photos and the reference-based baselines.

Reference values: identity cases follow from the model's construction (reference = input) or
from the method's definition (histogram matching an image to itself); the gain-gamma fit is
checked on synthetic grey images made with a known gain and gamma; the lookup-table renderer
is checked against the exact per-pixel MLP.
"""

from __future__ import annotations

import numpy as np
import pytest

from expokit.correct import fit_gain_gamma, gain_gamma_to, match_histograms_to
from expokit.errors import InputError, MissingResourceError

torch = pytest.importorskip("torch")

import expokit.correct.uec as cu  # noqa: E402
from expokit.correct import correct_exposure  # noqa: E402
from expokit.models.uec import UEC  # noqa: E402
from expokit.models.zoo import WEIGHTS_DIR, export_weights  # noqa: E402


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """A random (untrained) UEC with non-trivial lambdas, exported like shipped weights."""
    torch.manual_seed(0)
    m = UEC()
    with torch.no_grad():
        m.predictor.fc4.weight.mul_(20.0)
        m.ev_features.copy_(torch.rand(7, 96).cumsum(0))
        m.default_feature.copy_(m.ev_features[3])
    path = tmp_path_factory.mktemp("uec") / "random_uec"
    export_weights(m, path, name="random_uec", architecture={"passes": 3})
    return str(path) + ".safetensors"


def _photo(h: int = 60, w: int = 90, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([xx, yy, 0.5 * (xx + yy)], axis=2)
    return np.clip(base + 0.1 * rng.random((h, w, 3)), 0, 1).astype(np.float32)


# --- correct_exposure ------------------------------------------------------------------------
def test_output_shape_dtype_range(weights: str) -> None:
    img = (_photo() * 255).round().astype(np.uint8)
    out = correct_exposure(img, weights=weights)
    assert out.shape == img.shape and out.dtype == np.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not np.array_equal(out, img / 255.0)  # it did something


def test_8_and_16_bit_inputs_give_the_same_result(weights: str) -> None:
    u8 = (_photo() * 255).round().astype(np.uint8)
    u16 = u8.astype(np.uint16) * np.uint16(257)  # the same code values in 16 bits
    ref = (_photo(seed=3) ** 3 * 255).astype(np.uint8)
    a = correct_exposure(u8, reference=ref, weights=weights)
    b = correct_exposure(u16, reference=ref, weights=weights)
    c = correct_exposure(u8.astype(np.float32) / 255, reference=ref, weights=weights)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)


def test_input_is_not_modified(weights: str) -> None:
    img = _photo()
    keep = img.copy()
    correct_exposure(img, reference=img ** 2, weights=weights)
    assert np.array_equal(img, keep)


def test_reference_equal_to_input_is_identity(weights: str) -> None:
    img = _photo(80, 50)
    out = correct_exposure(img, reference=img, weights=weights)
    assert np.array_equal(out, img)  # lambda = 1 exactly: the model leaves it alone


def test_reference_of_any_size(weights: str) -> None:
    img = _photo()
    out = correct_exposure(img, reference=_photo(300, 41) ** 2, weights=weights)
    assert out.shape == img.shape


def test_ev_zero_targets_the_default_feature(weights: str) -> None:
    # ev = 0 is the model's own full transform toward the shipped default feature (the
    # no-reference default is the neutral, clip-limited version of it; see below).
    img = _photo()
    model = cu.load_uec(weights)
    with torch.no_grad():
        want = model(torch.from_numpy(img).permute(2, 0, 1)[None], model.default_feature)
    np.testing.assert_allclose(correct_exposure(img, ev=0.0, weights=weights),
                               want[0].permute(1, 2, 0).numpy(), atol=1e-3)
    assert not np.array_equal(correct_exposure(img, ev=2.0, weights=weights),
                              correct_exposure(img, ev=0.0, weights=weights))


def test_lookup_table_renderer_matches_exact(weights: str, monkeypatch) -> None:
    img = (_photo(120, 200, seed=5) * 255).astype(np.uint8)
    ref = _photo(seed=7) ** 0.3
    exact = correct_exposure(img, reference=ref, weights=weights)
    monkeypatch.setattr(cu, "LUT_MIN_PIXELS", 0)
    table = correct_exposure(img, reference=ref, weights=weights)
    assert float(np.abs(table - exact).max()) <= cu.LUT_MAX_ERROR


def test_errors(weights: str) -> None:
    img = _photo()
    with pytest.raises(InputError, match="reference is a str"):
        correct_exposure(img, reference="nice.jpg", weights=weights)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"reference has shape \(20, 20, 4\)"):
        correct_exposure(img, reference=np.zeros((20, 20, 4), np.uint8), weights=weights)
    with pytest.raises(InputError, match=r"reference has 1 channel\(s\)"):
        correct_exposure(img, reference=np.zeros((20, 20), np.uint8), weights=weights)
    with pytest.raises(InputError, match=r"reference has shape \(20,\)"):
        correct_exposure(img, reference=np.zeros(20, np.uint8), weights=weights)
    with pytest.raises(InputError, match="not both"):
        correct_exposure(img, reference=img, ev=1.0, weights=weights)
    with pytest.raises(InputError, match=r"ev must be .*\[-3, 3\]"):
        correct_exposure(img, ev=4.0, weights=weights)
    with pytest.raises(InputError, match="ev must be"):
        correct_exposure(img, ev="bright", weights=weights)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"float values in \[.*\], expected display-referred"):
        correct_exposure(img * 2, weights=weights)
    with pytest.raises(InputError, match=r"image has 1 channel\(s\)"):
        correct_exposure(img[..., :1], weights=weights)
    with pytest.raises(MissingResourceError, match="does not exist"):
        correct_exposure(img, weights="/nonexistent/uec.safetensors")
    with pytest.raises(InputError, match="neither a shipped name"):
        correct_exposure(img, weights="uec-large")


# --- shipped weights -------------------------------------------------------------------------
def _need_shipped() -> None:
    if not (WEIGHTS_DIR / "uec.safetensors").is_file():
        pytest.skip("shipped UEC weights are absent")


def test_shipped_ev_brightens_monotonically() -> None:
    _need_shipped()
    img = (_photo(90, 120) * 0.5) ** 1.5
    means = [float(correct_exposure(img, ev=ev).mean()) for ev in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    assert all(b > a for a, b in zip(means[:-1], means[1:], strict=True)), means


def test_shipped_brightens_dark_and_darkens_bright_toward_default() -> None:
    _need_shipped()
    img = _photo(90, 120)
    dark, bright = img * 0.1, np.clip(img * 3.0, 0, 1)
    assert correct_exposure(dark).mean() > dark.mean() + 0.1
    assert correct_exposure(bright).mean() < bright.mean() - 0.05


# --- baselines -------------------------------------------------------------------------------
def test_histogram_matching_to_itself_is_identity() -> None:
    img = _photo(40, 50)
    np.testing.assert_allclose(match_histograms_to(img, img), img, atol=1e-6)


def test_histogram_matching_to_a_monotone_remap() -> None:
    # distinct values; the reference is a monotone function of the image: matching recovers it
    img = np.random.default_rng(0).permutation(40 * 30 * 3).reshape(40, 30, 3) / 3600.0
    ref = np.sqrt(img)
    np.testing.assert_allclose(match_histograms_to(img.astype(np.float32), ref), ref, atol=1e-6)


def test_gain_gamma_fit_recovers_known_values() -> None:
    rng = np.random.default_rng(1)
    grey = np.repeat(rng.uniform(0.05, 0.6, (50, 70, 1)), 3, axis=2).astype(np.float32)
    gain, gamma = 1.3, 0.7
    target = gain * grey.astype(np.float64) ** gamma  # within (0, 1): no clipping
    assert target.max() < 1.0
    g, gm = fit_gain_gamma(grey, target.astype(np.float32))
    assert g == pytest.approx(gain, rel=1e-4) and gm == pytest.approx(gamma, rel=1e-4)
    np.testing.assert_allclose(gain_gamma_to(grey, target.astype(np.float32)), target, atol=1e-5)


def test_gain_gamma_takes_only_statistics_from_reference() -> None:
    rng = np.random.default_rng(2)
    grey = np.repeat(rng.uniform(0.05, 0.6, (30, 30, 1)), 3, axis=2).astype(np.float32)
    shuffled = rng.permutation(grey.reshape(-1, 3)).reshape(grey.shape)  # same statistics
    assert fit_gain_gamma(grey, shuffled) == pytest.approx((1.0, 1.0), rel=1e-6)


def test_baselines_accept_integer_images_and_check_input() -> None:
    img = (_photo() * 255).astype(np.uint8)
    ref = (_photo(seed=2) * 65535 * 0.5).astype(np.uint16)
    for fn in (match_histograms_to, gain_gamma_to):
        out = fn(img, ref)
        assert out.shape == img.shape and out.dtype == np.float32
        assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
        with pytest.raises(InputError, match=r"reference has shape \(5, 5, 4\)"):
            fn(img, np.zeros((5, 5, 4), np.uint8))
        with pytest.raises(InputError, match="image is a list"):
            fn([[0.5]], ref)


# --- the default target (issue 9): no new clipping, neutral, no-op when well exposed, monotone -
# Scenes with known radiance photographed through a noise-free sRGB camera at a known offset from
# the automatic exposure (key 0.18, the rule that defined the training's EV 0): the right
# answers follow from the scene, not from the model.
def _landscape(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """Linear radiance: a blue sky that brightens toward the horizon over textured ground."""
    import cv2

    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    noise = cv2.resize(rng.random((h // 8, w // 8), dtype=np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    horizon = 0.45 + 0.05 * np.sin(6 * x)
    sky = (0.3 + 1.4 * np.clip(y / horizon, 0, 1))[..., None] * np.float32([0.55, 0.75, 1.0])
    ground = (0.02 + 0.2 * np.clip(noise, 0, 1))[..., None] * np.float32([0.9, 1.0, 0.6])
    rad = np.where((y < horizon)[..., None], sky, ground)
    return np.ascontiguousarray(np.broadcast_to(rad, (h, w, 3)), dtype=np.float32)


def _shot(rad: np.ndarray, ev: float) -> np.ndarray:
    """8-bit sRGB photo of ``rad`` taken ``ev`` stops from its automatic exposure."""
    from expokit.simulate import auto_exposure_time, photograph

    return photograph(rad, [auto_exposure_time(rad) * 2.0**ev])[0]


def _clipped(img: np.ndarray) -> np.ndarray:
    """Pixels with a channel at the top 8-bit code (after rounding a float image to 8 bits)."""
    codes = img if img.dtype == np.uint8 else np.rint(img * 255.0)
    return (codes >= 255).any(axis=2)


def _interior(ev: float) -> np.ndarray:
    from expokit.simulate import render_scene

    return _shot(render_scene(240, 320), ev)


@pytest.mark.parametrize("ev", [-4.0, -3.7, -2.0, 0.0])
def test_default_never_clips_more_than_one_point_of_unclipped_pixels(ev: float) -> None:
    # -3.7 EV: a dark room whose window is clipped on 4 % of the frame and bright just below
    # clipping on more; the report's "3.4 % -> 25.9 %" case.
    _need_shipped()
    for img in (_interior(ev), _shot(_landscape(), ev)):
        out = correct_exposure(img)
        newly = _clipped(out) & ~_clipped(img)
        assert newly.mean() <= 0.01, (ev, _clipped(img).mean(), _clipped(out).mean())


def test_default_keeps_neutral_colours_neutral() -> None:
    _need_shipped()
    from expokit.color import luminance
    from expokit.simulate import render_scene

    grey = np.repeat(luminance(render_scene(240, 320))[..., None], 3, axis=2)
    img = _shot(grey, -4.0)  # R = G = B in every pixel
    out = correct_exposure(img)
    assert out.mean() > img.mean() / 255 + 0.05  # it did brighten
    assert float(np.ptp(out, axis=2).max()) <= 1e-6  # R = G = B out


def test_default_keeps_the_colour_balance_of_a_dark_shot() -> None:
    # The report: a -4 EV shot of mean RGB (14, 16, 18) came out (141, 136, 114), yellow.
    _need_shipped()
    rad = _landscape() * np.float32([0.75, 0.9, 1.1])
    img = _shot(rad, -4.0)
    m_in = img.reshape(-1, 3).mean(0)
    assert m_in[2] > m_in[1] > m_in[0]  # bluish in
    out = correct_exposure(img)
    m_out = out.reshape(-1, 3).mean(0)
    assert m_out.mean() > m_in.mean() / 255 + 0.05
    assert m_out[2] > m_out[1] > m_out[0]  # bluish out: the order of the channels is kept
    # and in every pixel: a channel that was the largest stays the largest
    order_in = np.argsort(img.reshape(-1, 3), axis=1, kind="stable")
    vals = np.take_along_axis(out.reshape(-1, 3), order_in, axis=1)
    assert bool((np.diff(vals, axis=1) >= 0).all())


@pytest.mark.parametrize("which", ["interior", "landscape"])
def test_default_leaves_a_well_exposed_photo_nearly_unchanged(which: str) -> None:
    _need_shipped()
    from expokit.metrics import psnr

    img = _interior(0.0) if which == "interior" else _shot(_landscape(), 0.0)
    out = correct_exposure(img)
    assert psnr(out, img / 255.0, data_range=1.0) > 35.0


@pytest.mark.parametrize("gain", [0.15, 3.0])  # about -2.7 EV (brightened), +1.6 (darkened)
def test_default_is_monotone_in_input_intensity(gain: float) -> None:
    _need_shipped()
    rng = np.random.default_rng(1)
    photo = (np.clip(_photo(90, 128) * gain, 0, 1) * 255).astype(np.uint8)
    ramp = np.repeat(np.arange(0, 256, 2, dtype=np.uint8)[None, :, None], 3, axis=2)
    ramp = ramp.repeat(2, axis=0)  # codes 0, 2, ..., 254 along the row, R = G = B
    img = np.concatenate([photo, ramp], axis=0)
    img[-1] = rng.integers(0, 256, (128, 3), dtype=np.uint8)
    out = correct_exposure(img)
    assert abs(out.mean() - img.mean() / 255) > 0.03  # it did correct
    # outputs never decrease along the ramp
    assert bool((np.diff(out[-2], axis=0) >= 0).all())
    # any two pixels ordered channel by channel stay ordered
    a, b = img.reshape(-1, 3).astype(int), out.reshape(-1, 3)
    i, j = rng.integers(0, len(a), (2, 20000))
    le = (a[i] <= a[j]).all(axis=1)
    assert le.sum() > 100
    assert bool((b[i][le] <= b[j][le] + 1e-7).all())


def test_default_keeps_the_demo_window_blue() -> None:
    # The demo's UEC step: the 1/16 s shot of the demo scene; its window (sky radiance known
    # from expokit.simulate.render_scene: blue > red everywhere) must not turn white.
    _need_shipped()
    from expokit.demo import DEMO_TIMES
    from expokit.simulate import photograph, render_scene

    h, w = 240, 320
    truth = render_scene(h, w, seed=0)
    img = photograph(truth, DEMO_TIMES, noise=0.002, seed=1)[1]
    out = correct_exposure(img)
    y, x = np.mgrid[0:h, 0:w] / np.float32([h, w])[:, None, None]
    window = (x > 0.17) & (x < 0.53) & (y > 0.14) & (y < 0.53)
    window &= np.abs(x - 0.35) > 0.02  # away from the mullions and the sun
    window &= (np.abs(y - 0.335) > 0.02) & ~_clipped(img)
    assert window.mean() > 0.05
    assert _clipped(out)[window].mean() <= 0.05  # the report: all of it went white
    assert bool((out[window][:, 2] > out[window][:, 0]).mean() > 0.95)  # still blue
    # and visibly so, not 254 vs 252: at least a quarter of the blue excess is kept (the
    # default flattens highlight contrast at most 4 times on all but 1 % of the pixels)
    blue_in = (img[window][:, 2].astype(float) - img[window][:, 0]).mean() / 255
    blue_out = (out[window][:, 2] - out[window][:, 0]).mean()
    assert blue_in > 0.1 and blue_out >= 0.25 * blue_in
    assert out.mean() > img.mean() / 255 + 0.05  # and the room is brighter


def test_default_is_the_same_for_8_bit_16_bit_and_float(weights: str) -> None:
    u8 = (_photo() * 0.2 * 255).round().astype(np.uint8)  # about -3 EV: corrected
    assert cu.plan_default_correction(u8, weights=weights).strength > 0
    a = correct_exposure(u8, weights=weights)
    b = correct_exposure(u8.astype(np.uint16) * np.uint16(257), weights=weights)
    c = correct_exposure(u8.astype(np.float32) / 255, weights=weights)
    # 16-bit and float read a 1025-sample curve between the 8-bit codes
    np.testing.assert_allclose(a, b, atol=2e-3)
    np.testing.assert_allclose(a, c, atol=2e-3)


def test_default_plan_of_a_well_exposed_photo_is_no_change(weights: str) -> None:
    img = _shot(_landscape(), 0.0)  # auto exposure; 12 % of the frame (sky) clipped
    plan = cu.plan_default_correction(img, weights=weights)
    assert plan.strength == 0.0 and plan.limited_by == "well exposed"
    assert abs(plan.exposure_error) <= cu.NOOP_STOPS
    assert np.array_equal(correct_exposure(img, weights=weights), img / np.float32(255))
