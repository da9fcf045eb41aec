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


def test_ev_zero_is_the_default_reference(weights: str) -> None:
    img = _photo()
    np.testing.assert_array_equal(correct_exposure(img, ev=0.0, weights=weights),
                                  correct_exposure(img, weights=weights))
    assert not np.array_equal(correct_exposure(img, ev=2.0, weights=weights),
                              correct_exposure(img, weights=weights))


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
