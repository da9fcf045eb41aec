"""Tests of expokit.metrics.blind: BRISQUE and NIQE.

References used here:

* NIQE: scikit-video 1.1.11's own ``skvideo.measure.niqe``. It no longer runs unchanged on
  NumPy 2 / SciPy >= 1.3 (``np.int``, ``scipy.misc.imresize``); the test restores those two
  names for its duration, ``imresize`` as SciPy <= 1.2 implemented it with Pillow (``mode='F'``,
  bicubic, ``int(size * 0.5)``).
* BRISQUE: the ``brisque`` 0.2.0 package (its own feature code, its libsvm model through the
  official libsvm binding) for the MSCN map, the AGGD fits and the SVR; its ``score()`` itself
  fails on NumPy 2.4 (``float()`` of a 1-element array), so the end-to-end reference calls the
  same methods ``score()`` calls and converts the features first. Its features differ from
  MATLAB's on purpose (see :func:`expokit.metrics.blind.brisque`), so only components are
  compared tightly.
* Published BRISQUE values for scikit-image images from an independent MATLAB-faithful
  implementation (see ``test_brisque_published_values``).
"""

from __future__ import annotations

import sys
import types
import warnings

import cv2
import numpy as np
import pytest

from expokit.errors import InputError, MissingResourceError
from expokit.metrics import blind
from expokit.metrics._matlab import to_gray
from expokit.metrics.blind import INFO, brisque, brisque_features, niqe

skdata = pytest.importorskip("skimage.data", reason="scikit-image provides the test images")



def _installed(name: str) -> bool:
    try:
        return blind._find_spec(name) is not None
    except ImportError:
        return False


_HAVE_BRISQUE = _installed("brisque")
_HAVE_SKVIDEO = _installed("skvideo")
needs_brisque = pytest.mark.skipif(
    not _HAVE_BRISQUE, reason='brisque package not installed (pip install "expokit[blind]")'
)
needs_skvideo = pytest.mark.skipif(
    not _HAVE_SKVIDEO, reason='scikit-video not installed (pip install "expokit[blind]")'
)


def camera() -> np.ndarray:
    return skdata.camera()


def astronaut_grey() -> np.ndarray:
    """Float64 grey astronaut in [0, 255] (MATLAB rgb2gray weights, not rounded)."""
    return to_gray(skdata.astronaut().astype(np.float64))[..., 0]


# --- NIQE against scikit-video --------------------------------------------------------------

@pytest.fixture
def skvideo_niqe(monkeypatch: pytest.MonkeyPatch):
    """scikit-video's ``niqe`` with the two names it needs from old NumPy/SciPy restored."""
    if not _HAVE_SKVIDEO:
        pytest.skip('scikit-video not installed (pip install "expokit[blind]")')
    from PIL import Image

    def imresize(arr, size, interp="bilinear", mode=None):  # SciPy <= 1.2 behaviour
        assert interp == "bicubic" and mode == "F" and isinstance(size, float)
        im = Image.fromarray(np.asarray(arr, dtype=np.float32), mode="F")
        new = tuple((np.array(im.size) * size).astype(int))
        return np.array(im.resize(new, resample=Image.BICUBIC))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # removed in SciPy 2.0
            import scipy.misc as misc
    except ImportError:
        misc = types.ModuleType("scipy.misc")
        monkeypatch.setitem(sys.modules, "scipy.misc", misc)
    monkeypatch.setattr(misc, "imresize", imresize, raising=False)
    monkeypatch.setattr(np, "int", int, raising=False)
    measure = pytest.importorskip("skvideo.measure", reason="scikit-video does not import")
    return lambda img: float(measure.niqe(img)[0])


@pytest.mark.parametrize(
    "name, image",
    [
        ("camera", lambda: camera().astype(np.float64)),
        ("astronaut", astronaut_grey),
        ("coffee", lambda: to_gray(skdata.coffee().astype(np.float64))[..., 0]),
    ],
)
def test_niqe_matches_scikit_video(skvideo_niqe, name: str, image) -> None:
    # scikit-video computes in float32 and halves the image with Pillow, which shortens the
    # kernel at the borders where MATLAB imresize (used here) mirrors the image. Measured
    # relative differences: camera 4.8e-4, astronaut 8.3e-4, coffee 1.5e-3; tolerance 3e-3.
    img = image()
    ref = skvideo_niqe(img)
    assert niqe(img, data_range=255.0) == pytest.approx(ref, rel=3e-3)


# --- BRISQUE against the brisque package ----------------------------------------------------

@pytest.fixture
def brisque_pkg():
    if not _HAVE_BRISQUE:
        pytest.skip('brisque package not installed (pip install "expokit[blind]")')
    mod = pytest.importorskip("brisque", reason="brisque (or libsvm-official) does not import")
    return mod.BRISQUE(url=False)


