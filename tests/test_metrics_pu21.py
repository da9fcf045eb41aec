"""PU21-encoded PSNR and SSIM (Mantiuk & Azimi, PCS 2021): published encoder values, the
reference decoder as an inverse, hand-computable PSNR, agreement with scikit-image SSIM on
PU21 values, the display mapping and input errors.

Independent reference values used here:

* PU21(10000 cd/m^2) = 595.3939 and PU21(0.005 cd/m^2) = 5.4705e-10: the ``p_max`` / ``p_min``
  of the ``banding_glare`` mode tabulated in FFmpeg's PU21 code (libavfilter, ``vf_siti``:
  ``pu21_max_values`` / ``pu21_min_values``), an implementation independent of ours.
* PU21(100 cd/m^2) ~ 256: the encoding is scaled so that the white of a 100 cd/m^2 SDR
  display lands near 256, which is why the authors' ``pu21_metric.m`` uses 256 as the PSNR
  peak and SSIM dynamic range (Mantiuk & Azimi 2021; github.com/gfxdisp/pu21).
* The inverse: the reference ``pu21_encoder.decode``, ``V' = max(V/p7 + p6, 0)^(1/p5)``,
  ``Y = (max(V' - p1, 0) / (p2 - p3 V'))^(1/p4)``, written out below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity as sk_ssim

from expokit import InputError
from expokit.metrics import METRICS, pu21_encode, pu21_psnr, pu21_ssim, score

RNG = np.random.default_rng(21)

#: banding_glare p1..p7 as printed in the reference pu21_encoder.m (for the decoder only)
P = (0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627, 0.09150303166, 0.9099517204,
     596.3148142)


def decode(v: np.ndarray) -> np.ndarray:
    """The reference implementation's inverse of PU21 (pu21_encoder.m, ``decode``)."""
    p1, p2, p3, p4, p5, p6, p7 = P
    vp = np.maximum(v / p7 + p6, 0) ** (1 / p5)
    return (np.maximum(vp - p1, 0) / (p2 - p3 * vp)) ** (1 / p4)


def hdr_pair(h: int = 40, w: int = 48) -> tuple[np.ndarray, np.ndarray]:
    ref = RNG.lognormal(0.0, 2.0, (h, w, 3))
    est = ref * RNG.uniform(0.7, 1.3, ref.shape)
    return est, ref


def test_published_encoder_values() -> None:
    v = pu21_encode(np.array([0.005, 100.0, 10000.0]))
    assert v[0] == pytest.approx(5.4705e-10, abs=1e-13)  # FFmpeg pu21_min_values
    assert v[2] == pytest.approx(595.3939, abs=1e-3)  # FFmpeg pu21_max_values
    assert v[1] == pytest.approx(256.0, abs=1.0)  # 100 cd/m^2 SDR white ~ 256


def test_clamped_outside_the_valid_range() -> None:
    v = pu21_encode(np.array([0.0, 1e-4, 0.005, 1e4, 1e6]))
    assert v[0] == v[1] == v[2]
    assert v[3] == v[4]


def test_monotonic_and_inverted_by_reference_decoder() -> None:
    y = np.logspace(np.log10(0.005), 4, 500)
    v = pu21_encode(y)
    assert np.all(np.diff(v) > 0)
    assert decode(v[1:]) == pytest.approx(y[1:], rel=1e-9)


def test_hand_computable_psnr() -> None:
    # black (<= 0.005 cd/m^2) against 10000 cd/m^2 everywhere: |dV| = 595.3939 (FFmpeg table)
    dark, bright = np.full((8, 8), 0.001), np.full((8, 8), 10000.0)
    want = 20 * math.log10(256.0 / 595.3939)
    assert pu21_psnr(dark, bright, scale="absolute") == pytest.approx(want, abs=1e-4)
    # a constant error of exactly 2.56 PU units: PSNR = 20 log10(256 / 2.56) = 40 dB
    y0 = np.full((8, 8, 3), 50.0)
    y1 = decode(pu21_encode(y0) + 2.56)
    assert pu21_psnr(y1, y0, scale="absolute") == pytest.approx(40.0, abs=1e-6)


