"""MEF-SSIM family: structural fidelity of a fused image to its source exposures.

Three indices, kept apart because papers mix them up:

* :func:`mef_ssim` and :func:`mef_ms_ssim`: the index of Ma, Zeng & Wang (IEEE TIP 2015), as the
  authors' MATLAB ``mef_ssim.m`` / ``mef_ms_ssim.m`` compute it: greyscale, 8-bit units, an
  11x11 Gaussian window (sigma 1.5), patch structure built from all exposures with weights set
  by a structural-consistency measure, the contrast of the strongest exposure, ``'valid'``
  windows only, and a product over 3 scales for the multi-scale form.
* :func:`mefb_mef_ssim`: MEFB's "MEF_SSIM" column: :func:`mef_ms_ssim` on grey images made with
  MATLAB ``rgb2gray``, which rounds 8-bit colour to 8-bit grey levels.
* :func:`mef_ssimc`: MEF-SSIMc (Ma et al., IEEE TCI 2018) as MEF-Net's ``mefssim.py`` computes
  it: colour patches, the reference patch is the single exposure of highest local variance,
  a Gaussian window of sigma 11/6 and zero-padded borders. It gives different numbers.

How :func:`mef_ssim` is computed (per window position, ``x_k`` the 11x11 patch of exposure k,
``x~_k = x_k - mean(x_k)``, ``n = 121``, all in 8-bit units):

1. contrast ``ed_k = ||x~_k|| + 0.001``; desired contrast ``max_k ed_k``;
2. structural consistency ``R = ||sum_k x~_k|| / sum_k ||x~_k||``, exponent
   ``p = min(tan(pi R / 2), 10)``;
3. structure weights ``w_k = (ed_k / 11)^p``, desired patch
   ``r = max_k ed_k * u / ||u||`` with ``u = sum_k w_k x~_k / ed_k / sum_k w_k``;
4. ``q = (2 sigma_rf + C) / (sigma_r^2 + sigma_f^2 + C)`` with Gaussian-weighted statistics
   and ``C = (0.03 * 255)^2``; the index is the mean of ``q`` over all ``'valid'`` positions.

The patch sums are evaluated with separable filters: ``||u||^2`` and ``sigma_r^2`` are
quadratic forms in the per-pixel exposure covariances (uniform and Gaussian windows), which
gives the MATLAB double loop's numbers without forming patches. Patches whose variance is
below ``1e-8`` (8-bit units squared; a flat, e.g. saturated, patch) count as exactly flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..color import MATLAB_RGB2GRAY as RGB2GRAY
from ..errors import InputError
from ._checks import as_float64, check_sources, size_of
from ._matlab import gaussian_1d as gaussian_kernel_1d
from ._matlab import matlab_round
from ._table import MetricInfo

#: Weights of the 3 scales of ``mef_ms_ssim.m`` (renormalised to sum 1 before use).
MS_WEIGHTS: tuple[float, float, float] = (0.0448, 0.2856, 0.3001)

#: Patch variance (8-bit units squared) at or below which a patch counts as flat.
FLAT_VARIANCE = 1e-8

#: MATLAB's ``eps`` (the MATLAB code adds it to avoid 0/0 and 0^p).
_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------------
# Small building blocks
# ---------------------------------------------------------------------------------------------
def _filter(img: np.ndarray, kernel: np.ndarray, *, valid: bool) -> np.ndarray:
    """Separable correlation of a 2-D float64 image with ``kernel`` along both axes.

    ``valid=True`` keeps only positions where the window lies inside the image (MATLAB
    ``filter2(..., 'valid')``); otherwise the output has the input's size with zero padding
    (PyTorch ``conv2d(padding=size // 2)``).
    """
    bd = kernel.size // 2
    border = cv2.BORDER_REFLECT if valid else cv2.BORDER_CONSTANT
    out = cv2.sepFilter2D(np.ascontiguousarray(img), cv2.CV_64F, kernel, kernel,
                          borderType=border)
    if valid:
        return out[bd: out.shape[0] - bd, bd: out.shape[1] - bd]
    return out


def _rgb2gray(img: np.ndarray, *, round_to_uint8: bool) -> np.ndarray:
    """``(H, W)`` grey of an ``(H, W, C)`` float64 image in 8-bit units (MATLAB ``rgb2gray``).

    ``round_to_uint8`` reproduces MATLAB on uint8 input: the weighted sum is rounded half away
    from zero and saturated to 0..255.
    """
    if img.shape[2] == 1:
        return img[..., 0].copy()
    r, g, b = RGB2GRAY
    gray = r * img[..., 0] + g * img[..., 1] + b * img[..., 2]
    if round_to_uint8:
        gray = np.clip(matlab_round(gray), 0.0, 255.0)
    return gray


def _downsample(img: np.ndarray) -> np.ndarray:
    """MATLAB ``imfilter(x, ones(2)/4, 'symmetric', 'same')`` then ``x(1:2:end, 1:2:end)``.

    The 2x2 kernel's anchor is its top-left tap, so each output pixel is the mean of a 2x2
    block; an odd last row/column is averaged with its mirror (itself).
    """
    h, w = img.shape
    x = np.pad(img, ((0, h % 2), (0, w % 2)), mode="edge")
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4.0


# ---------------------------------------------------------------------------------------------
# The MEF-SSIM core (greyscale stacks in 8-bit units)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Reference:
    """What one scale of MEF-SSIM needs from the sources, independent of the fused image."""

    centred: np.ndarray  # (N, H, W) sources minus their global means
    gmu: np.ndarray  # (N, h, w) Gaussian means of the centred sources
    a: np.ndarray  # (N, h, w) coefficients of the desired patch (0 for flat patches)
    scale: np.ndarray  # (h, w) factor that gives the desired patch its contrast max_k ed_k
    sigma1_sq: np.ndarray  # (h, w) Gaussian variance of the desired patch
    g: np.ndarray  # 1-D Gaussian window
    c: float  # stabilising constant (K * 255)^2


def _reference(seq: np.ndarray, *, k: float, window_size: int, sigma: float) -> _Reference:
    """Source-side statistics of MEF-SSIM for an ``(N, H, W)`` stack in 8-bit units."""
    n_src = seq.shape[0]
    n = float(window_size * window_size)
    box = np.full(window_size, 1.0 / window_size)
    g = gaussian_kernel_1d(window_size, sigma)
    # Constant offsets do not change any term of the index; centring reduces cancellation.
    x = seq - seq.mean(axis=(1, 2), keepdims=True)

    mu = np.stack([_filter(xi, box, valid=True) for xi in x])
    var = np.stack([_filter(xi * xi, box, valid=True) for xi in x]) - mu * mu
    flat = var <= FLAT_VARIANCE
    var = np.where(flat, 0.0, var)
    norm = np.sqrt(n * var)  # ||x~_k||
    ed = norm + 0.001

    s = x.sum(axis=0)
    mu_s = _filter(s, box, valid=True)
    var_s = _filter(s * s, box, valid=True) - mu_s * mu_s
    var_s = np.where(var_s <= FLAT_VARIANCE, 0.0, var_s)
    consistency = (np.sqrt(n * var_s) + _EPS) / (norm.sum(axis=0) + _EPS)
    consistency = np.where(consistency > 1.0, 1.0 - _EPS, consistency)
    consistency = np.where(consistency < 0.0, _EPS, consistency)
    with np.errstate(over="ignore"):
        p = np.minimum(np.tan(np.pi / 2.0 * consistency), 10.0)

    w = (ed / window_size) ** p[None] + _EPS
    w = w / w.sum(axis=0, keepdims=True)
    a = np.where(flat, 0.0, w / ed)
    max_ed = ed.max(axis=0)

    gmu = np.stack([_filter(xi, g, valid=True) for xi in x])
    quad_u = np.zeros_like(max_ed)  # a' Cov_uniform a
    quad_g = np.zeros_like(max_ed)  # a' Cov_gauss a
    for i in range(n_src):
        for j in range(i, n_src):
            prod = x[i] * x[j]
            cov_u = _filter(prod, box, valid=True) - mu[i] * mu[j]
            cov_g = _filter(prod, g, valid=True) - gmu[i] * gmu[j]
            factor = (1.0 if i == j else 2.0) * a[i] * a[j]
            quad_u += factor * cov_u
            quad_g += factor * cov_g
    norm_u_sq = n * quad_u  # ||u||^2 up to the common factor of the weights
    ok = norm_u_sq > 0
    scale = np.where(ok, max_ed / np.sqrt(np.where(ok, norm_u_sq, 1.0)), 0.0)
    sigma1_sq = np.maximum(scale * scale * quad_g, 0.0)
    return _Reference(x, gmu, a, scale, sigma1_sq, g, (k * 255.0) ** 2)


def _quality_map(ref: _Reference, fused: np.ndarray) -> np.ndarray:
    """MEF-SSIM map of a grey fused image (8-bit units) against a prepared reference."""
    f = fused - fused.mean()
    mu_f = _filter(f, ref.g, valid=True)
    sigma2_sq = np.maximum(_filter(f * f, ref.g, valid=True) - mu_f * mu_f, 0.0)
    cross = np.zeros_like(mu_f)
    for i in range(ref.centred.shape[0]):
        cov = _filter(ref.centred[i] * f, ref.g, valid=True) - ref.gmu[i] * mu_f
        cross += ref.a[i] * cov
    sigma12 = ref.scale * cross
    return (2.0 * sigma12 + ref.c) / (ref.sigma1_sq + sigma2_sq + ref.c)


def _scale_scores(
    seq: np.ndarray, fused: np.ndarray, *, k: float, window_size: int, sigma: float, levels: int
) -> list[float]:
    """Single-scale MEF-SSIM at ``levels`` dyadic scales of grey stacks in 8-bit units."""
    scores = []
    for level in range(levels):
        if level:
            seq = np.stack([_downsample(s) for s in seq])
            fused = _downsample(fused)
        ref = _reference(seq, k=k, window_size=window_size, sigma=sigma)
        scores.append(float(_quality_map(ref, fused).mean()))
    return scores


def _combine(scores: Sequence[float], weights: Sequence[float]) -> float:
    """``prod(Q_l ** w_l)`` with the weights renormalised; negative scale scores count as 0."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    q = np.maximum(np.asarray(scores, dtype=np.float64), 0.0)
    return float(np.prod(q**w))


# ---------------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------------
def _check_options(k: float, window_size: int, sigma: float) -> None:
    if not isinstance(window_size, (int, np.integer)) or window_size < 3 or window_size % 2 == 0:
        raise InputError(f"window_size must be an odd integer >= 3, got {window_size!r}")
    if not (np.isfinite(k) and k > 0):
        raise InputError(f"k must be a finite number > 0, got {k!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"sigma must be a finite number > 0, got {sigma!r}")


def _check_weights(weights: Sequence[float]) -> tuple[float, ...]:
    try:
        w = tuple(float(v) for v in weights)
    except (TypeError, ValueError):
        raise InputError(f"weights must be numbers, one per scale, got {weights!r}") from None
    if not w or not all(np.isfinite(v) and v >= 0 for v in w) or sum(w) <= 0:
        raise InputError(f"weights must be >= 0 with a positive sum, one per scale, got {w}")
    return w


def _prepare(
    fused: object, sources: object, data_range: float | None, *, metric: str,
    round_gray: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Checked grey fused ``(H, W)`` and sources ``(N, H, W)`` in 8-bit units (float64).

    ``round_gray`` rounds the grey levels of uint8 colour images as MATLAB ``rgb2gray`` does
    (integer sources always share the fused image's dtype: the checks refuse mixes).
    """
    f, dr = as_float64(fused, name="fused", data_range=data_range)
    assert dr is not None  # as_float64 resolves the range (or raises)
    dtype = np.asarray(fused).dtype
    srcs = check_sources(sources, f, data_range=dr, metric=metric, fused_dtype=dtype)
    rounding = round_gray and dtype == np.uint8 and dr == 255.0
    to8 = 255.0 / dr
    gray_f = _rgb2gray(f * to8, round_to_uint8=rounding)
    seq = np.stack([_rgb2gray(s * to8, round_to_uint8=rounding) for s in srcs])
    return gray_f, seq


def _check_size(img: np.ndarray, window_size: int, levels: int, metric: str) -> None:
    smallest = min(img.shape[:2]) / 2 ** (levels - 1)
    if smallest < window_size:
        need = window_size * 2 ** (levels - 1)
        raise InputError(
            f"{metric}: the images are {size_of(img)} pixels; {levels} scale(s) with an "
            f"{window_size}x{window_size} window need at least {need} pixels on the short side "
            "(use fewer scales or a larger image)"
        )


# ---------------------------------------------------------------------------------------------
# Public metrics
# ---------------------------------------------------------------------------------------------
def mef_ssim(
    fused: np.ndarray,
    sources: Sequence[np.ndarray] | np.ndarray,
    *,
    data_range: float | None = None,
    k: float = 0.03,
    window_size: int = 11,
    sigma: float = 1.5,
) -> float:
    """MEF-SSIM (Ma, Zeng & Wang 2015), single scale, as the authors' ``mef_ssim.m``.

    Colour images are turned into grey with MATLAB ``rgb2gray`` weights (0.2989 R + 0.5870 G +
    0.1140 B, not rounded) and all values are rescaled to 8-bit units (``x * 255 /
    data_range``), the units of the MATLAB code's constants. Luminance is not compared: adding
    a constant to any image leaves the score unchanged.

    Args:
        fused: the fused image, ``(H, W)`` or ``(H, W, C)``, display-referred
            (uint8, uint16 or float in ``[0, data_range]``).
        sources: the source exposures (at least 1), same size, channels and dtype as
            ``fused``; a list or an ``(N, H, W, C)`` array.
        data_range: span of the values; required for float images (1.0 for [0, 1]); defaults
            to 255 / 65535 for uint8 / uint16.
        k: the SSIM constant ``K``; ``C = (K * 255)^2`` in 8-bit units.
        window_size: side of the square windows (odd).
        sigma: standard deviation of the Gaussian window, in pixels.

    Returns:
        The mean of the quality map over all positions where the window fits; 1 for a fused
        image whose local structure matches the desired one everywhere, in ``(-1, 1]``
        (in ``[0, 1]`` for real fusions).

    Raises:
        InputError: for missing or mismatched sources, a missing ``data_range`` for float
            images, values out of range, or images smaller than the window.

    Shape:
        ``fused`` ``(H, W[, C])``, each source ``(H, W[, C])``, ``H, W >= window_size``.

    References:
        K. Ma, K. Zeng and Z. Wang, "Perceptual Quality Assessment for Multi-Exposure Image
        Fusion", IEEE TIP 24(11):3345-3356, 2015 (equation numbers not checked
        here: the algorithm follows the authors' ``mef_ssim.m``, copy in the MEFB repository,
        ``metrics/mef_ssim.m``).

    >>> rng = np.random.default_rng(0)
    >>> img = rng.random((16, 16))
    >>> round(mef_ssim(img, [img, img], data_range=1.0), 6)
    1.0
    """
    _check_options(k, window_size, sigma)
    f, seq = _prepare(fused, sources, data_range, metric="mef_ssim")
    _check_size(f, window_size, 1, "mef_ssim")
    return _scale_scores(seq, f, k=k, window_size=window_size, sigma=sigma, levels=1)[0]


def mef_ms_ssim(
    fused: np.ndarray,
    sources: Sequence[np.ndarray] | np.ndarray,
    *,
    data_range: float | None = None,
    weights: Sequence[float] = MS_WEIGHTS,
    k: float = 0.03,
    window_size: int = 11,
    sigma: float = 1.5,
) -> float:
    """Multi-scale MEF-SSIM, as the authors' ``mef_ms_ssim.m``.

    :func:`mef_ssim` at ``len(weights)`` scales (each coarser scale: mean of 2x2 blocks,
    MATLAB's ``imfilter(ones(2)/4, 'symmetric')`` and every other pixel), combined as
    ``prod(Q_l ** w_l)`` with the weights renormalised to sum 1. A negative scale score would
    make MATLAB return a complex number; here it counts as 0.

    Args:
        fused: the fused image, ``(H, W)`` or ``(H, W, C)`` (see :func:`mef_ssim`).
        sources: the source exposures, same size, channels and dtype as ``fused``.
        data_range: span of the values; required for float images.
        weights: one weight per scale, finest first; default ``(0.0448, 0.2856, 0.3001)``,
            the MATLAB default (the first three MS-SSIM weights of Wang et al. 2003).
        k: the SSIM constant ``K``.
        window_size: side of the square windows (odd).
        sigma: standard deviation of the Gaussian window.

    Returns:
        The weighted geometric mean of the scale scores, in ``[0, 1]``.

    Raises:
        InputError: as :func:`mef_ssim`, and when the coarsest scale is smaller than the window
            (MATLAB returns ``-Inf`` then).

    References:
        K. Ma, K. Zeng and Z. Wang, IEEE TIP 24(11):3345-3356, 2015; the authors'
        ``mef_ms_ssim.m`` (MEFB repository, ``metrics/mef_ms_ssim.m``).

    >>> img = np.tile(np.linspace(0.0, 1.0, 64), (64, 1))
    >>> round(mef_ms_ssim(img, [img, img], data_range=1.0), 6)
    1.0
    """
    _check_options(k, window_size, sigma)
    w = _check_weights(weights)
    f, seq = _prepare(fused, sources, data_range, metric="mef_ms_ssim")
    _check_size(f, window_size, len(w), "mef_ms_ssim")
    scores = _scale_scores(seq, f, k=k, window_size=window_size, sigma=sigma, levels=len(w))
    return _combine(scores, w)


def mefb_mef_ssim(
    fused: np.ndarray,
    sources: Sequence[np.ndarray] | np.ndarray,
    *,
    data_range: float | None = None,
) -> float:
    """MEFB's ``MEF_SSIM``: :func:`mef_ms_ssim` on MATLAB ``rgb2gray`` grey images.

    MEFB (``metricsMEF_SSIM.m``) converts both sources and the fused image with ``rgb2gray``
    and calls ``mef_ms_ssim`` with its defaults (3 scales, weights ``[0.0448, 0.2856,
    0.3001]`` renormalised). For uint8 colour input ``rgb2gray`` rounds the grey levels to
    integers, which this function reproduces; other inputs are converted without rounding
    (and then equal :func:`mef_ms_ssim`).

    Args:
        fused: the fused image, ``(H, W)`` or ``(H, W, C)``; uint8 as read from MEFB's files.
        sources: the source exposures (MEFB uses 2), same size, channels and dtype.
        data_range: span of the values; required for float images.

    Returns:
        The score in ``[0, 1]``. Against MEFB's stored MATLAB values (5 decimals) on all 336
        (scene, method) pairs with fused files: median relative error 2.9e-6, max 6.4e-6
        (``tests/test_metrics_mef.py`` checks 63 of them).

    Raises:
        InputError: as :func:`mef_ms_ssim`.

    References:
        X. Zhang, "Benchmarking and comparing multi-exposure image fusion algorithms",
        Information Fusion 74:111-131, 2021 (MEFB, ``metrics/metricsMEF_SSIM.m``); K. Ma,
        K. Zeng and Z. Wang, IEEE TIP 24(11):3345-3356, 2015.

    >>> img = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))
    >>> round(mefb_mef_ssim(img, [img, img]), 6)
    1.0
    """
    f, seq = _prepare(fused, sources, data_range, metric="mefb_mef_ssim", round_gray=True)
    _check_size(f, 11, len(MS_WEIGHTS), "mefb_mef_ssim")
    scores = _scale_scores(seq, f, k=0.03, window_size=11, sigma=1.5, levels=len(MS_WEIGHTS))
    return _combine(scores, MS_WEIGHTS)


def mef_ssimc(
    fused: np.ndarray,
    sources: Sequence[np.ndarray] | np.ndarray,
    *,
    data_range: float | None = None,
    luminance: bool = False,
    window_size: int = 11,
) -> float:
    """MEF-SSIMc: the colour MEF-SSIM of Ma et al. 2018, as MEF-Net's ``mefssim.py``.

    A different index from :func:`mef_ssim`: statistics are taken over colour patches
    (``window_size x window_size x C``, Gaussian weights of sigma ``window_size / 6`` shared by
    the channels), the reference patch at each position is the single exposure with the
    highest local variance (no structure blending), the image borders are zero-padded so every
    pixel has a score, and values are in [0, 1] units (``C2 = 0.03^2``).

    Args:
        fused: the fused image, ``(H, W)`` or ``(H, W, C)``, display-referred.
        sources: the source exposures, same size, channels and dtype as ``fused``.
        data_range: span of the values; required for float images.
        luminance: also compare the local mean with a well-exposedness-weighted mean of the
            exposures (MEF-Net's ``is_lum=True``: Gaussian weights of sigma 0.2 around 0.5,
            global and local, ``C1 = 0.01^2``). MEF-Net's default and this default is False.
        window_size: side of the Gaussian window (odd).

    Returns:
        The mean of the quality map over all pixels, at most 1.

    Raises:
        InputError: as :func:`mef_ssim`.

    References:
        K. Ma, Z. Duanmu, H. Yeganeh and Z. Wang, "Multi-Exposure Image Fusion by Optimizing
        a Structural Similarity Index", IEEE TCI 4(1):60-72, 2018; K. Ma et al., "Deep Guided
        Learning for Fast Multi-Exposure Image Fusion", IEEE TIP vol. 29, 2020 (MEF-Net,
        ``mefssim.py``).

    >>> rng = np.random.default_rng(1)
    >>> img = rng.random((16, 16, 3))
    >>> round(mef_ssimc(img, [img, img * 0.5], data_range=1.0), 6)
    1.0
    """
    if not isinstance(window_size, (int, np.integer)) or window_size < 3 or window_size % 2 == 0:
        raise InputError(f"window_size must be an odd integer >= 3, got {window_size!r}")
    f, dr = as_float64(fused, name="fused", data_range=data_range)
    assert dr is not None
    srcs = check_sources(sources, f, data_range=dr, metric="mef_ssimc",
                         fused_dtype=np.asarray(fused).dtype)
    f = f / dr
    seq = [s / dr for s in srcs]
    channels = f.shape[2]
    g = gaussian_kernel_1d(window_size, window_size / 6.0)

    def stat(img: np.ndarray) -> np.ndarray:  # Gaussian mean over the colour patch
        return sum(_filter(img[..., c], g, valid=False) for c in range(channels)) / channels

    c1, c2 = 0.01**2, 0.03**2
    mu_x = stat(f)
    sigma_x = stat(f * f) - mu_x * mu_x
    mu_y = np.stack([stat(y) for y in seq])
    sigma_y = np.stack([stat(y * y) for y in seq]) - mu_y * mu_y
    sigma_xy = np.stack([stat(f * y) for y in seq]) - mu_x[None] * mu_y
    best = np.argmax(sigma_y, axis=0)[None]
    cs = np.take_along_axis((2 * sigma_xy + c2) / (sigma_x[None] + sigma_y + c2), best, 0)[0]
    if not luminance:
        return float(cs.mean())
    denom = 2 * 0.2**2
    global_mean = mu_y.mean(axis=(1, 2), keepdims=True)
    weight = np.exp(-((mu_y - 0.5) ** 2) / denom) * np.exp(-((global_mean - 0.5) ** 2) / denom)
    mu_ref = (weight * mu_y).sum(axis=0) / weight.sum(axis=0)
    lum = (2 * mu_x * mu_ref + c1) / (mu_x * mu_x + mu_ref * mu_ref + c1)
    return float((lum * cs).mean())


def _info() -> dict[str, MetricInfo]:
    tip = ("K. Ma, K. Zeng, Z. Wang, Perceptual Quality Assessment for Multi-Exposure Image "
           "Fusion, IEEE TIP 24(11):3345-3356, 2015")
    return {
        "mef_ssim": MetricInfo(
            "mef_ssim", mef_ssim, True, "fusion", (0.0, 1.0),
            "MEF-SSIM, single scale: structure and contrast of the fused image against the "
            "desired patches built from the exposures (grey, MATLAB mef_ssim.m)", tip),
        "mef_ms_ssim": MetricInfo(
            "mef_ms_ssim", mef_ms_ssim, True, "fusion", (0.0, 1.0),
            "MEF-SSIM over 3 scales, weights [0.0448, 0.2856, 0.3001] (MATLAB mef_ms_ssim.m)",
            tip),
        "mefb_mef_ssim": MetricInfo(
            "mefb_mef_ssim", mefb_mef_ssim, True, "fusion", (0.0, 1.0),
            "MEFB's MEF_SSIM: multi-scale MEF-SSIM on rgb2gray images rounded to 8 bits",
            "X. Zhang, Benchmarking and comparing multi-exposure image fusion algorithms, "
            "Information Fusion 74:111-131, 2021; " + tip),
        "mef_ssimc": MetricInfo(
            "mef_ssimc", mef_ssimc, True, "fusion", (0.0, 1.0),
            "MEF-SSIMc: colour patches, structure from the highest-variance exposure "
            "(MEF-Net mefssim.py)",
            "K. Ma, Z. Duanmu, H. Yeganeh, Z. Wang, Multi-Exposure Image Fusion by Optimizing "
            "a Structural Similarity Index, IEEE TCI 4(1):60-72, 2018"),
    }


#: Facts about the metrics of this module, merged into :data:`expokit.metrics.METRICS`.
INFO = _info()

__all__ = ["INFO", "MS_WEIGHTS", "mef_ms_ssim", "mef_ssim", "mef_ssimc", "mefb_mef_ssim"]

