"""Tone mapping: analytic answers of the papers' formulas, independent float64 re-computations,
OpenCV where its definitions coincide with ours, properties that must hold (monotonicity,
scale invariance, colour ratios), bad input, and real HDR panoramas."""

from __future__ import annotations

import logging
import math
import typing

import cv2
import numpy as np
import pytest
from conftest import data_root
from scipy.stats import spearmanr

from expokit import InputError
from expokit.color import linear_to_srgb, luminance
from expokit.simulate import render_scene
from expokit.tonemap import (
    TONEMAPPERS,
    ToneMapper,
    tonemap,
    tonemap_drago,
    tonemap_mantiuk,
    tonemap_reinhard,
    tonemap_reinhard_local,
)

METHODS = list(TONEMAPPERS)
KEY = 0.18


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """render_scene: about 4.5 decades, sun 300, dim textured walls ~0.02 (known radiance)."""
    return render_scene(240, 320, seed=0)


def log_lum(img: np.ndarray) -> np.ndarray:
    return np.log10(np.maximum(luminance(img).astype(np.float64), 1e-6))


def highpass(x: np.ndarray) -> np.ndarray:
    return x - cv2.GaussianBlur(x, (0, 0), 2.0)


# --- analytic answers ------------------------------------------------------------------------
@pytest.mark.parametrize("level", [1e-3, 1.0, 250.0])
def test_reinhard_constant_image_gives_key_over_one_plus_key(level):
    # Uniform image: log-average = L, so the scaled luminance is exactly the key (eq. 2) and
    # eq. 3 (white = inf) gives key / (1 + key), whatever the radiance level.
    rad = np.full((6, 7, 3), level, np.float32)
    expected = KEY / (1 + KEY)
    lin = tonemap_reinhard(rad, key=KEY, white=math.inf, encoding="linear")
    np.testing.assert_allclose(lin, expected, rtol=1e-6)
    srgb = tonemap_reinhard(rad, key=KEY, white=math.inf)
    np.testing.assert_allclose(srgb, linear_to_srgb(np.float32(expected)), rtol=1e-6)


def test_reinhard_local_on_uniform_image_equals_global():
    # Centre and surround are equal everywhere, V = 0 at every scale (eq. 7), the largest
    # scale is selected and eq. 9 reduces to L / (1 + L) with L = key.
    rad = np.full((20, 30, 3), 7.5, np.float32)
    out = tonemap_reinhard_local(rad, encoding="linear")
    np.testing.assert_allclose(out, KEY / (1 + KEY), rtol=1e-6)


def test_reinhard_white_maps_to_exactly_one():
    # Half the pixels at 1, half at 4: log-average 2, so key-scaled luminances are 0.09 and
    # 0.36 (eq. 2). With white = 0.36, eq. 4 gives 0.36 (1 + 0.36 / 0.36^2) / 1.36 = 1 and
    # 0.09 (1 + 0.09 / 0.1296) / 1.09 for the darker half.
    rad = np.ones((4, 4, 1), np.float32)
    rad[:, 2:] = 4.0
    out = tonemap_reinhard(rad, key=KEY, white=0.36, encoding="linear")
    np.testing.assert_allclose(out[:, 2:], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, :2], 0.09 * (1 + 0.09 / 0.36**2) / 1.09, rtol=1e-6)


def test_reinhard_default_white_is_the_image_maximum(scene):
    lin = tonemap_reinhard(scene, encoding="linear")
    lum = luminance(scene)
    assert luminance(lin)[np.unravel_index(np.argmax(lum), lum.shape)] == pytest.approx(1, 1e-6)


def test_reinhard_matches_an_independent_float64_implementation(scene):
    # Eq. 1-4 written out in float64 (with the documented relative log floor) on the scene.
    lum = luminance(scene).astype(np.float64)
    avg = np.exp(np.mean(np.log(np.maximum(lum, lum.max() * 1e-6))))
    ls = KEY / avg * lum
    white = 1.5
    ld = ls * (1 + ls / white**2) / (1 + ls)
    ref = np.clip(scene * (ld / lum)[..., None], 0, 1)
    out = tonemap_reinhard(scene, key=KEY, white=white, encoding="linear")
    np.testing.assert_allclose(out, ref, atol=2e-6)


