"""Camera response calibration: exact answers on synthetic brackets, OpenCV, bad input.

Ground truth: expokit.simulate.photograph photographs a known radiance through the sRGB
encoding, so the true inverse response is ``srgb_to_linear(code / 255)``. Responses are
compared in log over codes 5..250 after removing the mean log ratio (they are only defined up
to one scale): the RMS of that difference is the error below.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from expokit import InputError
from expokit.color import srgb_to_linear
from expokit.hdr import (
    calibrate_debevec,
    calibrate_robertson,
    invalid_mask,
    response_linear,
    response_srgb,
)
from expokit.simulate import photograph, render_scene

# One-stop steps over 12 stops: every code level is seen, linked to its neighbours.
TIMES_12 = [2.0**k for k in range(-8, 4)]


@pytest.fixture(scope="module")
def scene():
    return render_scene(240, 320)


@pytest.fixture(scope="module")
def bracket12(scene):
    return photograph(scene, TIMES_12)


def log_rms(response: np.ndarray, lo: int = 5, hi: int = 250) -> float:
    """Worst channel's RMS of ln(response / true) over codes lo..hi, after removing the scale."""
    levels = response.shape[0]
    k = np.arange(round(lo * (levels - 1) / 255), round(hi * (levels - 1) / 255) + 1)
    true = srgb_to_linear(k / (levels - 1)).astype(np.float64)
    worst = 0.0
    for c in range(response.shape[1]):
        d = np.log(response[k, c].astype(np.float64)) - np.log(true)
        worst = max(worst, float(np.sqrt(np.mean((d - d.mean()) ** 2))))
    return worst


def test_debevec_recovers_srgb(bracket12):
    r = calibrate_debevec(bracket12, TIMES_12)
    assert r.shape == (256, 3) and r.dtype == np.float32
    assert r[128] == pytest.approx([1.0, 1.0, 1.0])  # documented normalisation
    # Measured 0.0021; 1 % leaves room for sampling changes, and is far below the 0.16 of
    # a response that is off by a gamma of 1.1.
    assert log_rms(r) < 0.01


def test_debevec_three_exposures(scene):
    times = [1 / 64, 1 / 8, 1.0, 8.0]
    r = calibrate_debevec(photograph(scene, times), times)
    assert log_rms(r) < 0.03  # measured 0.023: 3-stop steps leave gaps the prior fills in


def test_robertson_recovers_srgb(bracket12):
    r = calibrate_robertson(bracket12, TIMES_12)
    assert r.shape == (256, 3) and r.dtype == np.float32
    assert r[128] == pytest.approx([1.0, 1.0, 1.0])
    # Measured 0.025 (worst channel). Robertson has no smoothness prior, so each code's
    # estimate is the mean exposure of the few radiances this piecewise-smooth scene puts in
    # it: +-4 % wiggles around the true curve (OpenCV gives the same curve, see below).
    assert log_rms(r) < 0.04


def test_robertson_equals_opencv(scene):
    """Same algorithm, same data: the same curve as cv2.createCalibrateRobertson."""
    times = [1 / 64, 1 / 8, 1.0, 8.0]
    imgs = photograph(scene, times)
    ours = calibrate_robertson(imgs, times, max_iter=30, threshold=0.0)
    bgr = [np.ascontiguousarray(im[..., ::-1]) for im in imgs]
    cv = cv2.createCalibrateRobertson(30, 0.0).process(bgr, np.asarray(times, np.float32))
    cv = cv[:, 0, ::-1]
    # Codes 1..254 (0 and 255 have weight 0; OpenCV accumulates in float32 there).
    np.testing.assert_allclose(ours[1:255], cv[1:255], rtol=2e-3)


def test_uint16_calibrates_on_1024_levels(scene):
    imgs = photograph(scene, TIMES_12, bit_depth=16)
    rd = calibrate_debevec(imgs, TIMES_12)
    rr = calibrate_robertson(imgs, TIMES_12)
    assert rd.shape == rr.shape == (1024, 3)
    assert rd[512] == pytest.approx([1.0, 1.0, 1.0]) and rr[512] == pytest.approx([1.0] * 3)
    assert log_rms(rd) < 0.01  # measured 0.0027
    assert log_rms(rr) < 0.04  # measured 0.026


def test_float_input_is_linear(bracket12):
    floats = [im.astype(np.float32) / 255 for im in bracket12]
    for fn in (calibrate_debevec, calibrate_robertson):
        np.testing.assert_array_equal(fn(floats, TIMES_12), response_linear(256, 3))


