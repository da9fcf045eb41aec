r"""Perception-inspired fusion metrics of MEFB: QCB, QCV and VIFF.

MEFB's "human perception inspired" metrics (Zhang, Information Fusion 2021, table 2),
re-implemented from MEFB's ``metrics/*.m`` files so that they reproduce its stored scores:

======  ==================  =============================================================
MEFB    function            what it measures
======  ==================  =============================================================
QCB     :func:`qcb`         Chen & Blum CSF-filtered local contrast preservation
QCV     :func:`qcv`         Chen & Varshney regional CSF-filtered error (lower: better)
VIF     :func:`viff`        Han et al.'s visual information fidelity for fusion (VIFF)
======  ==================  =============================================================

Inputs and colour follow MEFB's protocol (:mod:`expokit.metrics.mefb`). QCB and QCV are
defined for exactly two sources (``n_sources=2``) and take ``channels="grey"`` for the
textbook greyscale form; VIFF takes two or more.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ._checks import Channels, channel_mean, mefb_inputs, mefb_pair_score
from ._matlab import (
    SOBEL,
    blkproc,
    filter2_3x3,
    filter2_sep,
    filter_centered,
    freqspace,
    gaussian_1d,
    normalize1,
)
from ._table import MetricInfo, fusion_info

__all__ = ["INFO", "qcb", "qcv", "viff"]


_MEFB = "X. Zhang, Information Fusion 74 (2021) 111-131 (MEFB), "

#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


# --------------------------------------------------------------------------------------------
# QCB (Chen & Blum) and QCV (Chen & Varshney)
# --------------------------------------------------------------------------------------------


def _gauss31_1d(sigma: float) -> np.ndarray:
    """1-D factor of Liu's unnormalised 31x31 Gaussian ``exp(-r^2 / 2 s^2) / (2 pi s^2)``."""
    x = np.arange(-15, 16, dtype=np.float64)
    return np.exp(-(x * x) / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma)


_G31_2 = _gauss31_1d(2.0)
_G31_4 = _gauss31_1d(4.0)


