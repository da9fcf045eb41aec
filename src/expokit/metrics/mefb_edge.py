r"""MEFB's edge-, structure- and perception-based fusion metrics, as its MATLAB code computes them.

Seven metrics of the MEFB benchmark (Zhang, Information Fusion 2021), re-implemented in NumPy
from the definitions in MEFB's ``metrics/`` folder and checked against the scores MEFB stored
(``evaluationMetrics.mat``):

========  ========================================================  ==================
function  metric                                                    MEFB file
========  ========================================================  ==================
`qabf`    Xydeas & Petrovic gradient-preservation Q^{AB/F}          ``metricsQabf.m``
`qp`      Zhao, Laganiere & Liu phase-congruency metric             ``metricsQp.m``
`qc`      Cvejic, Loza, Bull & Canagarajah similarity metric        ``metricsQc.m``
`qw`      Piella & Heijmans edge-dependent fusion quality index     ``metricsQw.m``
`qy`      Yang, Zhang, Wang & Liu SSIM-based metric                 ``metricsQy.m``
`qcb`     Chen & Blum perceptual (CSF + local contrast) metric      ``metricsQcb.m``
`qcv`     Chen & Varshney regional CSF-error metric (lower=better)  ``metricsQcv.m``
========  ========================================================  ==================

plus :func:`phase_congruency`, the variant of Kovesi's ``phasecong3`` that ``qp`` uses, and two
textbook forms of Piella's index that MEFB does not use (:func:`qw_weighted`, :func:`qe_piella`).

**Inputs.** Every metric takes the fused image and a sequence of exactly two source exposures,
8-bit code values as MEFB reads them with ``imread``: ``uint8`` arrays of shape ``(H, W, 3)`` or
``(H, W)``. Other dtypes are quantised to 8-bit code values first,
``round(x / data_range * 255)``, so ``data_range`` is required for float images (1.0 for
display-referred images in [0, 1]); uint16 defaults to 65535. All arithmetic is float64. Their
:class:`MetricInfo` says ``n_sources=2``: :func:`expokit.metrics.score` and ``expokit eval``
give them the darkest and the brightest shot of a longer bracket
(:func:`expokit.metrics.extreme_pair`).

**Colour.** With ``channels="mefb"`` (default) the metric follows MEFB's wrapper: for colour
images it is computed on R, G and B separately and the three values are averaged (MEFB's inner
functions never see a colour image, so their ``rgb2gray`` branches are dead code there). Two
MEFB rules for mixed input are kept: grey sources with a colour fused image use the fused
image's *first (red) channel*, not its luminance; a grey fused image with colour sources
compares against ``rgb2gray`` of the sources. ``channels="grey"`` is the textbook greyscale
form: every colour image is converted with MATLAB's ``rgb2gray`` (rounded to 8 bits, as MATLAB
does for uint8 input) and the metric is computed once.

**Borders.** MATLAB ``conv2``/``filter2`` with ``'same'`` pad with zeros; ``'valid'`` crops.
Each metric keeps the mode its MATLAB code uses.

**QC and QY in constant windows.** Both use Liu's ``ssim_yang``: SSIM over a 7x7 Gaussian with
``C1 = C2 = 2e-16``. Where one image is constant over a window (saturated sky at 254 or 255,
which covers a third of many MEFB pairs), the exact local variance and covariance are 0 and
the computed ones are rounding noise of about 1e-11, far above the constants; the SSIM terms
and Cvejic's weight :math:`\sigma_{AF} / (\sigma_{AF} + \sigma_{BF})` then become ratios of
noise, and whether that weight lands just above 1 (clipped to a score of 1) or just below
(score SSIM(A, F)) flips the pixel. A plain float64 evaluation gives noise of either sign and
scores like -300 or +50. MEFB's stored values are reproduced by exact moments (0 in constant
windows) plus a bias ``1e-15 * E[x] E[y]`` on every variance and covariance, as if MATLAB's
local means came out a hair low (consistently positive noise); the size of the bias does not
matter (1e-16 to 1e-12 give the same scores). Pairs where two images are constant at
*different* levels in the same window (fused 255 over a source at 254) stay noise-dominated
in MATLAB and are not reproduced exactly; see the validation numbers in the docstrings.

References:
    X. Zhang, "Benchmarking and comparing multi-exposure image fusion algorithms",
    Information Fusion 74 (2021) 111-131; code: github.com/xingchenzhang/MEFB (``metrics/``).
    Z. Liu et al., "Objective assessment of multiresolution image fusion algorithms for
    context enhancement in night vision: a comparative study", IEEE TPAMI 34 (1) (2012) 94-109
    (the survey whose MATLAB code MEFB's QP, QC, QW, QY, QCB and QCV files are).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from .._checks import check_image
from ..errors import InputError
from ._checks import (
    RGB2GRAY,  # noqa: F401 - the weights of channels="grey", for callers
    gaussian_1d,
    matlab_round,
    rgb2gray_u8,
)
from ._table import MetricInfo

__all__ = [
    "INFO",
    "phase_congruency",
    "qabf",
    "qc",
    "qcb",
    "qcv",
    "qe_piella",
    "qp",
    "qw",
    "qw_weighted",
    "qy",
]

Channels = Literal["mefb", "grey"]


_TRANSFORM_WORKERS = -1  # scipy.fft: use every core


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _code_values(img: object, name: str, data_range: float | None) -> np.ndarray:
    """Check one image and return its 8-bit code values as a float64 ``(H, W, C)`` array."""
    arr = check_image(img, name=name)
    if arr.dtype == np.uint8:
        return arr.astype(np.float64)
    if data_range is None:
        if arr.dtype == np.uint16:
            data_range = 65535.0
        else:
            raise InputError(
                f"{name} is {arr.dtype}: MEFB's metrics work on 8-bit code values, so float "
                "images are quantised with round(x / data_range * 255); pass data_range=1.0 "
                "for images in [0, 1] (or give uint8 arrays)"
            )
    dr = float(data_range)
    if not np.isfinite(dr) or dr <= 0:
        raise InputError(f"data_range must be a finite number > 0, got {data_range!r}")
    x = arr.astype(np.float64)
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-3 * dr or hi > dr * (1 + 1e-3):
        raise InputError(
            f"{name} has values in [{lo:.6g}, {hi:.6g}] but data_range={dr:g} means "
            f"[0, {dr:g}]; pass the data_range that matches the images, or clip them to it"
        )
    return np.clip(matlab_round(x / dr * 255.0), 0.0, 255.0)


def _planes(
    fused: object,
    sources: object,
    *,
    data_range: float | None,
    channels: Channels,
    metric: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The planes a metric works on: ``(A, B, F)``, each float64 ``(P, H, W)``.

    ``P`` is 3 for MEFB's per-channel protocol on colour images and 1 otherwise.
    """
    if channels not in ("mefb", "grey"):
        raise InputError(f"channels must be 'mefb' or 'grey', got {channels!r}")
    if sources is None:
        raise InputError(
            f"{metric} is a fusion metric and needs the source exposures: pass "
            "sources=[under, over] (the two images that were fused)"
        )
    if isinstance(sources, np.ndarray) and sources.ndim == 4:
        sources = list(sources)
    if not isinstance(sources, Sequence) or isinstance(sources, (str, bytes)):
        raise InputError(f"sources must be a list of two images, got {type(sources).__name__}")
    if len(sources) != 2:
        raise InputError(
            f"{metric} is defined for exactly two source images (MEFB's under- and "
            f"over-exposed pair), got {len(sources)}; pick the two exposures that were fused"
        )
    f = _code_values(fused, "fused", data_range)
    srcs = [_code_values(s, f"source {i + 1}", data_range) for i, s in enumerate(sources)]
    for i, s in enumerate(srcs):
        if s.shape[:2] != f.shape[:2]:
            raise InputError(
                f"source {i + 1} is {s.shape[1]}x{s.shape[0]} but fused is "
                f"{f.shape[1]}x{f.shape[0]}: metrics compare images pixel by pixel, so all "
                "must have one size"
            )
    if min(f.shape[0], f.shape[1]) < 16:
        raise InputError(
            f"fused is {f.shape[1]}x{f.shape[0]} pixels; {metric} needs at least 16x16 "
            "(its windows are up to 16 pixels wide)"
        )
    a, b = srcs
    if channels == "grey":
        a, b, f = (rgb2gray_u8(x) if x.shape[2] == 3 else x[..., 0] for x in (a, b, f))
        return a[None], b[None], f[None]
    if a.shape[2] != b.shape[2]:
        raise InputError(
            f"source 1 has {a.shape[2]} channel(s) but source 2 has {b.shape[2]}: give two "
            "colour or two grey sources (or pass channels='grey')"
        )
    if a.shape[2] == 1 and f.shape[2] == 3:
        f = f[..., :1]  # MEFB: grey sources with a colour fused image use its first channel
    elif a.shape[2] == 3 and f.shape[2] == 1:
        a, b = rgb2gray_u8(a)[..., None], rgb2gray_u8(b)[..., None]
    return (np.moveaxis(x, 2, 0) for x in (a, b, f))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# MATLAB filtering helpers (planes are (P, H, W); filtering runs over the last two axes)
