"""HDR metrics (PSNR-mu, SSIM-mu, PSNR-L, SSIM-L): hand-computable values, agreement with the
usual Python evaluation code (mu-law then scikit-image), normalisation and input errors."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from expokit import InputError
from expokit.metrics import mu_law, psnr_l, psnr_mu, ssim_l, ssim_mu

RNG = np.random.default_rng(5000)


def hdr_pair(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Radiance-like images in [0, 1]: heavy-tailed values and a perturbed estimate."""
    ref = np.clip(RNG.lognormal(-3.0, 1.2, (h, w, 3)), 0, 1)
    est = np.clip(ref * RNG.uniform(0.8, 1.2, ref.shape), 0, 1)
    return est, ref


def kalantari_style(est: np.ndarray, ref: np.ndarray, mu: float = 5000.0) -> tuple[float, float]:
    """What HDR deghosting repositories compute: log(1 + mu x) / log(1 + mu), then skimage."""
    t_est = np.log(1 + mu * est) / np.log(1 + mu)
    t_ref = np.log(1 + mu * ref) / np.log(1 + mu)
    p = sk_psnr(t_ref, t_est, data_range=1.0)
    s = sk_ssim(t_ref, t_est, data_range=1.0, channel_axis=-1, gaussian_weights=True,
                sigma=1.5, use_sample_covariance=False)
    return float(p), float(s)


def test_mu_law_values() -> None:
    assert float(mu_law(np.array(0.0))) == 0.0
    assert float(mu_law(np.array(1.0))) == pytest.approx(1.0, abs=1e-15)
    # log(1 + 5000 * 0.5) / log(5001) by hand
    assert float(mu_law(np.array(0.5))) == pytest.approx(math.log(2501) / math.log(5001), rel=1e-15)


def test_hand_values() -> None:
    x = np.full((8, 8, 3), 0.5)
    assert psnr_l(x, x + 0.1) == pytest.approx(20.0, abs=1e-12)  # MSE 0.01, peak 1
    d = math.log(2501) / math.log(5001) - math.log(1251) / math.log(5001)
    assert psnr_mu(x, 0.5 * x) == pytest.approx(-20 * math.log10(d), abs=1e-12)


def test_identical_images() -> None:
    est, ref = hdr_pair()
    # PSNR of identical images is inf (as psnr); a mean over a data set is then inf too
    assert psnr_mu(ref, ref) == math.inf
    assert psnr_l(ref, ref) == math.inf
    assert ssim_mu(ref, ref) == pytest.approx(1.0, abs=1e-9)
    assert ssim_l(ref, ref) == pytest.approx(1.0, abs=1e-9)


def test_agrees_with_kalantari_style_code() -> None:
    est, ref = hdr_pair()
    p, s = kalantari_style(est, ref)
    assert psnr_mu(est, ref) == pytest.approx(p, abs=1e-12)
    assert ssim_mu(est, ref) == pytest.approx(s, abs=1e-14)
    assert psnr_l(est, ref) == pytest.approx(sk_psnr(ref, est, data_range=1.0), abs=1e-12)


def test_mu_law_domain_weights_dark_pixels() -> None:
    # errors in the shadows matter more after mu-law compression than in the linear domain
    ref = np.full((16, 16), 0.01)
    dark = ref * 1.5
    assert psnr_mu(dark, ref) < psnr_l(dark, ref)


def test_symmetry() -> None:
    est, ref = hdr_pair()
    assert psnr_mu(est, ref) == pytest.approx(psnr_mu(ref, est), abs=1e-12)
    assert ssim_l(est, ref) == pytest.approx(ssim_l(ref, est), abs=1e-14)


@pytest.mark.parametrize("k", [3.7, 1000.0])
def test_reference_max_normalisation(k: float) -> None:
    est, ref = hdr_pair()
    ref[0, 0, 0] = 1.0  # the maximum is 1: normalising changes nothing
    for f in (psnr_mu, ssim_mu, psnr_l, ssim_l):
        plain = f(est, ref)
        assert f(k * est, k * ref, normalize="reference_max") == pytest.approx(plain, rel=1e-12)
    # arbitrary units are refused without normalisation, with the fix in the message
    with pytest.raises(InputError, match="normalize='reference_max'"):
        psnr_mu(k * est, k * ref)


def test_overshooting_estimate_not_clipped() -> None:
    est, ref = hdr_pair()
    ref = ref / ref.max()
    over = ref.copy()
    over[:4] *= 1.5  # exceeds 1 after normalisation: penalised, not clipped away
    assert psnr_l(over, ref, normalize="reference_max") < psnr_l(np.clip(over, 0, 1), ref,
                                                                 normalize="reference_max")


def test_negative_values_are_zeroed_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # One policy for all radiance (docs/conventions.md): negatives are set to 0, with a warning.
    est, ref = hdr_pair()
    noisy = est.copy()
    noisy[0, 0, 0] = -1e-4 * est.max()  # EXR codec noise
    noisy[1, :5, 1] = -0.5  # far beyond codec noise: still set to 0, but not silently
    clean = np.maximum(noisy, 0)
    with caplog.at_level(logging.WARNING, logger="expokit"):
        got = psnr_mu(noisy, ref)
    assert got == psnr_mu(clean, ref)
    assert "radiance: 6 negative value(s) set to 0 (minimum -0.5)" in caplog.text


def test_errors() -> None:
    est, ref = hdr_pair()
    with pytest.raises(InputError, match="radiance is uint8: HDR metrics take linear float"):
        psnr_mu((est * 255).astype(np.uint8), ref)
    with pytest.raises(InputError, match="radiance is 64x47 but reference is 64x48"):
        ssim_mu(est[:47], ref)
    with pytest.raises(InputError, match="normalize must be"):
        psnr_l(est, ref, normalize="max")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="mu must be"):
        psnr_mu(est, ref, mu=0)
    with pytest.raises(InputError, match="reference is all zero"):
        psnr_l(est, np.zeros_like(ref), normalize="reference_max")
    with pytest.raises(InputError, match="ssim_l needs images of at least 11x11"):
        ssim_l(est[:8, :8], ref[:8, :8])
    bad = ref.copy()
    bad[1, 1, 1] = np.inf
    with pytest.raises(InputError, match="reference contains 1 NaN or infinite"):
        psnr_mu(est, bad)