def _sep_filter_complex(planes: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``filter2(g g^T, z, 'same')`` of complex planes (real and imaginary parts apart)."""
    return filter2_sep(planes.real, g, "same") + 1j * filter2_sep(planes.imag, g, "same")


def _qcb_contrast(z: np.ndarray) -> np.ndarray:
    """Masked local contrast ``C^3 / (C^2 + 1e-4)``, ``C = |G_2 * z / G_4 * z - 1|``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c = np.abs(_sep_filter_complex(z, _G31_2) / _sep_filter_complex(z, _G31_4) - 1.0)
        return c**3 / (c**2 + 1e-4)


def qcb(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Chen & Blum's perceptual fusion metric :math:`Q_{CB}`, as MEFB (Liu's code) computes it.

    Each image is stretched to [0, 255] and rounded (Liu's ``normalize1``), filtered in the
    frequency domain with the DoG contrast sensitivity function
    :math:`S(r) = e^{-(r/f_0)^2} - a\,e^{-(r/f_1)^2}` (:math:`f_0 = 15.3870`,
    :math:`f_1 = 1.3456`, :math:`a = 0.7622`; ``freqspace`` frequencies scaled by W/30 and
    H/30). Local contrast :math:`C = |(G_2 * I) / (G_4 * I) - 1|` (31x31 unnormalised
    Gaussians of :math:`\sigma` = 2 and 4, ``filter2 'same'``) is masked,
    :math:`C' = C^3 / (C^2 + 10^{-4})`. Contrast preservation
    :math:`Q_{SF} = \min(C'_S, C'_F) / \max(C'_S, C'_F)` is weighted by the saliency
    :math:`\lambda_S = C_S'^2 / (C_A'^2 + C_B'^2)`; :math:`Q_{CB}` is the mean over the image.

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q_{CB}` in [0, 1], higher is better (NaN where MATLAB's also is: a pixel of zero
        contrast in all three images).

    References:
        Y. Chen, R. S. Blum, "A new automated quality assessment algorithm for image fusion",
        Image Vis. Comput. 27 (10) (2009) 1421-1432; MEFB ``metricsQcb.m``.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)  # noise
        >>> round(qcb(a, [a, a]), 6)
        1.0
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qcb",
        per_plane=_qcb_planes,
    )


def _qcb_planes(pa: np.ndarray, pb: np.ndarray, pf: np.ndarray) -> np.ndarray:
    """:func:`qcb` of each plane of ``(P, H, W)`` stacks."""
    rows, cols = pa.shape[1:]
    # MATLAB: im2double (x / 255) then normalize1
    stack = normalize1(np.concatenate([pa, pb, pf]) / 255.0)
    u, v = freqspace(rows, cols)
    r = np.sqrt((u * (cols / 30)) ** 2 + (v * (rows / 30)) ** 2)
    sd = np.exp(-((r / 15.3870) ** 2)) - 0.7622 * np.exp(-((r / 1.3456) ** 2))
    contrast = _qcb_contrast(filter_centered(stack, sd))
    n = pa.shape[0]
    c1, c2, cf = contrast[:n], contrast[n : 2 * n], contrast[2 * n :]
    with np.errstate(divide="ignore", invalid="ignore"):
        q1 = np.where(c1 < cf, c1 / cf, cf / c1)
        q2 = np.where(c2 < cf, c2 / cf, cf / c2)
        lam1 = c1 * c1 / (c1 * c1 + c2 * c2)
        lam2 = c2 * c2 / (c1 * c1 + c2 * c2)
        q = lam1 * q1 + lam2 * q2
    return q.mean(axis=(1, 2))


INFO["qcb"] = fusion_info(
    qcb, n_sources=2, range=(0.0, 1.0),
    description="Chen-Blum CSF-filtered local contrast preservation",
    reference=_MEFB + "metricsQcb.m; Chen & Blum, Image Vis. Comput. 27 (10) 2009",
)


def qcv(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Chen & Varshney's fusion metric :math:`Q_{CV}`, as MEFB (Liu's code) computes it.

    Images stretched to [0, 255] and rounded (``normalize1``). Regional saliency
    :math:`\lambda_S(w) = \sum_w g_S^5` over 16x16 blocks of the Sobel edge strength
    :math:`g_S` (``filter2 'same'``, zero padding, partial blocks zero-padded). The
    differences :math:`S - F` are filtered in the frequency domain with the Mannos-Sakrison CSF
    :math:`2.6 (0.0192 + 0.144 r) e^{-(0.144 r)^{1.1}}` (``freqspace`` frequencies scaled by
    W/8 and H/8), and :math:`D_S(w)` is the mean square of the filtered difference per block.
    :math:`Q_{CV} = \sum_w (\lambda_A D_A + \lambda_B D_B) / \sum_w (\lambda_A + \lambda_B)`.
    MATLAB's filtered differences are complex (the CSF grid is not symmetric for even sizes);
    the metric keeps MATLAB's complex arithmetic and returns the real part.

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q_{CV}` >= 0 (in squared code values), **lower is better**; 0 when the fused
        image equals both sources.

    References:
        H. Chen, P. K. Varshney, "A human perception inspired quality metric for image
        fusion based on regional information", Information Fusion 8 (2) (2007) 193-207;
        MEFB ``metricsQcv.m``.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)  # noise
        >>> round(qcv(a, [a, a]), 9)
        0.0
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qcv",
        per_plane=_qcv_planes,
    )


def _qcv_planes(pa: np.ndarray, pb: np.ndarray, pf: np.ndarray) -> np.ndarray:
    """:func:`qcv` of each plane of ``(P, H, W)`` stacks (complex arithmetic, real part)."""
    rows, cols = pa.shape[1:]
    n = pa.shape[0]
    stack = normalize1(np.concatenate([pa, pb, pf]))
    a, b, f = stack[:n], stack[n : 2 * n], stack[2 * n :]
    gx = filter2_3x3(stack[: 2 * n], SOBEL.T)
    gy = filter2_3x3(stack[: 2 * n], SOBEL)
    grad = np.sqrt(gx * gx + gy * gy)
    sal = blkproc(grad**5, 16, "sum")
    sal_a, sal_b = sal[:n], sal[n:]

    u, v = freqspace(rows, cols)
    r = np.sqrt((u * (cols / 8)) ** 2 + (v * (rows / 8)) ** 2)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    diff = filter_centered(np.concatenate([a - f, b - f]), csf)
    dist = blkproc(diff * diff, 16, "mean")
    d_a, d_b = dist[:n], dist[n:]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (sal_a * d_a + sal_b * d_b).sum(axis=(1, 2)) / (sal_a + sal_b).sum(axis=(1, 2))
    return q.real


INFO["qcv"] = fusion_info(
    qcv, n_sources=2, higher_is_better=False, range=(0.0, None),
    description="Chen-Varshney saliency-weighted CSF-filtered regional error",
    reference=_MEFB + "metricsQcv.m; Chen & Varshney, Information Fusion 8 (2) 2007",
)


# --------------------------------------------------------------------------------------------
# VIFF (MEFB's "VIF")
# --------------------------------------------------------------------------------------------

#: Weights of the four scales of Han et al.'s VIFF (as in MEFB).
_VIFF_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15