def test_reinhard_local_matches_an_independent_float64_implementation(scene):
    # Eq. 5-9 in float64: every centre Gaussian at full size, the scale chosen per pixel as
    # the last one before |V| >= epsilon. Agreement to float32 rounding means the
    # vectorised scale selection is the paper's.
    key, phi, eps, n = 0.18, 8.0, 0.05, 8
    lum = luminance(scene).astype(np.float64)
    ls = key / np.exp(np.mean(np.log(np.maximum(lum, lum.max() * 1e-6)))) * lum
    alpha = 1 / (2 * math.sqrt(2))
    v1 = [cv2.GaussianBlur(ls, (0, 0), alpha * 1.6**i / math.sqrt(2),
                           borderType=cv2.BORDER_REFLECT) for i in range(n + 1)]
    chosen, active = v1[0].copy(), np.ones(lum.shape, bool)
    for i in range(n):
        v = (v1[i] - v1[i + 1]) / (2**phi * key / 1.6 ** (2 * i) + v1[i])
        active &= np.abs(v) < eps
        chosen[active] = v1[i][active]
    ref = np.clip(scene * (ls / (1 + chosen) / lum)[..., None], 0, 1)
    out = tonemap_reinhard_local(scene, key=key, phi=phi, epsilon=eps, num_scales=n,
                                 encoding="linear")
    np.testing.assert_allclose(out, ref, atol=2e-6)
    # ... and it is a local operator: it differs from the global one near the window.
    glob = tonemap_reinhard(scene, white=math.inf, encoding="linear")
    assert np.abs(out - glob).max() > 0.05


def test_drago_matches_an_independent_float64_implementation(scene):
    lum = luminance(scene).astype(np.float64)
    lw = lum / np.exp(np.mean(np.log(np.maximum(lum, lum.max() * 1e-6))))
    lmax, bias, ld_max = lw.max(), 0.8, 80.0
    p = math.log(bias) / math.log(0.5)
    ld = (ld_max / 100 / math.log10(lmax + 1) * np.log(lw + 1)
          / np.log(2 + 8 * (lw / lmax) ** p))
    ref = np.clip(scene * (ld / lum)[..., None], 0, 1)
    out = tonemap_drago(scene, bias=bias, ld_max=ld_max, encoding="linear")
    np.testing.assert_allclose(out, ref, atol=2e-6)
    # ld_max / 100 is the display value of the brightest pixel.
    assert luminance(out).max() == pytest.approx(0.8, rel=1e-5)


# --- agreement with OpenCV -------------------------------------------------------------------
@pytest.mark.parametrize("bias", [0.7, 0.85, 1.0])
def test_drago_matches_opencv_where_the_definitions_coincide(scene, bias):
    # OpenCV's TonemapDrago first rescales the image to [0, 1] by (x - min) / (max - min),
    # floors luminance at 1e-4 before its log-average, and finally divides by the maximum
    # (gamma 1 here). On a grey image with minimum 0 and all other pixels above 1e-4 of the
    # maximum none of that changes anything, and eq. 4 must come out the same. The zero pixel
    # itself is NaN in OpenCV (0 / 0 in its colour step) and is left out.
    lum = luminance(scene)
    lum = np.maximum(lum, np.float32(2e-4) * lum.max())
    lum[0, 0] = 0.0
    grey = np.repeat(lum[..., None], 3, axis=2)
    ref = cv2.createTonemapDrago(1.0, 1.0, bias).process(grey)
    keep = np.ones(lum.shape, bool)
    keep[0, 0] = False
    ref = ref / np.nanmax(ref[keep])
    ours = tonemap_drago(grey, bias=bias, encoding="linear")
    assert np.abs(ours - ref)[keep].max() < 3e-5  # measured 0.5e-5 .. 1.3e-5


