"""Tests of the bracket simulator ``expokit.simulate``.

Reference values come from hand computation (the sRGB formula, the Poisson-Gaussian variance
``a x + b`` written out from the camera's ISO, full well and read noise), from independent
code (``expokit.hdr.merge_debevec`` with ``response_srgb``, OpenCV's ``phaseCorrelate`` and
``PSNR``) or from physics (clipping, monotonicity), never from the simulator's own output.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np
import pytest
from conftest import need

from expokit.errors import InputError, MissingResourceError
from expokit.hdr import merge_debevec, response_srgb
from expokit.io import write_image
from expokit.simulate import (
    Camera,
    SimulatedBracket,
    add_sensor_noise,
    apply_response,
    auto_exposure_time,
    curve_from_response,
    inverse_response,
    load_radiance,
    noise_model,
    random_camera,
    render_scene,
    render_shot,
    simulate_bracket,
    simulate_exposures,
)
from expokit.tonemap import tonemap

CLEAN = {"full_well": float("inf"), "read_noise": 0.0}
REC709 = np.array([0.2126, 0.7152, 0.0722])


def srgb(x: float) -> float:
    """IEC 61966-2-1 encoding, written out (independent of expokit.color)."""
    return 12.92 * x if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055


def srgb_inv(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return render_scene(96, 128, seed=3)


# -- ground truth -----------------------------------------------------------------------------
def test_radiance_recovered_from_bracket(scene):
    """A noise-free 16-bit sRGB bracket merged with the known inverse response (Debevec)
    gives the scene back: exposure 1 is saturation, so radiance = response(code) / t."""
    cam = Camera(bit_depth=16, **CLEAN)
    b = simulate_bracket(scene, evs=(-8, -6, -4, -2, 0, 2, 4), camera=cam)
    assert isinstance(b, SimulatedBracket)
    assert [im.dtype for im in b.images] == [np.uint16] * 7
    np.testing.assert_array_equal(b.radiance, scene)
    hdr = merge_debevec(b.images, b.exposure_times, response=response_srgb(1024))
    ratio = hdr.astype(np.float64) / scene
    scale = float(np.median(ratio))
    assert abs(scale - 1.0) < 1e-3  # units: exposure 1 = saturation, so no scale at all
    rel = np.abs(ratio / scale - 1.0)
    ref = b.images[b.reference_index].astype(np.float64) / 65535
    well = ((ref > 0.05) & (ref < 0.95)).all(axis=2)
    assert well.mean() > 0.5
    assert np.median(rel[well]) < 2e-4
    assert np.percentile(rel[well], 99) < 1e-3
    assert np.median(rel) < 1e-3  # also over all pixels (the clipped sun aside)


def test_noisy_8bit_bracket_recovers_radiance_within_noise(scene):
    b = simulate_bracket(scene, evs=(-8, -6, -4, -2, 0, 2, 4), camera=Camera(iso=400), seed=1)
    hdr = merge_debevec(b.images, b.exposure_times, response="srgb")
    rel = np.abs(hdr.astype(np.float64) / scene - 1.0)
    assert np.median(rel) < 0.03


def test_target_is_reinhard_of_the_radiance(scene):
    b = simulate_bracket(scene)
    assert b.target.dtype == np.float32 and b.target.shape == scene.shape
    assert 0.0 <= b.target.min() and b.target.max() <= 1.0
    np.testing.assert_array_equal(b.target, tonemap(scene, "reinhard", key=0.18))


# -- noise ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("iso", "full_well", "read_noise", "x"),
    [
        (800.0, 10000.0, 5.0, 0.3),    # normal regime: 375 electrons
        (100.0, 20000.0, 3.0, 0.01),   # 200 electrons, read noise 3 % of the variance
        (3200.0, 10000.0, 0.5, 0.05),  # exact Poisson regime: 15.6 electrons
        (1600.0, 8000.0, 4.0, 0.6),
    ],
)
def test_noise_statistics_match_model(iso, full_well, read_noise, x):
    """A flat field through a linear 16-bit camera: the measured mean and variance of the
    linear signal are x and a x + b with a = g / F, b = (g r / F)^2, g = ISO / 100."""
    cam = Camera(response="linear", bit_depth=16, iso=iso, full_well=full_well,
                 read_noise=read_noise)
    g = iso / 100.0
    a, b = g / full_well, (g * read_noise / full_well) ** 2
    assert noise_model(cam) == pytest.approx((a, b), rel=1e-12)
    flat = np.full((256, 256, 3), x, np.float32)
    img = render_shot(flat, 1.0, cam, np.random.default_rng(7))
    y = img.astype(np.float64) / 65535
    n = y.size
    var = float(y.var())
    # the sample variance has relative standard error sqrt(2 / n) = 0.3 %; quantisation adds
    # (1/65535)^2 / 12, negligible
    assert var == pytest.approx(a * x + b, rel=0.03)
    assert float(y.mean()) == pytest.approx(x, abs=4 * math.sqrt((a * x + b) / n) + 1e-5)


def test_low_counts_are_poisson():
    """At 15.6 electrons the skewness of the signal is Poisson's 1/sqrt(lambda) (diluted by the
    read noise), which a Gaussian approximation (skewness 0) would miss."""
    cam = Camera(response="linear", bit_depth=16, iso=3200.0, full_well=10000.0, read_noise=0.5)
    lam = 0.05 * 10000.0 / 32.0
    y = add_sensor_noise(np.full((256, 256, 3), 0.05, np.float32), cam,
                         np.random.default_rng(0)).astype(np.float64)
    d = y - y.mean()
    skew = float((d**3).mean() / (d**2).mean() ** 1.5)
    expected = lam / (lam + 0.25) ** 1.5
    assert skew == pytest.approx(expected, abs=0.03)


def test_noise_grows_with_iso():
    flat = np.full((64, 64, 3), 0.2, np.float32)
    stds = []
    for iso in (100.0, 400.0, 1600.0):
        cam = Camera(response="linear", bit_depth=16, iso=iso)
        stds.append(render_shot(flat, 1.0, cam, np.random.default_rng(0)).std())
    assert stds[0] < stds[1] < stds[2]
    # shot noise dominates: the standard deviation doubles with every 4x in ISO
    assert stds[2] / stds[1] == pytest.approx(2.0, rel=0.1)


def test_noise_free_camera_is_exact():
    flat = np.full((4, 4, 3), 0.18, np.float32)
    img = render_shot(flat, 1.0, Camera(**CLEAN), np.random.default_rng(0))
    assert (img == round(255 * srgb(0.18))).all()  # 117.6 -> 118


# -- determinism ------------------------------------------------------------------------------
def test_fixed_seed_gives_identical_output(scene):
    cam = Camera(iso=800, jpeg_quality=90)
    kw = {"camera": cam, "shake_px": 3.0, "moving_objects": 2}
    b1 = simulate_bracket(scene, seed=5, **kw)
    b2 = simulate_bracket(scene, seed=5, **kw)
    b3 = simulate_bracket(scene, seed=6, **kw)
    for x, y in zip(b1.images, b2.images, strict=True):
        assert x.tobytes() == y.tobytes()
    for x, y in zip(b1.masks, b2.masks, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(b1.radiance, b2.radiance)
    assert any(x.tobytes() != y.tobytes() for x, y in zip(b1.images, b3.images, strict=True))


def test_render_shot_advances_the_generator():
    flat = np.full((8, 8, 3), 0.3, np.float32)
    rng = np.random.default_rng(0)
    a = render_shot(flat, 1.0, Camera(iso=3200), rng)
    b = render_shot(flat, 1.0, Camera(iso=3200), rng)
    assert a.tobytes() != b.tobytes()


# -- moving objects and shake -----------------------------------------------------------------
def test_masks_all_false_for_static_bracket(scene):
    b = simulate_bracket(scene, evs=(-2, -1, 0, 1, 2), shake_px=2.0)
    assert len(b.masks) == 5
    for m in b.masks:
        assert m.dtype == bool and m.shape == scene.shape[:2] and not m.any()


def test_masks_mark_exactly_where_an_object_moved():
    """On a flat grey background every object pixel is >= 1.7x brighter or <= 0.5x darker than
    the background, so each shot's object footprint can be found from the shot itself (noise-
    free linear camera). A mask must cover every pixel that holds the object in one frame and
    not the other, and nothing outside the two footprints."""
    bg = 0.5
    rad = np.full((96, 128, 3), bg, np.float32)
    cam = Camera(response="linear", bit_depth=16, **CLEAN)
    base = 0.05 / bg  # background at exposure 0.05: the brightest object stays below 1
    b = simulate_bracket(rad, evs=(-0.5, 0.0, 0.5), camera=cam, base_time=base,
                         moving_objects=1, seed=2)
    assert b.reference_index == 1
    lum = [(im.astype(np.float64) / 65535 / t) @ REC709
           for im, t in zip(b.images, b.exposure_times, strict=True)]
    foot = [np.abs(v / bg - 1.0) > 0.25 for v in lum]
    ref = b.reference_index
    assert foot[ref].any()
    assert not b.masks[ref].any()
    for i in (0, 2):
        m = b.masks[i]
        moved = foot[i] ^ foot[ref]
        assert moved.sum() > 20
        assert (m | ~moved).all(), "a pixel where the object moved is not masked"
        assert not (m & ~(foot[i] | foot[ref])).any(), "masked pixel away from the object"
        # outside the mask the shot is the reference up to exposure (16-bit quantisation)
        np.testing.assert_allclose(lum[i][~m], lum[ref][~m], rtol=2e-3)
    # the ground-truth radiance holds the object where the reference frame shows it
    gt_lum = b.radiance.astype(np.float64) @ REC709
    np.testing.assert_array_equal(np.abs(gt_lum / bg - 1.0) > 0.25, foot[ref])


def test_shake_moves_content_by_about_the_requested_amount():
    rad = render_scene(128, 128, seed=1)
    cam = Camera(response="linear", bit_depth=16, **CLEAN)
    shake = 6.0
    b = simulate_bracket(rad, evs=(-1, 0, 1), camera=cam, shake_px=shake, seed=4)
    ref = b.reference_index
    np.testing.assert_array_equal(b.warps[ref], np.eye(2, 3))

    def lin_lum(i: int) -> np.ndarray:
        v = b.images[i].astype(np.float32) / 65535 / np.float32(b.exposure_times[i])
        return np.log(np.maximum(v @ REC709.astype(np.float32), 1e-4)).astype(np.float64)

    centre = np.array([63.5, 63.5, 1.0])
    for i in (0, 2):
        (dx, dy), _ = cv2.phaseCorrelate(lin_lum(ref), lin_lum(i))
        measured = math.hypot(dx, dy)
        assert 0.45 * shake <= measured <= 1.1 * shake
        expected = b.warps[i] @ centre - centre[:2]  # displacement of the image centre
        assert abs(dx - expected[0]) < 0.6 and abs(dy - expected[1]) < 0.6


# -- camera pipeline --------------------------------------------------------------------------
def test_jpeg_changes_image_but_keeps_psnr(scene):
    plain = simulate_bracket(scene, camera=Camera(), seed=3)
    jpeg = simulate_bracket(scene, camera=Camera(jpeg_quality=95), seed=3)
    for p, j in zip(plain.images, jpeg.images, strict=True):
        assert j.dtype == np.uint8 and j.shape == p.shape
        assert not np.array_equal(p, j)
        assert cv2.PSNR(p, j) > 30.0


def test_clipping_at_one():
    flat = np.full((32, 32, 3), 1.0, np.float32)
    for bits, top in ((8, 255), (16, 65535)):
        cam = Camera(bit_depth=bits, iso=3200)
        assert (render_shot(flat, 50.0, cam, np.random.default_rng(0)) == top).all()
        # exactly at saturation without noise: white
        clean = Camera(bit_depth=bits, **CLEAN)
        assert (render_shot(flat, 1.0, clean, np.random.default_rng(0)) == top).all()
    dark = render_shot(np.zeros((32, 32, 3), np.float32), 1.0, Camera(iso=3200),
                       np.random.default_rng(0))
    assert dark.min() == 0  # read noise below 0 is clipped, not wrapped


@pytest.mark.parametrize("response", ["srgb", "gamma", "linear", "filmic"])
def test_monotone_in_exposure_time(scene, response):
    cam = Camera(response=response, **CLEAN)
    prev = None
    for t in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
        img = render_shot(scene, t, cam, np.random.default_rng(0))
        if prev is not None:
            assert (img >= prev).all()
            assert (img > prev).any()
        prev = img


def test_response_values_by_hand():
    x = np.array([0.0, 0.18, 0.25, 1.0], np.float32)
    np.testing.assert_allclose(apply_response(x, Camera(response="gamma", gamma=2.0)),
                               [0.0, math.sqrt(0.18), 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(apply_response(x, Camera()), [srgb(float(v)) for v in x],
                               atol=1e-6)
    np.testing.assert_allclose(apply_response(x, Camera(response="linear")), x)
    f = apply_response(np.linspace(0, 1, 1001, dtype=np.float32),
                       Camera(response="filmic", filmic_contrast=2.0, filmic_mid=0.5))
    # (1 + c^2) x^2 / (x^2 + c^2) with f(0.18) = 0.5  =>  c^2 = 0.0324 * 0.5 / (0.5 - 0.0324)
    c2 = 0.0324 * 0.5 / (0.5 - 0.0324)
    xs = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(f, (1 + c2) * xs**2 / (xs**2 + c2), atol=1e-6)
    assert np.all(np.diff(f) >= 0) and f[0] == 0.0 and f[-1] == pytest.approx(1.0)
    assert f[180] == pytest.approx(0.5, abs=1e-6)
    # S-shape: a convex toe (slope rising from 0), a shoulder (slope at white well below peak)
    slope = np.diff(f.astype(np.float64))
    assert np.all(np.diff(slope[:50]) > 0) and slope[-1] < 0.5 * slope.max()


def test_inverse_response_inverts_forward_curve():
    v = np.linspace(0.0, 1.0, 256)
    np.testing.assert_allclose(inverse_response(Camera(response="gamma", gamma=2.2))[:, 0],
                               v**2.2, atol=1e-6)
    np.testing.assert_allclose(inverse_response(Camera(), 1024), response_srgb(1024), atol=1e-6)
    for cam in (Camera(response="filmic"), Camera(response="filmic", filmic_contrast=2.5,
                                                  filmic_mid=0.4)):
        inv = inverse_response(cam, 256)
        assert inv.shape == (256, 3)
        np.testing.assert_allclose(apply_response(inv[:, 0], cam), v, atol=1e-4)


def test_tabulated_curve_from_calibrated_response():
    curve = curve_from_response(response_srgb(1024) * 3.0, samples=512)  # any scale
    assert len(curve) == 512
    cam = Camera(curve=curve, bit_depth=16, **CLEAN)
    x = np.linspace(0.0, 1.0, 97, dtype=np.float32)
    expected = [srgb(float(v)) for v in x]
    np.testing.assert_allclose(apply_response(x, cam), expected, atol=3e-3)
    assert cam.response == "srgb"  # the curve overrides it; the field is kept as given
    gam = Camera(curve=(0.0, 0.5, 1.0), **CLEAN)  # piecewise linear through (0.5, 0.5)
    np.testing.assert_allclose(apply_response(np.float32([0.25, 0.75]), gam), [0.25, 0.75])


def test_random_camera_is_plausible_and_deterministic():
    cams = [random_camera(np.random.default_rng(s)) for s in range(60)]
    assert cams[7] == random_camera(np.random.default_rng(7))
    assert {c.response for c in cams} == {"srgb", "gamma", "filmic"}
    assert all(100 <= c.iso <= 3200 and 5000 <= c.full_well <= 50000 for c in cams)
    jpeg = [c.jpeg_quality for c in cams if c.jpeg_quality is not None]
    assert 10 < len(jpeg) < 50 and all(75 <= q <= 98 for q in jpeg)
    img = render_shot(np.full((8, 8, 3), 0.3, np.float32), 1.0, cams[0],
                      np.random.default_rng(0))
    assert img.dtype == np.uint8


# -- brackets ---------------------------------------------------------------------------------
def test_bracket_times_evs_and_reference(scene):
    b = simulate_bracket(scene, evs=(-3.0, -1.0, 0.5), base_time=0.02)
    np.testing.assert_allclose(b.exposure_times, 0.02 * 2.0 ** np.array([-3.0, -1.0, 0.5]))
    assert b.exposure_times.dtype == np.float64
    np.testing.assert_array_equal(b.evs, [-3.0, -1.0, 0.5])
    assert b.reference_index == 2  # EV closest to 0
    assert simulate_bracket(scene, evs=(-2, 0, 2), reference_index=0).reference_index == 0
    # auto exposure: the log-average luminance lands at 0.18
    b0 = simulate_bracket(scene, evs=(0.0, 1.0))
    assert b0.exposure_times[0] == pytest.approx(auto_exposure_time(scene))


def test_auto_exposure_time_by_hand():
    rad = np.empty((2, 2, 3), np.float32)
    rad[0] = 0.1
    rad[1] = 0.4  # geometric mean of the luminance: sqrt(0.1 * 0.4) = 0.2
    assert auto_exposure_time(rad) == pytest.approx(0.18 / 0.2, rel=1e-5)
    assert auto_exposure_time(rad, key=0.5) == pytest.approx(2.5, rel=1e-5)


def test_simulate_exposures_is_static(scene):
    e = simulate_exposures(scene, (-1.5, -1.0, 0.0, 1.0, 1.5), seed=2)
    assert len(e.images) == 5 and not any(m.any() for m in e.masks)
    assert all(np.array_equal(w, np.eye(2, 3)) for w in e.warps)
    one = simulate_exposures(scene, [-1.0])
    assert len(one.images) == 1 and one.reference_index == 0
    # brighter with EV
    means = [float(im.mean()) for im in e.images]
    assert means == sorted(means)


def test_inputs_not_modified(scene):
    before = scene.copy()
    b = simulate_bracket(scene, shake_px=2.0, moving_objects=2)
    np.testing.assert_array_equal(scene, before)
    assert not np.shares_memory(b.radiance, scene)


# -- load_radiance ----------------------------------------------------------------------------
def test_load_radiance_exr(tmp_path):
    rad = render_scene(32, 48)
    rad[0, 0, 0] = -1e-3  # lossy-codec noise near black
    p = write_image(tmp_path / "scene.exr", rad)
    out = load_radiance(p)
    assert out.dtype == np.float32 and out.shape == (32, 48, 3)
    assert out[0, 0, 0] == 0.0
    np.testing.assert_array_equal(out[1:], rad[1:])
    small = load_radiance(p, max_side=24)
    assert small.shape == (16, 24, 3)
    # area averaging keeps the mean
    assert float(small.mean()) == pytest.approx(float(np.maximum(rad, 0).mean()), rel=1e-3)


def test_load_radiance_png_is_inverse_srgb(tmp_path):
    codes = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img8 = np.stack([codes, codes.T, 255 - codes], axis=-1)
    out = load_radiance(write_image(tmp_path / "photo.png", img8))
    np.testing.assert_allclose(out, srgb_inv(img8 / 255.0), atol=1e-6)
    img16 = (img8.astype(np.uint16) * 257)
    out16 = load_radiance(write_image(tmp_path / "photo16.png", img16))
    np.testing.assert_allclose(out16, srgb_inv(img16 / 65535.0), atol=1e-6)
    grey = load_radiance(write_image(tmp_path / "grey.png", codes))
    assert grey.shape == (16, 16, 3)


def test_load_radiance_real_exr(shared_data):
    path = need(shared_data, "hdr_cc0/city.exr")
    rad = load_radiance(path, max_side=256)
    assert rad.dtype == np.float32 and rad.ndim == 3 and rad.shape[2] == 3
    assert max(rad.shape[:2]) == 256
    assert np.isfinite(rad).all() and rad.min() >= 0.0 and rad.max() > 0.0
    b = simulate_bracket(rad, camera=Camera(iso=400), shake_px=2.0, moving_objects=1)
    assert b.images[0].shape == rad.shape
    assert b.images[0].mean() < b.images[1].mean() < b.images[2].mean()


def test_load_radiance_errors(tmp_path, caplog):
    with pytest.raises(InputError, match="no such file"):
        load_radiance(tmp_path / "missing.exr")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png file at all")
    with pytest.raises(InputError, match="bad.png"):
        load_radiance(bad)
    with pytest.raises(InputError, match="max_side"):
        load_radiance(bad, max_side=0)
    neg = np.full((8, 8, 3), 1.0, np.float32)
    neg[0, 0] = -0.5  # the one policy (docs/conventions.md): set to 0 with a warning
    with caplog.at_level(logging.WARNING, logger="expokit"):
        rad = load_radiance(write_image(tmp_path / "neg.exr", neg))
    assert rad[0, 0].tolist() == [0.0, 0.0, 0.0] and rad[1:].min() == 1.0
    assert "neg.exr: 3 negative value(s) set to 0 (minimum -0.5)" in caplog.text


def test_load_radiance_raw_needs_rawpy(tmp_path):
    try:
        import rawpy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("rawpy is installed")
    raw = tmp_path / "shot.dng"
    raw.write_bytes(b"II*\x00" + b"\x00" * 64)
    with pytest.raises(MissingResourceError, match="raw"):
        load_radiance(raw)


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("evs", "match"),
    [((), "empty"), ((0.0, float("nan")), "finite"), ((1.0, 0.0), "increasing"),
     ((0.0, 0.0), "increasing"), ("abc", "sequence"), (3.0, "sequence"), ((0.0, 50.0), "20")],
)
def test_bad_evs(scene, evs, match):
    with pytest.raises(InputError, match=match):
        simulate_bracket(scene, evs=evs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"bit_depth": 12}, "bit_depth"), ({"response": "log"}, "response"),
     ({"iso": 0.0}, "iso"), ({"full_well": -1.0}, "full_well"),
     ({"read_noise": float("nan")}, "read_noise"), ({"jpeg_quality": 0}, "jpeg_quality"),
     ({"jpeg_quality": 90, "bit_depth": 16}, "bit_depth=8"), ({"gamma": 0.0}, "gamma"),
     ({"curve": (0.5, 0.2)}, "non-decreasing"), ({"curve": (0.0, 2.0)}, r"\[0, 1\]"),
     ({"filmic_mid": 0.01}, "filmic_mid"), ({"filmic_contrast": 5.0}, "filmic_contrast")],
)
def test_bad_camera(kwargs, match):
    with pytest.raises(InputError, match=match):
        Camera(**kwargs)


def test_bad_radiance_and_arguments(scene):
    nan = scene.copy()
    nan[3, 4, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        simulate_bracket(nan)
    with pytest.raises(InputError, match="display-referred"):
        simulate_bracket((scene * 10).astype(np.uint8))
    with pytest.raises(InputError, match="black"):
        simulate_bracket(-scene - 1.0)  # negatives are set to 0 (with a warning): all black
    with pytest.raises(InputError, match="black"):
        simulate_bracket(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InputError, match="base_time"):
        simulate_bracket(scene, base_time=0.0)
    with pytest.raises(InputError, match="shake_px"):
        simulate_bracket(scene, shake_px=-1.0)
    with pytest.raises(InputError, match="moving_objects"):
        simulate_bracket(scene, moving_objects=1.5)
    with pytest.raises(InputError, match="reference_index"):
        simulate_bracket(scene, reference_index=3)
    with pytest.raises(InputError, match="seed"):
        simulate_bracket(scene, seed=-1)
    with pytest.raises(InputError, match="camera"):
        simulate_bracket(scene, camera="srgb")
    with pytest.raises(InputError, match="exposure_time"):
        render_shot(scene, -1.0, Camera(), np.random.default_rng(0))
    with pytest.raises(InputError, match="rng"):
        render_shot(scene, 1.0, Camera(), 0)
    with pytest.raises(InputError, match="key"):
        auto_exposure_time(scene, key=0.0)