def test_brisque_mscn_matches_package(brisque_pkg) -> None:
    # Same filter (zero-padded 7x7 Gaussian, sigma 7/6) and C = 1/255 on [0, 1] grey, which is
    # C = 1 on [0, 255]: equal to rounding (measured 1e-15).
    g = camera().astype(np.float64)
    ref = brisque_pkg.calculate_mscn_coefficients(g / 255.0, 7, 7 / 6)
    np.testing.assert_allclose(blind._mscn(g), ref, rtol=0, atol=1e-10)


def test_brisque_aggd_fit_matches_package(brisque_pkg) -> None:
    # The package solves for the shape continuously; MATLAB (and expokit) take the nearest
    # point of the grid 0.2:0.001:10, so the shapes agree to the grid step. Standard
    # deviations are the same moments (no exact zeros in these products).
    m = blind._mscn(camera().astype(np.float64))
    for p in blind._shifted_products(m):
        p = p[1:-1, 1:-1].ravel()  # drop the wrapped-around row and column
        alpha, lstd, rstd = blind._aggd_fit(p, zeros_right=False)
        ra, _, rl, rr = brisque_pkg.asymmetric_generalized_gaussian_fit(p)
        assert alpha == pytest.approx(float(ra), abs=1e-3)
        assert lstd == pytest.approx(float(np.ravel(rl)[0]), rel=1e-12)
        assert rstd == pytest.approx(float(np.ravel(rr)[0]), rel=1e-12)


def test_brisque_svr_matches_libsvm(brisque_pkg) -> None:
    # The NumPy RBF sum over the parsed model equals libsvm's prediction of the package's own
    # model on the same raw features (scaled by the package with the same ranges).
    rng = np.random.default_rng(3)
    feats = [brisque_features(camera()), brisque_features(skdata.brick())]
    feats.append(feats[0] + 0.01 * rng.standard_normal(36))
    for f in feats:
        ref = brisque_pkg.calculate_image_quality_score(np.array([float(v) for v in f]))
        assert blind._brisque_predict(f) == pytest.approx(ref, abs=1e-9)


def package_score(model, image: np.ndarray) -> float:
    """What ``BRISQUE.score`` computes for an RGB uint8 image, with its features made floats."""
    skcolor = pytest.importorskip("skimage.color")
    g = skcolor.rgb2gray(image)
    half = cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    f = list(model.calculate_brisque_features(g, kernel_size=7, sigma=7 / 6))
    f += list(model.calculate_brisque_features(half, kernel_size=7, sigma=7 / 6))
    return float(model.calculate_image_quality_score(np.array([np.ravel(v)[0] for v in f])))


def test_brisque_end_to_end_near_package(brisque_pkg) -> None:
    # Same model and ranges, different features (GGD vs AGGD for the MSCN pair, grid vs root,
    # wrap-around, MATLAB vs OpenCV half-size): measured differences on grey-as-RGB images
    # (so that both grey conversions agree): camera 5.8, astronaut 8.1, coffee 0.1,
    # chelsea 4.0, brick 3.8 points. Both must rank blur levels the same way.
    g = astronaut_grey().round().astype(np.uint8)
    rgb = np.repeat(g[..., None], 3, axis=2)
    ours = [brisque(cv2.GaussianBlur(rgb, (0, 0), s) if s else rgb) for s in (0, 1, 2)]
    ref = [package_score(brisque_pkg, cv2.GaussianBlur(rgb, (0, 0), s) if s else rgb)
           for s in (0, 1, 2)]
    assert abs(ours[0] - ref[0]) < 10.0
    assert np.all(np.diff(ours) > 0) and np.all(np.diff(ref) > 0)


@needs_brisque
def test_brisque_published_values() -> None:
    # An independent C implementation of the MATLAB BRISQUE pipeline with the same LIVE
    # allmodel and feature ranges (a public libvmaf fork's BRISQUE extractor,
    # docs/metrics/brisque.md and its research digest 1101) reports for scikit-image's
    # cameraman -13.708444 (its MATLAB-faithful Python oracle: -13.708399), and about -5.1
    # for coins and 1.4 for moon.
    assert brisque(camera()) == pytest.approx(-13.708444, abs=1e-5)
    assert brisque(skdata.coins()) == pytest.approx(-5.1, abs=0.05)
    assert brisque(skdata.moon()) == pytest.approx(1.4, abs=0.1)


# --- properties -----------------------------------------------------------------------------

@needs_brisque
@needs_skvideo
@pytest.mark.parametrize("distortion", ["blur", "noise"])
def test_scores_grow_with_distortion(distortion: str) -> None:
    img = camera().astype(np.float64)
    noise = np.random.default_rng(1).standard_normal(img.shape)
    levels = (0.0, 0.8, 1.5, 3.0) if distortion == "blur" else (0.0, 5.0, 10.0, 20.0, 40.0)
    b, n = [], []
    for s in levels:
        if distortion == "blur":
            x = cv2.GaussianBlur(img, (0, 0), s) if s else img
        else:
            x = np.clip(img + s * noise, 0.0, 255.0)
        b.append(brisque(x, data_range=255.0))
        n.append(niqe(x, data_range=255.0))
    assert np.all(np.diff(b) > 0), b
    assert np.all(np.diff(n) > 0), n