def test_drago_agrees_with_opencv_in_colour(scene):
    # In colour OpenCV also subtracts the minimum, uses BT.601 grey weights on its BGR data
    # and normalises by the largest channel, so the match is close but not exact
    # (measured Pearson r = 0.9957).
    ref = cv2.createTonemapDrago(1.0, 1.0, 0.85).process(np.ascontiguousarray(scene[..., ::-1]))
    ours = tonemap_drago(scene, encoding="linear")
    r = np.corrcoef(ours.ravel(), ref[..., ::-1].ravel())[0, 1]
    assert r > 0.99


def test_reinhard_orders_pixels_like_opencv(scene):
    # cv2.createTonemapReinhard is Reinhard & Devlin 2005 (photoreceptor model, exponent
    # from the image's log statistics), not the 2002 operator, so only the shared property
    # is compared: both are increasing functions of luminance relative to an adaptation
    # level, hence order the pixels alike (measured Spearman rho = 0.999999).
    ref = cv2.createTonemapReinhard(1.0, 0.0, 0.0, 0.0).process(
        np.ascontiguousarray(scene[..., ::-1]))[..., ::-1]
    ours = tonemap_reinhard(scene, encoding="linear")
    rho = spearmanr(luminance(ours).ravel(), luminance(np.ascontiguousarray(ref)).ravel())[0]
    assert rho > 0.9995


def test_mantiuk_loosely_agrees_with_opencv(scene):
    # OpenCV's TonemapMantiuk maps contrasts with the pure power transducer, which makes it a
    # global power curve (see expokit.tonemap.mantiuk); ours keeps more texture. The log
    # luminances still agree closely overall (measured Pearson r = 0.987).
    ref = cv2.createTonemapMantiuk(1.0, 0.7, 1.0).process(
        np.ascontiguousarray(scene[..., ::-1]))[..., ::-1]
    ours = tonemap_mantiuk(scene, encoding="linear")
    r = np.corrcoef(log_lum(ours).ravel(), log_lum(np.ascontiguousarray(ref)).ravel())[0, 1]
    assert r > 0.95


# --- Mantiuk: solver and contrast properties -------------------------------------------------
def test_mantiuk_at_scale_one_reconstructs_the_log_luminance(scene):
    # scale = 1 leaves every contrast unchanged, so the least-squares solution is the input's
    # log luminance; the display step maps it affinely. Any solver error shows up as a
    # residual of that affine fit (measured RMS 0.0026 decades, slope 2 / 2.80 = 0.71).
    out = tonemap_mantiuk(scene, scale=1.0, encoding="linear")
    y, x = log_lum(out), log_lum(scene)
    fit = (out.max(axis=2) < 0.999) & (y > -1.99)  # unclipped at both ends
    slope, offset = np.polyfit(x[fit], y[fit], 1)
    resid = y[fit] - (slope * x[fit] + offset)
    assert np.sqrt(np.mean(resid**2)) < 0.01
    p = np.percentile(x, [0.5, 99.5])
    assert slope == pytest.approx(2.0 / (p[1] - p[0]), rel=0.02)


def test_mantiuk_solver_converges(scene):
    # Two CG iterations (default) against twelve: measured RMS 6e-4 decades; the DCT solve
    # alone (refine=0) is off by about 0.16.
    exact = log_lum(tonemap_mantiuk(scene, refine=10, encoding="linear"))
    default = log_lum(tonemap_mantiuk(scene, encoding="linear"))
    rough = log_lum(tonemap_mantiuk(scene, refine=0, encoding="linear"))
    assert np.sqrt(np.mean((default - exact) ** 2)) < 3e-3
    assert np.sqrt(np.mean((rough - exact) ** 2)) > 0.03


def test_mantiuk_compresses_large_contrasts_more_than_texture(scene):
    # The wall texture (top rows, far from the window) relative to the whole log range:
    # a global power curve keeps that ratio (input 0.0039); contrast mapping raises it
    # (measured 0.0050) while keeping the texture's shape (high-pass correlation 0.9996).
    out = tonemap_mantiuk(scene, encoding="linear")
    x, y = log_lum(scene), log_lum(out)
    wall = np.zeros(x.shape, bool)
    wall[5:24] = True

    def span(v: np.ndarray) -> float:
        lo, hi = np.percentile(v, [0.5, 99.5])
        return float(hi - lo)

    assert span(y) < 0.75 * span(x)  # dynamic range reduced: 2.0 vs 2.8 decades
    ratio_in = highpass(x)[wall].std() / span(x)
    ratio_out = highpass(y)[wall].std() / span(y)
    assert ratio_out > 1.15 * ratio_in
    assert np.corrcoef(highpass(x)[wall], highpass(y)[wall])[0, 1] > 0.99