def test_masked_pixels_are_not_used(scene):
    """Pixels under the mask take no part: garbage there leaves the curves as they were."""
    times = TIMES_12
    rng = np.random.default_rng(1)
    imgs, masks = [], []
    for j, im in enumerate(photograph(scene, times)):
        im = im.copy()
        m = np.zeros(im.shape[:2], bool)
        m[:, : 20 + 10 * j] = True  # a different shifted border in each image, like Memorial
        im[m] = rng.integers(0, 256, (int(m.sum()), 3))  # garbage of every code value
        imgs.append(im)
        masks.append(m)
    assert log_rms(calibrate_debevec(imgs, times, mask=masks)) < 0.01
    assert log_rms(calibrate_robertson(imgs, times, mask=masks)) < 0.04
    # Without the mask the garbage bends the curves (measured 1.54 and 1.19).
    assert log_rms(calibrate_debevec(imgs, times)) > 0.3
    assert log_rms(calibrate_robertson(imgs, times)) > 0.3


def test_blue_marker_mask():
    img = np.full((4, 5, 3), 100, np.uint8)
    img[1:3, 0] = (0, 0, 255)
    img[0, 0] = (0, 0, 254)
    assert np.argwhere(invalid_mask(img)).tolist() == [[1, 0], [2, 0]]
    assert invalid_mask(img.astype(np.uint16) * 257, marker=(0, 0, 65535)).sum() == 2
    with pytest.raises(InputError, match="marker .* has 2 value"):
        invalid_mask(img, marker=(0, 255))


def test_debevec_is_deterministic_for_a_seed(bracket12):
    a = calibrate_debevec(bracket12, TIMES_12, seed=3)
    b = calibrate_debevec(bracket12, TIMES_12, seed=3)
    np.testing.assert_array_equal(a, b)


def test_fixed_responses():
    np.testing.assert_allclose(response_srgb(256, 1)[:, 0],
                               srgb_to_linear(np.arange(256) / 255.0), rtol=1e-6)
    assert response_linear(5, 2).tolist() == [[0, 0], [0.25, 0.25], [0.5, 0.5], [0.75, 0.75],
                                              [1, 1]]


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [calibrate_debevec, calibrate_robertson])
@pytest.mark.parametrize(
    ("times", "match"),
    [
        ([0.1, 0.0, 1.0], "must be finite and > 0"),
        ([0.1, -1.0, 1.0], "must be finite and > 0"),
        ([0.1, 0.1, 1.0], "duplicate"),
        ([0.1, 1.0], "2 value"),
    ],
)
def test_bad_times(fn, times, match):
    imgs = photograph(render_scene(16, 16), [0.1, 0.5, 1.0])
    with pytest.raises(InputError, match=match):
        fn(imgs, times)


@pytest.mark.parametrize("fn", [calibrate_debevec, calibrate_robertson])
def test_bad_stacks(fn):
    imgs = photograph(render_scene(16, 16), [0.1, 1.0])
    with pytest.raises(InputError, match=r"holds 1 image\(s\), expected at least 2"):
        fn(imgs[:1], [0.1])
    with pytest.raises(InputError, match="all exposures must share one size"):
        fn([imgs[0], imgs[1][:15]], [0.1, 1.0])
    with pytest.raises(InputError, match=r"mask holds 1 entries for 2 image"):
        fn(imgs, [0.1, 1.0], mask=[None])
    with pytest.raises(InputError, match=r"mask has shape \(4, 4\), expected \(16, 16\)"):
        fn(imgs, [0.1, 1.0], mask=np.zeros((4, 4), bool))


def test_bad_settings():
    imgs = photograph(render_scene(16, 16), [0.1, 1.0])
    with pytest.raises(InputError, match="samples must be >= 2"):
        calibrate_debevec(imgs, [0.1, 1.0], samples=1)
    with pytest.raises(InputError, match="smoothness must be"):
        calibrate_debevec(imgs, [0.1, 1.0], smoothness=-1.0)
    with pytest.raises(InputError, match="weighting 'hat' is unknown"):
        calibrate_debevec(imgs, [0.1, 1.0], weighting="hat")
    with pytest.raises(InputError, match="system is singular"):
        calibrate_debevec(imgs, [0.1, 1.0], smoothness=0.0)
    with pytest.raises(InputError, match="max_iter must be >= 1"):
        calibrate_robertson(imgs, [0.1, 1.0], max_iter=0)
    with pytest.raises(InputError, match="threshold must be"):
        calibrate_robertson(imgs, [0.1, 1.0], threshold=float("nan"))
