r"""Structural-similarity fusion metrics of MEFB: QC, QW, QY and Piella's indices.

MEFB's "image structural similarity-based" metrics (Zhang, Information Fusion 2021, table 2;
MEF-SSIM, the fourth, is :func:`expokit.metrics.mef.mefb_mef_ssim`), re-implemented from
Liu et al.'s MATLAB code that MEFB uses so that they reproduce its stored scores:

======  ==================  =============================================================
MEFB    function            what it measures
======  ==================  =============================================================
QC      :func:`qc`          Cvejic, Loza, Bull & Canagarajah covariance-weighted similarity
QW      :func:`qw`          Piella & Heijmans edge-dependent fusion quality index
QY      :func:`qy`          Yang, Zhang, Wang & Liu SSIM-based metric
======  ==================  =============================================================

plus two textbook forms of Piella's index that MEFB does not use (:func:`qw_weighted`,
:func:`qe_piella`). All are defined for exactly two sources (``n_sources=2``); inputs and colour
follow MEFB's protocol (:mod:`expokit.metrics.mefb`), ``channels="grey"`` gives the textbook
greyscale form.

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
    Z. Liu et al., "Objective assessment of multiresolution image fusion algorithms for
    context enhancement in night vision: a comparative study", IEEE TPAMI 34 (1) (2012) 94-109
    (the survey whose MATLAB code MEFB's QP, QC, QW, QY, QCB and QCV files are).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ._checks import Channels, mefb_pair_score, planewise
from ._matlab import filter2_3x3, filter2_sep, gaussian_1d, mean_valid
from ._table import MetricInfo, fusion_info

__all__ = ["INFO", "qc", "qe_piella", "qw", "qw_weighted", "qy"]


_MEFB = "X. Zhang, Information Fusion 74 (2021) 111-131 (MEFB), "

#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


# --------------------------------------------------------------------------------------------
# SSIM forms used by Liu's metrics (QC, QY, QW)
# --------------------------------------------------------------------------------------------


def _ssim_parts(
    x: np.ndarray, y: np.ndarray, g: np.ndarray, c1: float, c2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SSIM map, var x, var y, cov xy over a Gaussian window, ``filter2(.., 'valid')``."""
    mx = filter2_sep(x, g, "valid")
    my = filter2_sep(y, g, "valid")
    mxx, myy, mxy = mx * mx, my * my, mx * my
    vx = filter2_sep(x * x, g, "valid") - mxx
    vy = filter2_sep(y * y, g, "valid") - myy
    cxy = filter2_sep(x * y, g, "valid") - mxy
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
    mx = filter2_sep(x, _G7, "valid")
    my = filter2_sep(y, _G7, "valid")
    vx = filter2_sep(x * x, _G7, "valid") - mx * mx
    vy = filter2_sep(y * y, _G7, "valid") - my * my
    cxy = filter2_sep(x * y, _G7, "valid") - mx * my
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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q_C` in [-1, 1] (1 for a fused image equal to both sources; local SSIM, and
        so the score, can be negative), higher is better.

    References:
        N. Cvejic, A. Loza, D. Bull, N. Canagarajah, "A similarity metric for assessment of
        image fusion algorithms", Int. J. Signal Process. 2 (3) (2005) 178-182;
        MEFB ``metricsQc.m``.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (20, 20), dtype=np.uint8)  # noise
        >>> round(qc(a, [a, a]), 6)
        1.0
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qc",
        per_plane=planewise(_qc_plane),
    )


def _qc_plane(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """:func:`qc` of one plane."""
    s_af, _, _, c_af = _ssim_yang_parts(a, f)
    s_bf, _, _, c_bf = _ssim_yang_parts(b, f)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = c_af / (c_af + c_bf)
    sim = w * s_af + (1 - w) * s_bf
    sim[w < 0] = 0.0
    sim[w > 1] = 1.0
    return mean_valid(sim)


INFO["qc"] = fusion_info(
    qc, n_sources=2, range=(-1.0, 1.0),
    description="Cvejic's covariance-weighted local structural similarity",
    reference=_MEFB + "metricsQc.m; Cvejic et al., Int. J. Signal Process. 2 (3) 2005",
)


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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q_Y` in [-1, 1] (1 for a fused image equal to both sources; local SSIM, and
        so the score, can be negative), higher is better.

    References:
        C. Yang, J.-Q. Zhang, X.-R. Wang, X. Liu, "A novel similarity based quality metric for
        image fusion", Information Fusion 9 (2) (2008) 156-160, eq. (6); MEFB ``metricsQy.m``.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (20, 20), dtype=np.uint8)  # noise
        >>> round(qy(a, [a, a]), 6)
        1.0
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qy",
        per_plane=planewise(_qy_plane),
    )