#: Smallest side for which every scale of VIFF keeps at least one "valid" pixel.
_VIFF_MIN_SIZE = 41


def _viff_maps(
    ref: np.ndarray, dist: np.ndarray, noise_var: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per scale: VID map, VIND map and gain ``g`` of one source against the fused image."""
    out = []
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        g1 = gaussian_1d(n, n / 5.0)
        if scale > 1:
            ref = filter2_sep(ref, g1, "valid", columns_first=True)[::2, ::2]
            dist = filter2_sep(dist, g1, "valid", columns_first=True)[::2, ::2]
        mu1 = filter2_sep(ref, g1, "valid", columns_first=True)
        mu2 = filter2_sep(dist, g1, "valid", columns_first=True)
        s1 = filter2_sep(ref * ref, g1, "valid", columns_first=True) - mu1 * mu1
        s2 = filter2_sep(dist * dist, g1, "valid", columns_first=True) - mu2 * mu2
        s12 = filter2_sep(ref * dist, g1, "valid", columns_first=True) - mu1 * mu2
        s1[s1 < 0] = 0
        s2[s2 < 0] = 0
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        m = s1 < 1e-10
        g[m] = 0
        sv[m] = s2[m]
        s1[m] = 0
        m = s2 < 1e-10
        g[m] = 0
        sv[m] = 0
        m = g < 0
        sv[m] = s2[m]
        g[m] = 0
        sv[sv <= 1e-10] = 1e-10
        vid = np.log10(1.0 + g * g * s1 / (sv + noise_var))
        vind = np.log10(1.0 + s1 / noise_var)
        out.append((vid, vind, g))
    return out


def _viff_band(fc: np.ndarray, sc: list[np.ndarray]) -> float:
    noise_var = 0.005 * 255 * 255
    fd = fc.astype(np.float64)
    per_source = [_viff_maps(s.astype(np.float64), fd, noise_var) for s in sc]
    total = 0.0
    for scale in range(4):
        vid, vind, g = per_source[0][scale]
        for maps in per_source[1:]:
            keep = g < maps[scale][2]  # MEFB: L = G1 < G2, ties go to the later source
            vid = np.where(keep, vid, maps[scale][0])
            vind = np.where(keep, vind, maps[scale][1])
            g = np.where(keep, g, maps[scale][2])
        ratio = (vid + 1e-7).sum() / (vind + 1e-7).sum()
        total += ratio * _VIFF_WEIGHTS[scale]
    return float(total)


def viff(fused: object, sources: object, *, data_range: float | None = None) -> float:
    """Visual information fidelity for fusion (Han et al.'s VIFF; MEFB's "VIF").

    Not Sheikh and Bovik's full-reference VIF: Han et al. compare each source with the fused
    image over 4 Gaussian scales (windows 17, 9, 5, 3 with sigma = size / 5, "valid"
    filtering, decimation by 2), keep at each position the source with the smaller gain
    ``g``, and weight the ratios ``sum VID / sum VIND`` of the scales by [1, 0, 0.15, 1] / 2.15,
    with visual noise variance ``0.005 * 255^2``. MEFB calls it per R, G, B channel (its Lab
    branch is skipped for 2-D slices) and averages. Higher is better; about [0, 1].

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``, at least 41x41.
        sources: the source exposures (MEFB: two; with more the smallest-gain source is
            kept at each position).
        data_range: span of float inputs (required for them).

    Returns:
        VIFF.

    Raises:
        InputError: for images too small for four scales.

    References:
        Y. Han, Y. Cai, Y. Cao, X. Xu, "A new image fusion performance metric based on visual
        information fidelity", Information Fusion 14 (2) (2013) 127-135; H. R. Sheikh,
        A. C. Bovik, "Image information and visual quality", IEEE TIP 15 (2) (2006) 430-444;
        MEFB ``metricsVIF.m``.

    >>> x = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    >>> round(viff(x, [x, x]), 6)
    1.0
    """
    f, srcs = mefb_inputs(fused, sources, data_range=data_range, metric="viff")
    h, w = f.shape[:2]
    if min(h, w) < _VIFF_MIN_SIZE:
        raise InputError(
            f"fused is {w}x{h}: VIFF filters over 4 scales (windows 17, 9, 5, 3 pixels, "
            f"halving the size in between), which needs at least {_VIFF_MIN_SIZE}x"
            f"{_VIFF_MIN_SIZE} pixels"
        )
    return channel_mean(f, srcs, _viff_band)


INFO["viff"] = fusion_info(
    viff, range=(0.0, None),
    description="Han et al.'s visual information fidelity for fusion (MEFB's VIF)",
    reference=_MEFB + "metricsVIF.m; Han et al., Information Fusion 14 (2) (2013)",
)