@needs_brisque
@needs_skvideo
@pytest.mark.parametrize("metric", [brisque, niqe])
def test_colour_equals_its_grey(metric) -> None:
    rgb = skdata.astronaut()
    grey = to_gray(rgb.astype(np.float64))
    expected = metric(grey, data_range=255.0)
    assert metric(rgb) == pytest.approx(expected, rel=1e-12)
    assert metric(grey[..., 0], data_range=255.0) == expected  # (H, W) == (H, W, 1)
    # scale invariance through data_range: 16-bit codes give the same value; [0, 1] floats
    # nearly so. Astronaut has saturated flat areas whose MSCN coefficients are exactly 0 for
    # integer grey but +-1e-14 after /255 * 255, which moves them between the AGGD sides
    # (measured: BRISQUE 3.003 vs 3.028, NIQE 8.8271 vs 8.8210).
    assert metric(rgb.astype(np.uint16) * 257) == pytest.approx(expected, rel=1e-10)
    assert metric(rgb / 255.0, data_range=1.0) == pytest.approx(expected, rel=1e-2, abs=0.05)


@needs_brisque
@needs_skvideo
def test_input_not_modified_and_python_float() -> None:
    img = camera().astype(np.float32) / 255.0
    before = img.copy()
    for metric in (brisque, niqe):
        value = metric(img, data_range=1.0)
        assert type(value) is float and np.isfinite(value)
    np.testing.assert_array_equal(img, before)


def test_imresize_half_matches_pillow_inside() -> None:
    # MATLAB imresize(I, 0.5) and Pillow's bicubic reduction use the same antialiased Keys
    # kernel (a = -0.5) and sample positions; they differ only within 4 pixels of the border
    # (mirroring vs a shortened kernel). Pillow works in float32.
    from PIL import Image

    x = camera().astype(np.float64)[:100, :90]
    ours = blind._imresize_half(x)
    assert ours.shape == (50, 45)
    assert blind._imresize_half(x[:99, :89]).shape == (50, 45)  # ceil, as MATLAB
    pil = np.array(Image.fromarray(x.astype(np.float32), mode="F").resize((45, 50), Image.BICUBIC))
    np.testing.assert_allclose(ours[3:-3, 3:-3], pil[3:-3, 3:-3], atol=2e-3)
    np.testing.assert_allclose(blind._imresize_half(np.full((9, 8), 7.0)), 7.0, atol=1e-12)


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", [brisque, niqe])
def test_bad_input(metric) -> None:
    img = np.random.default_rng(0).uniform(0.0, 1.0, (200, 200))
    with pytest.raises(InputError, match="data_range is required"):
        metric(img)
    bad = img.copy()
    bad[3, 4] = np.nan
    with pytest.raises(InputError, match="NaN"):
        metric(bad, data_range=1.0)
    with pytest.raises(InputError, match=r"shape \(200, 200, 4\)"):
        metric(np.zeros((200, 200, 4)), data_range=1.0)
    with pytest.raises(InputError, match="looks like 8-bit"):
        metric(img * 255.0, data_range=1.0)


def test_too_small() -> None:
    with pytest.raises(InputError, match="two whole 96x96 patches"):
        niqe(np.zeros((150, 150), np.uint8))  # one patch only
    with pytest.raises(InputError, match="at least 16x16"):
        brisque(np.zeros((15, 40), np.uint8))


# --- missing packages -----------------------------------------------------------------------

@pytest.mark.parametrize("metric, package", [(brisque, "brisque"), (niqe, "skvideo")])
def test_missing_package(monkeypatch: pytest.MonkeyPatch, metric, package: str) -> None:
    monkeypatch.setattr(blind, "_find_spec", lambda name: None)
    blind._brisque_model.cache_clear()
    blind._niqe_model.cache_clear()
    img = camera()
    try:
        with pytest.raises(MissingResourceError, match=r'pip install "expokit\[blind\]"'):
            metric(img)
    finally:
        blind._brisque_model.cache_clear()
        blind._niqe_model.cache_clear()


@needs_brisque
def test_wrong_model_file_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(blind.MODEL_SHA256, "brisque/models/svm.txt", "0" * 64)
    blind._brisque_model.cache_clear()
    try:
        with pytest.raises(MissingResourceError, match="SHA-256"):
            brisque(camera())
    finally:
        blind._brisque_model.cache_clear()


# --- facts ----------------------------------------------------------------------------------

def test_info() -> None:
    assert set(INFO) == {"brisque", "niqe"}
    for key, info in INFO.items():
        assert info.name == key and info.kind == "blind"
        assert not info.higher_is_better
        assert not info.needs_reference and not info.needs_sources
    assert INFO["brisque"].function is brisque and INFO["niqe"].function is niqe
    assert INFO["niqe"].range == (0.0, None)