# --------------------------------------------------------------------------------------------


def _sep_filter(planes: np.ndarray, g: np.ndarray, mode: Literal["same", "valid"]) -> np.ndarray:
    """``filter2(g g^T, plane, mode)`` for a symmetric separable kernel, zero padding."""
    out = ndimage.correlate1d(planes, g, axis=-1, mode="constant", cval=0.0)
    out = ndimage.correlate1d(out, g, axis=-2, mode="constant", cval=0.0)
    if mode == "valid":
        r = (g.size - 1) // 2
        out = out[..., r:-r, r:-r]
    return out


def _correlate3(planes: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``filter2(kernel, plane, 'same')`` (correlation, zero padding) for a 3x3 kernel."""
    return ndimage.correlate(planes, kernel[None], mode="constant", cval=0.0)


def _normalize1(x: np.ndarray) -> np.ndarray:
    """Liu's ``normalize1`` per plane: stretch to [0, 255] and round (MATLAB rounding)."""
    hi = x.max(axis=(-2, -1), keepdims=True)
    lo = x.min(axis=(-2, -1), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = matlab_round((x - lo) / (hi - lo) * 255.0)
    keep = (hi == 0) & (lo == 0)
    return np.where(keep, x, out)


def _freqspace(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``[u, v] = freqspace([rows, cols], 'meshgrid')``."""
    fu = (np.arange(cols) - cols // 2) * (2.0 / cols)
    fv = (np.arange(rows) - rows // 2) * (2.0 / rows)
    return np.meshgrid(fu, fv)


def _filter_centered(planes: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """``ifft2(ifftshift(fftshift(fft2(x)) .* H))`` for a centred transfer function ``H``.

    The result is complex (``H`` is not exactly Hermitian for even sizes), as in MATLAB.
    """
    spec = sfft.fft2(planes, axes=(-2, -1), workers=_TRANSFORM_WORKERS)
    return sfft.ifft2(spec * np.fft.ifftshift(transfer), axes=(-2, -1), workers=_TRANSFORM_WORKERS)


def _mean_valid(values: np.ndarray) -> float:
    """Mean over non-NaN entries (MATLAB ``mean2(A(~isnan(A)))``)."""
    keep = ~np.isnan(values)
    return float(values[keep].mean()) if keep.any() else float("nan")


# --------------------------------------------------------------------------------------------
# Qabf
# --------------------------------------------------------------------------------------------

_SOBEL_Y = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _qabf_edges(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel strength and orientation as ``metricsQabf.m``: ``conv2(p, h, 'same')``."""
    sx = ndimage.convolve(p, _SOBEL_X[None], mode="constant", cval=0.0)
    sy = ndimage.convolve(p, _SOBEL_Y[None], mode="constant", cval=0.0)
    g = np.sqrt(sx * sx + sy * sy)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(sx == 0, np.pi / 2, np.arctan(sy / np.where(sx == 0, 1.0, sx)))
    return g, a


def _qabf_preservation(g_s: np.ndarray, a_s: np.ndarray, g_f: np.ndarray, a_f: np.ndarray):
    """Edge preservation Q^{SF} = Q_g Q_alpha of one source (Xydeas & Petrovic eq. 3-5)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            g_s > g_f,
            g_f / np.where(g_s > g_f, g_s, 1.0),
            # MEFB: equal strengths give G = g_F (not 1); unequal give g_S / g_F
            np.where(g_s == g_f, g_f, g_s / np.where(g_f == 0, 1.0, g_f)),
        )
    align = 1.0 - np.abs(a_s - a_f) / (np.pi / 2)
    q_g = 0.9994 / (1.0 + np.exp(-15.0 * (ratio - 0.5)))
    q_a = 0.9879 / (1.0 + np.exp(-22.0 * (align - 0.8)))
    return q_g * q_a


def qabf(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Xydeas & Petrovic's gradient-based fusion metric :math:`Q^{AB/F}`, as MEFB computes it.

    Sobel responses ``conv2(p, [-1 0 1; -2 0 2; -1 0 1], 'same')`` (x) and
    ``conv2(p, [1 2 1; 0 0 0; -1 -2 -1], 'same')`` (y), zero padding, give edge strength
    :math:`g = \sqrt{s_x^2 + s_y^2}` and orientation :math:`\alpha = \arctan(s_y / s_x)`
    (:math:`\pi/2` where :math:`s_x = 0`). For each source,
    :math:`G = \min(g_S, g_F) / \max(g_S, g_F)`, :math:`A = 1 - |\alpha_S - \alpha_F| / (\pi/2)`,
    :math:`Q = \Gamma_g / (1 + e^{\kappa_g (G - \sigma_g)}) \cdot
    \Gamma_\alpha / (1 + e^{\kappa_\alpha (A - \sigma_\alpha)})` with
    :math:`\Gamma_g = 0.9994, \kappa_g = -15, \sigma_g = 0.5, \Gamma_\alpha = 0.9879,
    \kappa_\alpha = -22, \sigma_\alpha = 0.8`, and
    :math:`Q^{AB/F} = \sum (Q^{AF} g_A + Q^{BF} g_B) / \sum (g_A + g_B)` (L = 1).

    MEFB quirk kept: where :math:`g_S = g_F` its code sets :math:`G = g_F` instead of 1. For
    integer images :math:`g_F \ge 1` there, so :math:`Q_g` saturates at up to
    :math:`\Gamma_g = 0.9994` where the textbook gives
    :math:`\Gamma_g / (1 + e^{-7.5}) = 0.99885`: a fused image equal to a source scores up to
    5.5e-4 (relative) higher than in the textbook definition; nothing else differs.

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (required for float images, which
            are quantised to 8 bits); ignored for uint8.
        channels: ``"mefb"``: mean of the per-channel values (MEFB); ``"grey"``: once on
            ``rgb2gray`` luminance (textbook).

    Returns:
        :math:`Q^{AB/F}` in [0, 1], higher is better; NaN if every image is flat (no edges).

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        C. S. Xydeas and V. Petrovic, "Objective image fusion performance measure",
        Electronics Letters 36 (4) (2000) 308-309, eq. (1)-(7); MEFB ``metricsQabf.m``.

    Example:
        >>> import math
        >>> import numpy as np
        >>> a = np.tile(np.arange(0, 240, 15, dtype=np.uint8), (16, 1))
        >>> b = np.zeros((16, 16), np.uint8)
        >>> round(qabf(a, [a, b]), 6)  # fused == the only source with edges
        0.975333
        >>> round(0.9994 * 0.9879 / (1 + math.exp(-22 * 0.2)), 6)  # Gamma_g Q_alpha(A = 1)
        0.975333
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qabf")
    ga, aa = _qabf_edges(pa)
    gb, ab = _qabf_edges(pb)
    gf, af = _qabf_edges(pf)
    qaf = _qabf_preservation(ga, aa, gf, af)
    qbf = _qabf_preservation(gb, ab, gf, af)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = (qaf * ga + qbf * gb).sum(axis=(1, 2)) / (ga + gb).sum(axis=(1, 2))
    return float(per.mean())


# --------------------------------------------------------------------------------------------
# SSIM forms used by Liu's metrics (QC, QY, QW)
# --------------------------------------------------------------------------------------------


def _ssim_parts(
    x: np.ndarray, y: np.ndarray, g: np.ndarray, c1: float, c2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SSIM map, var x, var y, cov xy over a Gaussian window, ``filter2(.., 'valid')``."""
    mx = _sep_filter(x, g, "valid")
    my = _sep_filter(y, g, "valid")
    mxx, myy, mxy = mx * mx, my * my, mx * my
    vx = _sep_filter(x * x, g, "valid") - mxx
    vy = _sep_filter(y * y, g, "valid") - myy
    cxy = _sep_filter(x * y, g, "valid") - mxy
    with np.errstate(divide="ignore", invalid="ignore"):
        ssim = ((2 * mxy + c1) * (2 * cxy + c2)) / ((mxx + myy + c1) * (vx + vy + c2))
    return ssim, vx, vy, cxy


def _flat_windows(x: np.ndarray, size: int) -> np.ndarray:
    """True where the ``size`` x ``size`` window (``'valid'`` positions) of ``x`` is constant."""
    r = (size - 1) // 2
    hi = ndimage.maximum_filter(x, size=(1, size, size) if x.ndim == 3 else size)
    lo = ndimage.minimum_filter(x, size=(1, size, size) if x.ndim == 3 else size)
    return (hi == lo)[..., r:-r, r:-r]


#: Relative bias of MATLAB's local moments in constant windows (see :func:`_ssim_yang_parts`).
_MATLAB_BIAS = 1e-15


def _ssim_yang_parts(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Liu's ``ssim_yang`` (7x7 Gaussian, C1 = C2 = 2e-16) with MATLAB's flat-window moments.

    With constants of 2e-16, the value of SSIM and of the covariance ratios of QC and QY in a
    window where an image is constant is decided by floating-point rounding in
    ``E[xy] - E[x] E[y]`` (exactly 0 in exact arithmetic). MEFB's stored scores are reproduced
    when those moments are exact (0 in constant windows) plus a tiny positive bias
    ``1e-15 * E[x] E[y]``, i.e. as if MATLAB's local means came out a hair low; a plain
    float64 evaluation instead gives rounding noise of either sign, which turns a third of
    the pixels of a saturated region into 0/0-type ratios (scores of -300 or +50).
    """
    mx = _sep_filter(x, _G7, "valid")
    my = _sep_filter(y, _G7, "valid")
    vx = _sep_filter(x * x, _G7, "valid") - mx * mx
    vy = _sep_filter(y * y, _G7, "valid") - my * my
    cxy = _sep_filter(x * y, _G7, "valid") - mx * my
    fx = _flat_windows(x, 7)
    fy = _flat_windows(y, 7)
    vx = np.where(fx, 0.0, vx) + _MATLAB_BIAS * mx * mx
    vy = np.where(fy, 0.0, vy) + _MATLAB_BIAS * my * my
    cxy = np.where(fx | fy, 0.0, cxy) + _MATLAB_BIAS * mx * my
    c = _C_YANG
    with np.errstate(divide="ignore", invalid="ignore"):
        ssim = ((2 * mx * my + c) * (2 * cxy + c)) / ((mx * mx + my * my + c) * (vx + vy + c))
    return ssim, vx, vy, cxy


_G7 = gaussian_1d(7, 1.5)  # ssim_yang: fspecial('gaussian', 7, 1.5), C1 = C2 = 2e-16
_G11 = gaussian_1d(11, 1.5)  # Wang's ssim_index: fspecial('gaussian', 11, 1.5)
_C_YANG = 2e-16
_C1_SSIM = (0.01 * 255) ** 2
_C2_SSIM = (0.03 * 255) ** 2


def qc(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Cvejic et al.'s similarity metric :math:`Q_C`, as MEFB (Liu's code) computes it.

    With local SSIM maps over a 7x7 Gaussian window (:math:`\sigma = 1.5`, ``'valid'``,
    :math:`C_1 = C_2 = 2 \cdot 10^{-16}`, i.e. essentially Wang & Bovik's UIQI) and the local
    covariances :math:`\sigma_{AF}, \sigma_{BF}`:
    :math:`w = \sigma_{AF} / (\sigma_{AF} + \sigma_{BF})`,
    :math:`s = w\,SSIM(A, F) + (1 - w)\,SSIM(B, F)`, set to 0 where :math:`w < 0` and to 1 where
    :math:`w > 1`; :math:`Q_C` is the mean of :math:`s` over the pixels where it is defined.
    The clipping is not symmetric (swapping the sources maps :math:`w` to :math:`1 - w`), so
    the order of ``sources`` matters: MEFB passes the ``_A`` image first.

    In windows where an image is constant (saturated skies), :math:`w` and the SSIM terms are
    ratios of rounding noise in MATLAB's local moments; this function reproduces them with a
    model of that noise (see the note in the module docstring), which matches MEFB's stored
    values to a median relative error of 1.6e-4 (79 % of the 336 pairs within 1e-3, the rest
    up to 0.1).

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_C`, nominally in [0, 1], higher is better.

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        N. Cvejic, A. Loza, D. Bull, N. Canagarajah, "A similarity metric for assessment of
        image fusion algorithms", Int. J. Signal Process. 2 (3) (2005) 178-182;
        MEFB ``metricsQc.m``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (20, 20), dtype=np.uint8)
        >>> round(qc(a, [a, a]), 6)
        1.0
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qc")
    vals = []
    for a, b, f in zip(pa, pb, pf, strict=True):
        s_af, _, _, c_af = _ssim_yang_parts(a, f)
        s_bf, _, _, c_bf = _ssim_yang_parts(b, f)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = c_af / (c_af + c_bf)
        sim = w * s_af + (1 - w) * s_bf
        sim[w < 0] = 0.0
        sim[w > 1] = 1.0
        vals.append(_mean_valid(sim))
    return float(np.mean(vals))


def qy(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Yang et al.'s SSIM-based fusion metric :math:`Q_Y`, as MEFB (Liu's code) computes it.

    Local SSIM maps as in :func:`qc` (7x7 Gaussian, :math:`\sigma = 1.5`, ``'valid'``,
    :math:`C_1 = C_2 = 2 \cdot 10^{-16}`). Where the sources are similar,
    :math:`SSIM(A, B) \ge 0.75`, the value is
    :math:`\lambda\,SSIM(A, F) + (1 - \lambda)\,SSIM(B, F)` with
    :math:`\lambda = \sigma_A^2 / (\sigma_A^2 + \sigma_B^2)`; elsewhere
    :math:`\max(SSIM(A, F), SSIM(B, F))`. :math:`Q_Y` is the mean over the pixels where the value
    is defined.

    Constant (saturated) windows are handled with the model of MATLAB's rounding described in
    the module docstring; against MEFB's stored values the median relative error is 1.5e-4
    (77 % of the 336 pairs within 1e-3, the rest up to 0.13 where a fused image is constant at
    another level than a saturated source).

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_Y`, nominally in [0, 1], higher is better.

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for
        image fusion", Information Fusion 9 (2) (2008) 156-160, eq. (6); MEFB ``metricsQy.m``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (20, 20), dtype=np.uint8)
        >>> round(qy(a, [a, a]), 6)
        1.0
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qy")
    vals = []
    for a, b, f in zip(pa, pb, pf, strict=True):
        s_ab, va, vb, _ = _ssim_yang_parts(a, b)
        s_af = _ssim_yang_parts(a, f)[0]
        s_bf = _ssim_yang_parts(b, f)[0]
        similar = s_ab >= 0.75
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = va / (va + vb)
        # MATLAB: (lam s_af + (1 - lam) s_bf) .* bin + max(s_af, s_bf) .* ~bin, NaN kept
        q = (lam * s_af + (1 - lam) * s_bf) * similar + np.fmax(s_af, s_bf) * ~similar
        vals.append(_mean_valid(q))
    return float(np.mean(vals))


_EDGE_X = np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]])
_EDGE_Y = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -1.0, -1.0]])


def _piella_weighted(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Piella's weighted fusion quality index Q_W per plane (Liu's form, ``sw = 2``).

    Local SSIM (11x11 Gaussian, sigma 1.5, K = (0.01, 0.03), L = 255, ``'valid'``); saliency
    = local variance; 0.5 is added to both variances where both are exactly 0.
    """
    _, va, vb, _ = _ssim_parts(a, b, _G11, _C1_SSIM, _C2_SSIM)
    both_flat = (va + vb) == 0
    va = va + 0.5 * both_flat
    vb = vb + 0.5 * both_flat
    lam = va / (va + vb)
    s_fa = _ssim_parts(f, a, _G11, _C1_SSIM, _C2_SSIM)[0]
    s_fb = _ssim_parts(f, b, _G11, _C1_SSIM, _C2_SSIM)[0]
    cw = np.maximum(va, vb)
    cw = cw / cw.sum(axis=(-2, -1), keepdims=True)
    return (cw * (lam * s_fa + (1 - lam) * s_fb)).sum(axis=(-2, -1))


def _edge_maps(p: np.ndarray) -> np.ndarray:
    """Prewitt edge strength of ``metricsQw.m``: ``filter2`` with zero padding."""
    ex = _correlate3(p, _EDGE_X)
    ey = _correlate3(p, _EDGE_Y)
    return np.sqrt(ex * ex + ey * ey)


def qw(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""MEFB's "QW": Piella's weighted fusion quality index computed on *edge images*.

    MEFB's ``metricsQw.m`` runs Liu's ``metricPeilla`` with ``sw = 3`` and ``alpha = 1``:
    the weighted fusion quality index :math:`Q_W` (see :func:`qw_weighted`) of the Prewitt
    edge-strength images :math:`\sqrt{(I * h_x)^2 + (I * h_y)^2}`,
    :math:`h_x = [1\,0\,-1]` (3 rows), :math:`h_y = h_x^T` up to sign, ``filter2`` zero padding.
    That is Piella's edge-dependent index :math:`Q_E = Q_W^{1-\alpha} Q_W'^{\alpha}` at
    :math:`\alpha = 1` (edge term only), not the weighted index on the images themselves, which
    is :func:`qw_weighted`; :func:`qe_piella` gives :math:`Q_E` for any :math:`\alpha`.

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        MEFB's QW, nominally in [-1, 1], higher is better.

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        G. Piella, H. Heijmans, "A new quality metric for image fusion", ICIP 2003,
        vol. 3, pp. III-173-176, eq. (5)-(8); MEFB ``metricsQw.m``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (24, 24), dtype=np.uint8)
        >>> round(qw(a, [a, a]), 6)
        1.0
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qw")
    per = _piella_weighted(_edge_maps(pa), _edge_maps(pb), _edge_maps(pf))
    return float(per.mean())


def qw_weighted(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Piella's weighted fusion quality index :math:`Q_W` on the images (textbook form).

    :math:`Q_W = \sum_w c(w) (\lambda(w) Q_0(A, F | w) + (1 - \lambda(w)) Q_0(B, F | w))` with
    saliency = local variance, :math:`\lambda = s_A / (s_A + s_B)`,
    :math:`c(w) = \max(s_A, s_B) / \sum \max(s_A, s_B)`, and the local quality :math:`Q_0`
    taken, as in Liu's code, as SSIM over an 11x11 Gaussian window (:math:`\sigma = 1.5`,
    K = (0.01, 0.03), L = 255, ``'valid'``). MEFB does not report this value (its "QW" is
    :func:`qw`, the same index on edge images).

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_W`, nominally in [-1, 1], higher is better.

    Raises:
        InputError: as :func:`qw`.

    References:
        G. Piella, H. Heijmans, "A new quality metric for image fusion", ICIP 2003, eq. (6).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (24, 24), dtype=np.uint8)
        >>> round(qw_weighted(a, [a, a]), 6)
        1.0
    """
    pa, pb, pf = _planes(
        fused, sources, data_range=data_range, channels=channels, metric="qw_weighted"
    )
    return float(_piella_weighted(pa, pb, pf).mean())


def qe_piella(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    alpha: float = 1.0,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Piella's edge-dependent fusion quality index :math:`Q_E = Q_W^{1-\alpha} Q_W'^{\alpha}`.

    :math:`Q_W` is :func:`qw_weighted` on the images and :math:`Q_W'` the same index on their
    Prewitt edge images (:func:`qw`); with ``channels="mefb"`` the product is formed per
    channel and averaged. ``alpha=1`` reproduces MEFB's "QW".

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        alpha: weight of the edge term, in [0, 1] (Piella: "contribution of the edge images").
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_E`, higher is better (NaN when a negative :math:`Q_W` meets a fractional power).

    Raises:
        InputError: as :func:`qw`, or ``alpha`` outside [0, 1].

    References:
        G. Piella, H. Heijmans, "A new quality metric for image fusion", ICIP 2003, eq. (8).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (24, 24), dtype=np.uint8)
        >>> round(qe_piella(a, [a, a], alpha=0.5), 6)
        1.0
    """
    if not (isinstance(alpha, (int, float)) and 0.0 <= float(alpha) <= 1.0):
        raise InputError(f"alpha must be a number in [0, 1], got {alpha!r}")
    pa, pb, pf = _planes(
        fused, sources, data_range=data_range, channels=channels, metric="qe_piella"
    )
    edge = _piella_weighted(_edge_maps(pa), _edge_maps(pb), _edge_maps(pf))
    if alpha == 1.0:
        return float(edge.mean())
    plain = _piella_weighted(pa, pb, pf)
    with np.errstate(invalid="ignore"):
        return float((plain ** (1.0 - alpha) * edge**alpha).mean())


# --------------------------------------------------------------------------------------------
# QP: phase congruency (Liu's myphasecong3, a variant of Kovesi's phasecong3)
# --------------------------------------------------------------------------------------------

_PC_EPS = 1e-4


def _phasecong_filters(
    rows: int,
    cols: int,
    nscale: int,
    norient: int,
    min_wavelength: float,
    mult: float,
    sigma_onf: float,
    dtheta_on_sigma: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log-Gabor filters (radial and angular parts) and their noise statistics.

    Returns ``(log_gabor, spreads, em_n, sum_an2, sum_aiaj)``: the radial parts
    ``(nscale, rows, cols)`` and angular parts ``(norient, rows, cols)`` whose products are
    the filters, the energy of the smallest-scale filter per orientation, and per orientation
    the sums over the image of ``sum_s f_s^2`` and ``sum_{i<j} f_i f_j`` of the spatial filters
    ``real(ifft2(filter)) * sqrt(rows * cols)`` (Kovesi's noise model).
    """
    if cols % 2:
        xr = np.arange(-(cols - 1) / 2, (cols - 1) / 2 + 1) / (cols - 1)
    else:
        xr = np.arange(-cols / 2, cols / 2) / cols
    if rows % 2:
        yr = np.arange(-(rows - 1) / 2, (rows - 1) / 2 + 1) / (rows - 1)
    else:
        yr = np.arange(-rows / 2, rows / 2) / rows
    x, y = np.meshgrid(xr, yr)
    radius = np.sqrt(x * x + y * y)
    radius[rows // 2, cols // 2] = 1.0
    theta = np.arctan2(-y, x)
    radius = np.fft.ifftshift(radius)
    theta = np.fft.ifftshift(theta)
    sintheta, costheta = np.sin(theta), np.cos(theta)

    # Kovesi's lowpassfilter([rows, cols], 0.45, 15); its fftshift (not ifftshift) misplaces
    # the centre by one sample for odd sizes, as in the MATLAB code.
    lx = (np.arange(1, cols + 1) - (cols // 2 + 1)) / cols
    ly = (np.arange(1, rows + 1) - (rows // 2 + 1)) / rows
    lr = np.sqrt(lx[None, :] ** 2 + ly[:, None] ** 2)
    lp = np.fft.fftshift(1.0 / (1.0 + (lr / 0.45) ** 30))

    log_gabor = np.empty((nscale, rows, cols))
    for s in range(nscale):
        fo = 1.0 / (min_wavelength * mult**s)
        lg = np.exp(-(np.log(radius / fo) ** 2) / (2 * np.log(sigma_onf) ** 2)) * lp
        lg[0, 0] = 0.0
        log_gabor[s] = lg

    theta_sigma = np.pi / norient / dtheta_on_sigma
    spreads = np.empty((norient, rows, cols))
    em_n = np.empty(norient)
    sum_an2 = np.zeros(norient)
    sum_aiaj = np.zeros(norient)
    # Kovesi's noise model needs sums over the image of products of the spatial filters
    # real(ifft2(H)) * sqrt(rows * cols). By Parseval they equal sums over frequency of the
    # even parts (H(f) + H(-f)) / 2, which spares 24 inverse transforms.
    neg_r = (-np.arange(rows)) % rows
    neg_c = (-np.arange(cols)) % cols
    for o in range(norient):
        angl = o * np.pi / norient
        ds = sintheta * np.cos(angl) - costheta * np.sin(angl)
        dc = costheta * np.cos(angl) + sintheta * np.sin(angl)
        dtheta = np.abs(np.arctan2(ds, dc))
        spreads[o] = np.exp(-(dtheta**2) / (2 * theta_sigma**2))
        filt = log_gabor * spreads[o]
        em_n[o] = (filt[0] ** 2).sum()
        even = 0.5 * (filt + filt[:, neg_r][:, :, neg_c])
        sum_an2[o] = (even**2).sum()
        for i in range(nscale - 1):
            for j in range(i + 1, nscale):
                sum_aiaj[o] += (even[i] * even[j]).sum()
    return log_gabor, spreads, em_n, sum_an2, sum_aiaj


def phase_congruency(
    image: np.ndarray,
    *,
    nscale: int = 4,
    norient: int = 6,
    min_wavelength: float = 3.0,
    mult: float = 2.1,
    sigma_onf: float = 0.55,
    dtheta_on_sigma: float = 1.2,
    k: float = 2.0,
    cutoff: float = 0.5,
    g: float = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Phase congruency and its moments, as Liu's ``myphasecong3`` (Kovesi's ``phasecong3``).

    Log-Gabor filtering in the frequency domain (``nscale`` scales from wavelength
    ``min_wavelength`` growing by ``mult``; ``norient`` orientations with Gaussian angular
    spread), Kovesi's noise compensation (threshold from the median response at the smallest
    scale, divided by 1.7 for the PC_2 measure) and frequency-spread weighting. Liu's version
    returns the *total* phase congruency
    :math:`PC = \sum_o W_o \lfloor E_o - T_o \rfloor / (\sum_o \sum_s A_{so} + \epsilon)` beside
    Kovesi's maximum and minimum moments of the per-orientation PC covariance. The MATLAB code's
    details are kept, including the off-by-one low-pass filter centre for odd sizes.

    Args:
        image: greyscale image ``(H, W)``, any real values (MEFB passes 0..255 code values).
        nscale, norient, min_wavelength, mult, sigma_onf, dtheta_on_sigma, k, cutoff, g:
            Kovesi's parameters, with his defaults.

    Returns:
        ``(pc, M, m)``: float64 ``(H, W)`` maps of phase congruency (in [0, 1]), the maximum
        moment (edge strength) and the minimum moment (corner strength).

    Raises:
        InputError: if ``image`` is not a finite 2-D array.

    References:
        P. Kovesi, "Image features from phase congruency", Videre 1 (3) (1999);
        P. Kovesi, "Phase congruency detects corners and edges", DICTA 2003;
        MEFB ``metrics/metricsQp.m`` (``myphasecong3``).

    Example:
        >>> import numpy as np
        >>> step = np.zeros((32, 32)); step[:, 16:] = 255.0
        >>> pc, M, m = phase_congruency(step)
        >>> bool(pc[16, 15:17].min() > 0.5 and pc[16, 5] < 0.1)  # high only at the edge
        True
    """
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.dtype.kind not in "uif" or not np.isfinite(arr).all():
        raise InputError(
            f"image must be a finite 2-D (H, W) array, got shape {arr.shape} of {arr.dtype}; "
            "convert colour images to grey (or pass one channel) first"
        )
    pc, big, small = _phasecong_planes(
        arr.astype(np.float64)[None],
        nscale,
        norient,
        min_wavelength,
        mult,
        sigma_onf,
        dtheta_on_sigma,
        k,
        cutoff,
        g,
    )
    return pc[0], big[0], small[0]


def _phasecong_one(
    plane: np.ndarray,
    log_gabor: np.ndarray,
    spreads: np.ndarray,
    noise: tuple[np.ndarray, np.ndarray, np.ndarray],
    k: float,
    cutoff: float,
    g: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phase congruency, maximum and minimum moment of one plane (``myphasecong3``)."""
    em_n, sum_an2, sum_aiaj = noise
    nscale, rows, cols = log_gabor.shape
    norient = spreads.shape[0]
    eps = _PC_EPS
    spec = sfft.fft2(plane)
    total_energy = np.zeros((rows, cols))
    total_sum_an = np.zeros((rows, cols))
    covx2 = np.zeros((rows, cols))
    covy2 = np.zeros((rows, cols))
    covxy = np.zeros((rows, cols))
    for o in range(norient):
        angl = o * np.pi / norient
        eo = sfft.ifft2((spec * spreads[o]) * log_gabor, axes=(-2, -1), overwrite_x=True)
        amp = np.abs(eo)
        sum_an = amp.sum(axis=0)
        max_an = amp.max(axis=0)
        sum_eo = eo.sum(axis=0)
        # unit vector of the mean response: (sum E, sum O) / (|.| + eps)
        unit = sum_eo / (np.abs(sum_eo) + eps)
        # E mE + O mO - |E mO - O mE| = Re(eo conj(unit)) - |Im(eo conj(unit))|
        proj = eo * unit.conj()
        energy = (proj.real - np.abs(proj.imag)).sum(axis=0)

        median_e2n = np.median(amp[0] * amp[0])
        mean_e2n = -median_e2n / np.log(0.5)
        noise_power = mean_e2n / em_n[o]
        est_noise_energy2 = 2 * noise_power * sum_an2[o] + 4 * noise_power * sum_aiaj[o]
        tau = np.sqrt(est_noise_energy2 / 2)
        est_noise_energy = tau * np.sqrt(np.pi / 2)
        est_noise_sigma = np.sqrt((2 - np.pi / 2) * tau**2)
        thresh = (est_noise_energy + k * est_noise_sigma) / 1.7
        energy = np.maximum(energy - thresh, 0.0)

        width = sum_an / (max_an + eps) / nscale
        weight = 1.0 / (1.0 + np.exp((cutoff - width) * g))
        energy *= weight
        total_sum_an += sum_an
        total_energy += energy
        with np.errstate(divide="ignore", invalid="ignore"):
            pc_o = energy / sum_an
        pc2 = pc_o * pc_o
        covx2 += pc2 * np.cos(angl) ** 2
        covy2 += pc2 * np.sin(angl) ** 2
        covxy += pc2 * (np.cos(angl) * np.sin(angl))
    pc = total_energy / (total_sum_an + eps)
    covx2 /= norient / 2
    covy2 /= norient / 2
    covxy /= norient
    denom = np.sqrt(covxy * covxy + (covx2 - covy2) ** 2) + eps
    return pc, (covy2 + covx2 + denom) / 2, (covy2 + covx2 - denom) / 2


def _phasecong_planes(
    planes: np.ndarray,
    nscale: int = 4,
    norient: int = 6,
    min_wavelength: float = 3.0,
    mult: float = 2.1,
    sigma_onf: float = 0.55,
    dtheta_on_sigma: float = 1.2,
    k: float = 2.0,
    cutoff: float = 0.5,
    g: float = 10.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`phase_congruency` of every plane of a ``(P, H, W)`` stack (planes in threads)."""
    n, rows, cols = planes.shape
    log_gabor, spreads, em_n, sum_an2, sum_aiaj = _phasecong_filters(
        rows,
        cols,
        nscale,
        norient,
        float(min_wavelength),
        float(mult),
        float(sigma_onf),
        float(dtheta_on_sigma),
    )
    noise = (em_n, sum_an2, sum_aiaj)
    workers = max(1, min(n, os.cpu_count() or 1, 4))
    if workers == 1:
        results = [_phasecong_one(p, log_gabor, spreads, noise, k, cutoff, g) for p in planes]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(
                pool.map(
                    lambda p: _phasecong_one(p, log_gabor, spreads, noise, k, cutoff, g), planes
                )
            )
    pc, big, small = (np.stack(r) for r in zip(*results, strict=True))
    return pc, big, small


def _qp_correlation(
    x1: np.ndarray,
    x2: np.ndarray,
    xmax: np.ndarray,
    xf: np.ndarray,
    m1: np.ndarray,
    m2: np.ndarray,
    m3: np.ndarray,
) -> np.ndarray:
    """Zhao's masked local correlation of one feature (Liu's ``correlation_coeffcient``)."""
    c = 1e-4
    x1 = m1 * x1
    x2 = m2 * x2
    xmax = m3 * xmax
    mu1 = _sep_filter(x1, _G11, "same")
    mu2 = _sep_filter(x2, _G11, "same")
    muf = _sep_filter(xf, _G11, "same")
    mum = _sep_filter(xmax, _G11, "same")
    vf = _sep_filter(xf * xf, _G11, "same") - muf * muf

    def corr(x: np.ndarray, mu: np.ndarray, mask: np.ndarray) -> np.ndarray:
        vx = _sep_filter(x * x, _G11, "same") - mu * mu
        cxf = _sep_filter(x * xf, _G11, "same") - mu * muf
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (cxf + c) / (np.sqrt(np.abs(vx * vf)) + c)
        return np.where(mask, r, 0.0)

    best = np.maximum(np.maximum(corr(x1, mu1, m1), corr(x2, mu2, m2)), corr(xmax, mum, m3))
    with np.errstate(divide="ignore", invalid="ignore"):
        return best.sum(axis=(-2, -1)) / m3.sum(axis=(-2, -1))


def qp(
    fused: np.ndarray,
    sources: Sequence[np.ndarray],
    *,
    data_range: float | None = None,
    channels: Channels = "mefb",
) -> float:
    r"""Zhao, Laganiere & Liu's phase-congruency fusion metric :math:`Q_P`, as MEFB computes it.

    Phase congruency :math:`P`, maximum moment :math:`M` and minimum moment :math:`m` of each
    image (:func:`phase_congruency`, Kovesi's defaults). For each feature
    :math:`X \in \{P, M, m\}`, with feature masks :math:`P_A > 0.1`, :math:`P_B > 0.1`,
    :math:`P_{max} > 0.1` (the max taken from the source of larger :math:`P`), the masked local
    correlation coefficients :math:`(\sigma_{SF} + C) / (\sqrt{|\sigma_S^2 \sigma_F^2|} + C)`
    (11x11 Gaussian window, :math:`\sigma = 1.5`, ``'same'``, :math:`C = 10^{-4}`) of
    :math:`X_A, X_B, X_{max}` with :math:`X_F` are maximised per pixel, summed and divided by
    the size of the :math:`P_{max}` mask. :math:`Q_P = Q_P^{P} Q_P^{M} Q_P^{m}`.

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_P`, nominally in [0, 1], higher is better; NaN when no pixel of either source
        has phase congruency above 0.1.

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        J. Zhao, R. Laganiere, Z. Liu, "Performance assessment of combinative pixel-level
        image fusion based on an absolute feature measurement", Int. J. Innovative Comput.
        Inf. Control 3 (6A) (2007) 1433-1447; MEFB ``metricsQp.m``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((32, 32), np.uint8); a[:, 16:] = 255
        >>> round(qp(a, [a, a]), 4)  # < 1: the masks zero the sources' features, not F's
        0.9908
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qp")
    n = pa.shape[0]
    pc, big, small = _phasecong_planes(np.concatenate([pa, pb, pf]))
    pc1, pc2, pcf = pc[:n], pc[n : 2 * n], pc[2 * n :]
    m_1, m_2, m_f = big[:n], big[n : 2 * n], big[2 * n :]
    s_1, s_2, s_f = small[:n], small[n : 2 * n], small[2 * n :]
    first = pc1 > pc2
    mask1 = pc1 > 0.1
    mask2 = pc2 > 0.1
    pc_max = np.where(first, pc1, pc2)
    mask3 = pc_max > 0.1
    r_pc = _qp_correlation(pc1, pc2, pc_max, pcf, mask1, mask2, mask3)
    r_big = _qp_correlation(m_1, m_2, np.where(first, m_1, m_2), m_f, mask1, mask2, mask3)
    r_small = _qp_correlation(s_1, s_2, np.where(first, s_1, s_2), s_f, mask1, mask2, mask3)
    return float((r_pc * r_big * r_small).mean())


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
    return _sep_filter(planes.real, g, "same") + 1j * _sep_filter(planes.imag, g, "same")


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

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_{CB}` in [0, 1], higher is better (NaN where MATLAB's also is: a pixel of zero
        contrast in all three images).

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        Y. Chen, R. S. Blum, "A new automated quality assessment algorithm for image fusion",
        Image Vis. Comput. 27 (10) (2009) 1421-1432; MEFB ``metricsQcb.m``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (32, 32), dtype=np.uint8)
        >>> round(qcb(a, [a, a]), 6)
        1.0
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qcb")
    rows, cols = pa.shape[1:]
    # MATLAB: im2double (x / 255) then normalize1
    stack = _normalize1(np.concatenate([pa, pb, pf]) / 255.0)
    u, v = _freqspace(rows, cols)
    r = np.sqrt((u * (cols / 30)) ** 2 + (v * (rows / 30)) ** 2)
    sd = np.exp(-((r / 15.3870) ** 2)) - 0.7622 * np.exp(-((r / 1.3456) ** 2))
    contrast = _qcb_contrast(_filter_centered(stack, sd))
    n = pa.shape[0]
    c1, c2, cf = contrast[:n], contrast[n : 2 * n], contrast[2 * n :]
    with np.errstate(divide="ignore", invalid="ignore"):
        q1 = np.where(c1 < cf, c1 / cf, cf / c1)
        q2 = np.where(c2 < cf, c2 / cf, cf / c2)
        lam1 = c1 * c1 / (c1 * c1 + c2 * c2)
        lam2 = c2 * c2 / (c1 * c1 + c2 * c2)
        q = lam1 * q1 + lam2 * q2
    return float(q.mean(axis=(1, 2)).mean())


def _block_reduce(x: np.ndarray, size: int, fn: Literal["sum", "mean"]) -> np.ndarray:
    """MATLAB ``blkproc(x, [size size], fun)`` with zero padding of partial blocks."""
    p, rows, cols = x.shape
    hb, wb = -(-rows // size), -(-cols // size)
    pad = np.zeros((p, hb * size, wb * size), dtype=x.dtype)
    pad[:, :rows, :cols] = x
    blocks = pad.reshape(p, hb, size, wb, size)
    out = blocks.sum(axis=(2, 4))
    return out / (size * size) if fn == "mean" else out


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

    Args:
        fused: fused image, 8-bit code values (``uint8`` ``(H, W, 3)`` or ``(H, W)``).
        sources: the two source exposures, same size as ``fused``.
        data_range: span of the values of non-uint8 input (see :func:`qabf`).
        channels: ``"mefb"`` (per-channel mean) or ``"grey"`` (``rgb2gray``), see :func:`qabf`.

    Returns:
        :math:`Q_{CV}` >= 0 (in squared code values), **lower is better**; 0 when the fused
        image equals both sources.

    Raises:
        InputError: for other than two sources, mismatched sizes, or float input without
            ``data_range``.

    References:
        H. Chen, P. K. Varshney, "A human perception inspired quality metric for image
        fusion based on regional information", Information Fusion 8 (2) (2007) 193-207;
        MEFB ``metricsQcv.m``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 256, (32, 32), dtype=np.uint8)
        >>> round(qcv(a, [a, a]), 9)
        0.0
    """
    pa, pb, pf = _planes(fused, sources, data_range=data_range, channels=channels, metric="qcv")
    rows, cols = pa.shape[1:]
    n = pa.shape[0]
    stack = _normalize1(np.concatenate([pa, pb, pf]))
    a, b, f = stack[:n], stack[n : 2 * n], stack[2 * n :]
    gx = _correlate3(stack[: 2 * n], _SOBEL_X)
    gy = _correlate3(stack[: 2 * n], _SOBEL_X.T)
    grad = np.sqrt(gx * gx + gy * gy)
    sal = _block_reduce(grad**5, 16, "sum")
    sal_a, sal_b = sal[:n], sal[n:]

    u, v = _freqspace(rows, cols)
    r = np.sqrt((u * (cols / 8)) ** 2 + (v * (rows / 8)) ** 2)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    diff = _filter_centered(np.concatenate([a - f, b - f]), csf)
    dist = _block_reduce(diff * diff, 16, "mean")
    d_a, d_b = dist[:n], dist[n:]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (sal_a * d_a + sal_b * d_b).sum(axis=(1, 2)) / (sal_a + sal_b).sum(axis=(1, 2))
    return float(q.real.mean())


# --------------------------------------------------------------------------------------------
# metric facts
# --------------------------------------------------------------------------------------------

_MEFB = "X. Zhang, Information Fusion 74 (2021) 111-131 (MEFB), "

INFO: dict[str, MetricInfo] = {
    "qabf": MetricInfo(
        name="qabf",
        function=qabf,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(0.0, 1.0),
        description="Xydeas-Petrovic edge (Sobel strength and orientation) preservation",
        reference=_MEFB + "metricsQabf.m; Xydeas & Petrovic, Electron. Lett. 36 (4) 2000",
    ),
    "qp": MetricInfo(
        name="qp",
        function=qp,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(0.0, 1.0),
        description="Zhao's phase-congruency feature (PC, max and min moment) correlation",
        reference=_MEFB + "metricsQp.m; Zhao, Laganiere & Liu, IJICIC 3 (6A) 2007",
    ),
    "qc": MetricInfo(
        name="qc",
        function=qc,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(0.0, 1.0),
        description="Cvejic's covariance-weighted local structural similarity",
        reference=_MEFB + "metricsQc.m; Cvejic et al., Int. J. Signal Process. 2 (3) 2005",
    ),
    "qw": MetricInfo(
        name="qw",
        function=qw,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(-1.0, 1.0),
        description="Piella's weighted fusion quality index on Prewitt edge images (MEFB QW)",
        reference=_MEFB + "metricsQw.m; Piella & Heijmans, ICIP 2003, eq. (8), alpha = 1",
    ),
    "qw_weighted": MetricInfo(
        name="qw_weighted",
        function=qw_weighted,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(-1.0, 1.0),
        description="Piella's weighted fusion quality index on the images (textbook Q_W)",
        reference="Piella & Heijmans, ICIP 2003, eq. (6)",
    ),
    "qy": MetricInfo(
        name="qy",
        function=qy,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(0.0, 1.0),
        description="Yang's SSIM-based metric (weighted or max local SSIM with the sources)",
        reference=_MEFB + "metricsQy.m; Yang et al., Information Fusion 9 (2) 2008",
    ),
    "qcb": MetricInfo(
        name="qcb",
        function=qcb,
        higher_is_better=True,
        kind="fusion",
        n_sources=2,
        range=(0.0, 1.0),
        description="Chen-Blum CSF-filtered local contrast preservation",
        reference=_MEFB + "metricsQcb.m; Chen & Blum, Image Vis. Comput. 27 (10) 2009",
    ),
    "qcv": MetricInfo(
        name="qcv",
        function=qcv,
        higher_is_better=False,
        kind="fusion",
        n_sources=2,
        range=(0.0, None),
        description="Chen-Varshney saliency-weighted CSF-filtered regional error",
        reference=_MEFB + "metricsQcv.m; Chen & Varshney, Information Fusion 8 (2) 2007",
    ),
}