def test_mantiuk_lower_scale_keeps_more_texture(scene):
    def detail(scale: float) -> float:
        y = log_lum(tonemap_mantiuk(scene, scale=scale, encoding="linear"))
        return float(highpass(y)[5:24].std())

    assert detail(0.4) > detail(0.7) > detail(1.0)


# --- properties of every operator ------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"white": 2.0}, {"white": math.inf}])
def test_reinhard_is_monotonic(options):
    ramp = np.geomspace(1e-4, 1e4, 2048, dtype=np.float32).reshape(1, -1).repeat(2, 0)
    out = tonemap_reinhard(ramp, **options)[0, :, 0]
    assert np.all(np.diff(out) >= 0)
    assert out[0] < 0.01 and out[-1] > 0.99


@pytest.mark.parametrize("bias", [0.85, 0.9, 1.0])
def test_drago_is_monotonic(bias):
    # 8 decades, log-average 1, so Lmax / Lwa = 1e4: eq. 4 is monotonic there for bias >= 0.85
    # (lower biases overshoot 1 below Lmax, see tonemap_drago).
    ramp = np.geomspace(1e-4, 1e4, 2048, dtype=np.float32).reshape(1, -1).repeat(2, 0)
    out = tonemap_drago(ramp, bias=bias)[0, :, 0]
    assert np.all(np.diff(out) >= 0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("factor", [1e-3, 1e3])
def test_scale_invariance(scene, method, factor):
    # Every operator normalises by a statistic that scales with the radiance (log-average,
    # or only log differences for Mantiuk), and the log floor is relative to the maximum.
    a = tonemap(scene, method=method)
    b = tonemap(scene * np.float32(factor), method=method)
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_colour_ratios_are_kept_at_saturation_one(scene, method):
    out = tonemap(scene, method=method, encoding="linear")
    ok = (out.max(axis=2) < 0.999) & (out.min(axis=2) > 1e-4)  # not clipped
    assert ok.mean() > 0.8
    np.testing.assert_allclose(out[ok] / out[ok][:, 1:2], scene[ok] / scene[ok][:, 1:2],
                               rtol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_saturation_zero_gives_grey_and_higher_saturates(scene, method):
    grey = tonemap(scene, method=method, saturation=0.0)
    assert np.ptp(grey, axis=2).max() == 0.0
    spread = [np.ptp(tonemap(scene, method=method, saturation=s, encoding="linear"),
                     axis=2).mean() for s in (0.5, 1.0, 1.5)]
    assert spread[0] < spread[1] < spread[2]


@pytest.mark.parametrize("method", METHODS)
def test_output_contract(scene, method):
    speck = np.full((16, 16, 3), 0.01, np.float32)
    speck[8, 8] = 1e6  # one extremely bright pixel
    for rad in (scene, speck, render_scene(17, 23)):
        out = tonemap(rad, method=method)
        assert out.dtype == np.float32 and out.shape == rad.shape
        assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    grey = luminance(scene)
    out2 = tonemap(grey, method=method)  # (H, W) -> (H, W, 1)
    out1 = tonemap(grey[..., None], method=method)
    assert out1.shape == (*grey.shape, 1)
    np.testing.assert_array_equal(out1, out2)
    # A grey image is a colour image with equal channels.
    colour = tonemap(np.repeat(grey[..., None], 3, axis=2), method=method)
    np.testing.assert_allclose(colour[..., :1], out1, atol=2e-6)


@pytest.mark.parametrize("method", METHODS)
def test_black_image_and_input_untouched(scene, method):
    black = tonemap(np.zeros((8, 8, 3), np.float32), method=method)
    assert black.dtype == np.float32 and not black.any()
    rad = scene.copy()
    tonemap(rad, method=method)
    np.testing.assert_array_equal(rad, scene)
    f64 = tonemap(scene.astype(np.float64), method=method)
    np.testing.assert_allclose(f64, tonemap(scene, method=method), atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_codec_noise_below_black_is_clipped_not_refused(scene, method):
    # Lossy EXR codecs leave values like -0.003 near black in scenes that reach 50 or more.
    noisy = scene.copy()
    noisy[:4, :4] = -0.002
    clean = np.maximum(noisy, 0)
    np.testing.assert_array_equal(tonemap(noisy, method=method), tonemap(clean, method=method))


# --- the dispatcher --------------------------------------------------------------------------
def test_dispatcher_routes_each_name_and_its_options(scene):
    # Each name must reach its own operator with the options given, checked against answers
    # that do not come from the operator functions themselves.
    assert set(typing.get_args(ToneMapper)) == set(TONEMAPPERS)
    # Reinhard, global and local, on a uniform image: key / (1 + key) (eq. 3 and eq. 9 with
    # V = 0), so a forwarded key=0.3 shows in the value.
    rad = np.full((20, 30, 3), 7.5, np.float32)
    out = tonemap(rad, method="reinhard", key=0.3, white=math.inf, encoding="linear")
    np.testing.assert_allclose(out, 0.3 / 1.3, rtol=1e-6)
    out = tonemap(rad, method="reinhard_local", key=0.3, encoding="linear")
    np.testing.assert_allclose(out, 0.3 / 1.3, rtol=1e-6)
    # Drago with a forwarded bias: OpenCV where the definitions coincide (see
    # test_drago_matches_opencv_where_the_definitions_coincide).
    lum = luminance(scene)
    lum = np.maximum(lum, np.float32(2e-4) * lum.max())
    lum[0, 0] = 0.0
    grey = np.repeat(lum[..., None], 3, axis=2)
    ref = cv2.createTonemapDrago(1.0, 1.0, 0.7).process(grey)
    keep = np.ones(lum.shape, bool)
    keep[0, 0] = False
    ref = ref / np.nanmax(ref[keep])
    ours = tonemap(grey, method="drago", bias=0.7, encoding="linear")
    assert np.abs(ours - ref)[keep].max() < 3e-5
    # Mantiuk: the only one of the four that keeps the log luminance at scale = 1 up to an
    # affine map (see test_mantiuk_at_scale_one_reconstructs_the_log_luminance).
    out = tonemap(scene, method="mantiuk", scale=1.0, encoding="linear")
    y, x = log_lum(out), log_lum(scene)
    fit = (out.max(axis=2) < 0.999) & (y > -1.99)
    slope, offset = np.polyfit(x[fit], y[fit], 1)
    assert np.sqrt(np.mean((y[fit] - (slope * x[fit] + offset)) ** 2)) < 0.01


def test_whole_float_options_from_the_cli_are_accepted(scene):
    a = tonemap(scene, method="reinhard_local", num_scales=6.0, phi=8)
    np.testing.assert_array_equal(a, tonemap_reinhard_local(scene, num_scales=6))


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("low", "count", "peak"), [(-5.0, 50, 1000.0), (-0.047, 35, 2.0)])
def test_negative_radiance_set_to_zero_with_a_warning(scene, caplog, method, low, count, peak):
    # One policy (docs/conventions.md): negatives become 0 with a warning that counts them.
    # -5.0 in 50 rows of a bright image (-0.5 % of its maximum) was clipped silently and
    # -0.047 in a dim one (-2.3 %) refused. The answer is that of the clipped radiance.
    rad = scene * np.float32(peak / scene.max())
    rad[:count, 0, 1] = low
    with caplog.at_level(logging.WARNING, logger="expokit"):
        out = tonemap(rad, method=method)
    assert f"radiance: {count} negative value(s) set to 0 (minimum {low:.4g})" in caplog.text
    np.testing.assert_array_equal(out, tonemap(np.maximum(rad, 0), method=method))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: np.full((8, 8, 3), np.nan, np.float32), "NaN"),
        (lambda: np.full((8, 8, 3), np.inf, np.float32), "infinite"),
        (lambda: np.ones((8, 8, 4), np.float32), r"shape \(8, 8, 4\)"),
        (lambda: np.ones((8, 8, 3, 1), np.float32), "shape"),
        (lambda: np.ones((1, 8, 3), np.float32), "too small"),
        (lambda: np.ones((8, 8, 3), np.uint8), "display-referred"),
        (lambda: [[1.0, 2.0], [3.0, 4.0]], "NumPy array"),
    ],
)
def test_bad_radiance_is_refused(method, make, match):
    with pytest.raises(InputError, match=match):
        tonemap(make(), method=method)