def test_identical_images() -> None:
    _, ref = hdr_pair()
    assert pu21_psnr(ref, ref) == math.inf
    assert pu21_psnr(ref, ref, channels="luminance") == math.inf
    assert pu21_ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)


def test_ssim_agrees_with_scikit_image_on_pu21_luminance() -> None:
    est, ref = hdr_pair()
    w = np.array([0.212656, 0.715158, 0.072186])  # Rec. 709 luminance, as pu21_metric.m
    k = 1000.0 / np.percentile(ref @ w, 99.9)  # default: reference P99.9 -> 1000 cd/m^2
    v_est, v_ref = pu21_encode(k * est @ w), pu21_encode(k * ref @ w)
    want = sk_ssim(v_ref, v_est, data_range=256.0, gaussian_weights=True, sigma=1.5,
                   use_sample_covariance=False)
    assert pu21_ssim(est, ref) == pytest.approx(want, abs=1e-12)


def test_relative_radiance_maps_to_the_display_peak() -> None:
    est, ref = hdr_pair()
    y = ref @ np.array([0.212656, 0.715158, 0.072186])
    for scale, top in (("reference_p999", np.percentile(y, 99.9)), ("reference_max", ref.max())):
        k = 4000.0 / top
        for f in (pu21_psnr, pu21_ssim):
            assert f(est, ref, scale=scale, display_peak=4000.0) == pytest.approx(
                f(k * est, k * ref, scale="absolute"), rel=1e-12)
            # relative units do not matter
            assert f(7.5 * est, 7.5 * ref, scale=scale) == pytest.approx(
                f(est, ref, scale=scale), rel=1e-12)


def test_grey_image_is_its_own_luminance() -> None:
    est, ref = hdr_pair()
    g_est, g_ref = est[..., 1], ref[..., 1]
    k = 1000.0 / np.percentile(g_ref, 99.9)
    want = 20 * math.log10(256.0) - 10 * math.log10(
        np.mean((pu21_encode(k * g_est) - pu21_encode(k * g_ref)) ** 2))
    assert pu21_psnr(g_est, g_ref) == pytest.approx(want, abs=1e-9)


def test_worse_image_scores_lower() -> None:
    est, ref = hdr_pair()
    worse = ref * RNG.uniform(0.4, 1.6, ref.shape)
    assert pu21_psnr(worse, ref) < pu21_psnr(est, ref)
    assert pu21_ssim(worse, ref) < pu21_ssim(est, ref)


def test_table_and_score() -> None:
    for name in ("pu21_psnr", "pu21_ssim"):
        info = METRICS[name]
        assert info.kind == "hdr" and info.higher_is_better and "PU21" in info.reference
    est, ref = hdr_pair()
    out = score(est, reference=ref, metrics=["pu21_psnr", "pu21_ssim"],
                options={"pu21_psnr": {"display_peak": 4000.0}})
    assert out == {"pu21_psnr": pu21_psnr(est, ref, display_peak=4000.0),
                   "pu21_ssim": pu21_ssim(est, ref)}


def test_errors() -> None:
    est, ref = hdr_pair()
    with pytest.raises(InputError, match="test is uint8: HDR metrics take linear float"):
        pu21_psnr(est.astype(np.uint8), ref)
    with pytest.raises(InputError, match="reference is all zero.*99.9th"):
        pu21_psnr(est, np.zeros_like(ref))
    with pytest.raises(InputError, match="reference is all zero.*maximum"):
        pu21_psnr(est, np.zeros_like(ref), scale="reference_max")
    with pytest.raises(InputError, match="scale must be"):
        pu21_ssim(est, ref, scale="max")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="display_peak must be"):
        pu21_psnr(est, ref, display_peak=0)
    with pytest.raises(InputError, match="channels must be"):
        pu21_psnr(est, ref, channels="mean")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="pu21_ssim needs images of at least 11x11"):
        pu21_ssim(est[:8, :8], ref[:8, :8])