def _qy_plane(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """:func:`qy` of one plane."""
    s_ab, va, vb, _ = _ssim_yang_parts(a, b)
    s_af = _ssim_yang_parts(a, f)[0]
    s_bf = _ssim_yang_parts(b, f)[0]
    similar = s_ab >= 0.75
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = va / (va + vb)
    # MATLAB: (lam s_af + (1 - lam) s_bf) .* bin + max(s_af, s_bf) .* ~bin, NaN kept
    q = (lam * s_af + (1 - lam) * s_bf) * similar + np.fmax(s_af, s_bf) * ~similar
    return mean_valid(q)


INFO["qy"] = fusion_info(
    qy, n_sources=2, range=(-1.0, 1.0),
    description="Yang's SSIM-based metric (weighted or max local SSIM with the sources)",
    reference=_MEFB + "metricsQy.m; Yang et al., Information Fusion 9 (2) 2008",
)


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
    ex = filter2_3x3(p, _EDGE_X)
    ey = filter2_3x3(p, _EDGE_Y)
    return np.sqrt(ex * ex + ey * ey)


def _piella_edges(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """:func:`_piella_weighted` of the Prewitt edge images (MEFB's QW per plane)."""
    return _piella_weighted(_edge_maps(a), _edge_maps(b), _edge_maps(f))


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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        MEFB's QW, nominally in [-1, 1], higher is better.

    References:
        G. Piella, H. Heijmans, "A new quality metric for image fusion", ICIP 2003,
        vol. 3, pp. III-173-176, eq. (5)-(8); MEFB ``metricsQw.m``.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (24, 24), dtype=np.uint8)  # noise
        >>> round(qw(a, [a, a]), 6)
        1.0
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qw",
        per_plane=_piella_edges,
    )


INFO["qw"] = fusion_info(
    qw, n_sources=2, range=(-1.0, 1.0),
    description="Piella's weighted fusion quality index on Prewitt edge images (MEFB QW)",
    reference=_MEFB + "metricsQw.m; Piella & Heijmans, ICIP 2003, eq. (8), alpha = 1",
)


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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q_W`, nominally in [-1, 1], higher is better.

    References:
        G. Piella, H. Heijmans, "A new quality metric for image fusion", ICIP 2003, eq. (6).

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (24, 24), dtype=np.uint8)  # noise
        >>> round(qw_weighted(a, [a, a]), 6)
        1.0
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qw_weighted",
        per_plane=_piella_weighted,
    )


INFO["qw_weighted"] = fusion_info(
    qw_weighted, n_sources=2, range=(-1.0, 1.0),
    description="Piella's weighted fusion quality index on the images (textbook Q_W)",
    reference="Piella & Heijmans, ICIP 2003, eq. (6)",
)


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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`, and:

    Args:
        alpha: weight of the edge term, in [0, 1] (Piella: "contribution of the edge images").

    Returns:
        :math:`Q_E`, higher is better (NaN when a negative :math:`Q_W` meets a fractional power).

    Raises:
        InputError: for ``alpha`` outside [0, 1].

    References:
        G. Piella, H. Heijmans, "A new quality metric for image fusion", ICIP 2003, eq. (8).

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (24, 24), dtype=np.uint8)  # noise
        >>> round(qe_piella(a, [a, a], alpha=0.5), 6)
        1.0
    """
    if not (isinstance(alpha, (int, float)) and 0.0 <= float(alpha) <= 1.0):
        raise InputError(f"alpha must be a number in [0, 1], got {alpha!r}")

    def per_plane(pa: np.ndarray, pb: np.ndarray, pf: np.ndarray) -> np.ndarray:
        edge = _piella_edges(pa, pb, pf)
        if alpha == 1.0:
            return edge
        with np.errstate(invalid="ignore"):
            return _piella_weighted(pa, pb, pf) ** (1.0 - alpha) * edge**alpha

    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qe_piella",
        per_plane=per_plane,
    )