def test_unknown_method_lists_the_valid_ones(scene):
    # One message for every family (expokit._methods.pick): the names are quoted.
    with pytest.raises(InputError, match="unknown tone-mapping method 'durand'.*'reinhard', "
                                         "'reinhard_local', 'drago', 'mantiuk'"):
        tonemap(scene, method="durand")  # type: ignore[arg-type]


def test_unknown_option_lists_the_valid_ones(scene):
    with pytest.raises(InputError, match="drago has no option 'key'; its options are bias, "
                                         "ld_max, saturation, encoding"):
        tonemap(scene, method="drago", key=0.2)
    with pytest.raises(InputError, match="has no options 'gama', 'sat'"):
        tonemap(scene, method="mantiuk", gama=2.2, sat=1)


@pytest.mark.parametrize(
    ("method", "options", "match"),
    [
        ("reinhard", {"key": -0.1}, "key must be finite and > 0"),
        ("reinhard", {"key": "a"}, "key must be a number"),
        ("reinhard", {"white": 0.0}, "white must be > 0"),
        ("reinhard", {"saturation": math.nan}, "saturation must be a number"),
        ("reinhard_local", {"num_scales": 8.5}, "num_scales must be a whole number"),
        ("reinhard_local", {"num_scales": 0}, r"num_scales must be a whole number in \[1, 12\]"),
        ("reinhard_local", {"epsilon": 0.0}, r"epsilon must be in \(0, 1\]"),
        ("reinhard_local", {"phi": -1}, "phi must be in"),
        ("drago", {"bias": 1.5}, r"bias must be in \(0, 1\]"),
        ("drago", {"ld_max": 0}, "ld_max must be in"),
        ("mantiuk", {"scale": 0}, r"scale must be in \(0, 2\]"),
        ("mantiuk", {"display_range": 9}, "display_range must be in"),
        ("mantiuk", {"refine": -1}, "refine must be a whole number"),
        ("mantiuk", {"threads": 0}, "threads must be a whole number"),
        ("drago", {"encoding": "gamma"}, "encoding must be 'srgb'"),
    ],
)
def test_bad_options_are_refused(scene, method, options, match):
    with pytest.raises(InputError, match=match):
        tonemap(scene[:16, :16], method=method, **options)


# --- real data -------------------------------------------------------------------------------
def _exr_files() -> list:
    folder = data_root() / "hdr_cc0"
    return sorted(folder.glob("*.exr")) if folder.is_dir() else []


@pytest.mark.parametrize("path", _exr_files() or [None], ids=lambda p: p.stem if p else "absent")
def test_real_hdr_panoramas(path):
    # CC0 panoramas (HDRI Haven, 512x1024, up to 10^7:1, with small negative codec noise).
    if path is None:
        pytest.skip(f"no .exr files under {data_root() / 'hdr_cc0'} (set EXPOKIT_DATA)")
    from expokit.io import read_image

    rad = read_image(path)
    for method in METHODS:
        out = tonemap(rad, method=method)
        assert out.dtype == np.float32 and out.shape == rad.shape
        assert np.isfinite(out).all() and 0.0 <= out.min() and out.max() <= 1.0
        # measured means 0.21 (Mantiuk, sunrise) .. 0.46 (Reinhard, studio)
        assert 0.2 < float(out.mean()) < 0.7, (method, float(out.mean()))
