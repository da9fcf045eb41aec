r"""Image-feature fusion metrics of MEFB: gradients, edges, phase congruency, contrast.

MEFB's "image feature-based" metrics (Zhang, Information Fusion 2021, table 2), re-implemented
from MEFB's ``metrics/*.m`` files so that they reproduce its stored scores:

======  ==================  =============================================================
MEFB    function            what it measures
======  ==================  =============================================================
AG      :func:`ag`          average gradient of the fused image
EI      :func:`ei`          edge intensity (mean Sobel magnitude) of the fused image
QABF    :func:`qabf`        Xydeas & Petrovic gradient (edge) preservation Q^{AB/F}
QP      :func:`qp`          Zhao, Laganiere & Liu phase-congruency feature correlation
SD      :func:`sd`          standard deviation of the fused image
SF      :func:`sf`          spatial frequency of the fused image
======  ==================  =============================================================

plus :func:`phase_congruency`, the variant of Kovesi's ``phasecong3`` that ``qp`` uses.

Inputs and colour follow MEFB's protocol (:mod:`expokit.metrics.mefb`). AG, EI, SD and SF look
at the fused image only (the sources, optional, only pick MEFB's colour rule); QABF and QP are
defined for exactly two sources (their :class:`MetricInfo` says ``n_sources=2``) and take
``channels="grey"`` for the textbook greyscale form. MATLAB ``conv2``/``filter2`` borders are
kept as each MEFB file has them (``'same'``: zeros, ``imfilter 'replicate'``: nearest).

**The fused-only contract** (AG, EI, SD, SF): ``fused`` is the fused image, uint8 ``(H, W)``
or ``(H, W, 3)`` (other dtypes as in MEFB's protocol); ``sources``, optional, is used only for
MEFB's colour rule; ``data_range`` is the span of float inputs (required for them). Each is
computed per channel and averaged over the channels.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from ..errors import InputError
from ._checks import Channels, code_values_u8, fused_only, mefb_inputs, mefb_pair_score
from ._matlab import SOBEL, filter2_sep, gaussian_1d, to_gray
from ._table import MetricInfo, fusion_info

__all__ = ["INFO", "ag", "ei", "phase_congruency", "qabf", "qp", "sd", "sf"]


_MEFB = "X. Zhang, Information Fusion 74 (2021) 111-131 (MEFB), "

#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


# --------------------------------------------------------------------------------------------
# Fused-only statistics: AG, EI, SD, SF
# --------------------------------------------------------------------------------------------


def _band_mean(f: np.ndarray, per_band: Callable[[np.ndarray], float]) -> float:
    """Mean over the channels of ``f`` ``(H, W, C)`` of ``per_band(f[:, :, k])``."""
    return float(np.mean([per_band(f[:, :, k]) for k in range(f.shape[2])]))


def ag(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Average gradient (MEFB's AG).

    ``sum sqrt((gx^2 + gy^2) / 2) / ((H - 1)(W - 1))`` with MATLAB ``gradient`` (central
    differences inside, one-sided at the border), on 8-bit code values, per channel,
    averaged over R, G, B. Higher means sharper. MEFB's rule for grey sources and a colour
    fused image is ``rgb2gray`` (unrounded) here, not the red channel.

    Args: the fused-only contract, see :mod:`expokit.metrics.features`.

    Returns:
        Average gradient in code values per pixel, >= 0.

    References:
        G. Cui, H. Feng, Z. Xu, Q. Li, Y. Chen, "Detail preserved fusion of visible and
        infrared images using regional saliency extraction and multi-scale image
        decomposition", Optics Communications 341 (2015) 199-209; MEFB
        ``metricsAvg_gradient.m``.

    >>> round(ag(np.full((5, 5), 7, np.uint8)), 9)
    0.0
    """
    f = code_values_u8(fused, name="fused", data_range=data_range)
    _, srcs = mefb_inputs(fused, sources, data_range=data_range, metric="ag", need_sources=False)
    if f.shape[2] == 3 and srcs and srcs[0].shape[2] == 1:
        f = to_gray(f.astype(np.float64))
    r, c = f.shape[:2]

    def one(band: np.ndarray) -> float:
        gy, gx = np.gradient(band.astype(np.float64))
        return np.sqrt((gx**2 + gy**2) / 2.0).sum() / ((r - 1) * (c - 1))

    return _band_mean(f, one)


INFO["ag"] = fusion_info(
    ag, range=(0.0, None),
    description="average gradient of the fused image (code values per pixel)",
    reference=_MEFB + "metricsAvg_gradient.m; Cui et al., Opt. Commun. 341 (2015)",
)


def ei(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Edge intensity (MEFB's EI): mean Sobel gradient magnitude.

    ``mean sqrt(gx^2 + gy^2)`` with the unscaled 3x3 Sobel kernels (MATLAB
    ``imfilter(..., 'replicate')``, border pixels replicated), over all pixels and channels.
    Higher means stronger edges.

    Args: the fused-only contract, see :mod:`expokit.metrics.features`.

    Returns:
        Edge intensity in code values, >= 0.

    References:
        B. Rajalingam, R. Priya, "Hybrid multimodality medical image fusion technique for
        feature enhancement in medical diagnosis", Int. J. Eng. Sci. Invention (2018); MEFB
        ``metricsEdge_intensity.m``.

    >>> a = np.zeros((4, 4), np.uint8); a[:, 2:] = 1
    >>> round(ei(a), 9)  # the 2 middle columns see a step of 1 + 2 + 1 = 4: 8 of 16 pixels
    2.0
    """
    f = fused_only(fused, sources, data_range=data_range, metric="ei").astype(np.float64)
    return _band_mean(f, _ei_band)


def _ei_band(band: np.ndarray) -> float:
    """:func:`ei` of one channel."""
    gx = ndimage.correlate(band, SOBEL, mode="nearest")
    gy = ndimage.correlate(band, SOBEL.T, mode="nearest")
    return np.sqrt(gx * gx + gy * gy).mean()


INFO["ei"] = fusion_info(
    ei, range=(0.0, None),
    description="edge intensity: mean Sobel gradient magnitude of the fused image",
    reference=_MEFB + "metricsEdge_intensity.m; Rajalingam & Priya, IJESI (2018)",
)


def sd(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Standard deviation (MEFB's SD): population standard deviation of the code values.

    Per channel (``sqrt(mean((f - mean f)^2))``), averaged over R, G, B. Higher means more
    contrast.

    Args: the fused-only contract, see :mod:`expokit.metrics.features`.

    Returns:
        Standard deviation in code values, in [0, 127.5].

    References:
        Y.-J. Rao, "In-fibre Bragg grating sensors", Meas. Sci. Technol. 8 (4) (1997) 355
        (as cited by MEFB); MEFB ``metricsSD.m``.

    >>> round(sd(np.repeat(np.array([[0], [255]], np.uint8), 4, axis=1)), 9)
    127.5
    """
    f = fused_only(fused, sources, data_range=data_range, metric="sd").astype(np.float64)
    return _band_mean(f, lambda band: np.sqrt(((band - band.mean()) ** 2).mean()))


INFO["sd"] = fusion_info(
    sd, range=(0.0, 127.5),
    description="standard deviation of the fused image's code values, per channel",
    reference=_MEFB + "metricsSD.m",
)


def sf(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Spatial frequency (MEFB's SF).

    ``sqrt(RF^2 + CF^2)`` with ``RF^2`` and ``CF^2`` the sums of squared horizontal and
    vertical neighbour differences divided by ``H W`` (all pixels, not the number of
    differences), per channel, averaged over R, G, B. Higher means more detail.

    Args: the fused-only contract, see :mod:`expokit.metrics.features`.

    Returns:
        Spatial frequency in code values, >= 0.

    References:
        A. M. Eskicioglu, P. S. Fisher, "Image quality measures and their performance", IEEE
        Trans. Commun. 43 (12) (1995) 2959-2965; MEFB ``metricsSpatial_frequency.m`` (which
        cites H. Chen, P. K. Varshney, Information Fusion 8 (2) (2007) 193-207).

    >>> a = np.zeros((2, 2), np.uint8); a[:, 1] = 2
    >>> round(sf(a), 6)  # RF^2 = 2 * 4 / 4 = 2, CF^2 = 0
    1.414214
    """
    f = fused_only(fused, sources, data_range=data_range, metric="sf").astype(np.float64)
    return _band_mean(f, _sf_band)


def _sf_band(band: np.ndarray) -> float:
    """:func:`sf` of one channel."""
    rf = (np.diff(band, axis=1) ** 2).sum() / band.size
    cf = (np.diff(band, axis=0) ** 2).sum() / band.size
    return np.sqrt(rf + cf)


INFO["sf"] = fusion_info(
    sf, range=(0.0, None),
    description="spatial frequency of the fused image (row and column differences)",
    reference=_MEFB + "metricsSpatial_frequency.m; Eskicioglu & Fisher, IEEE TCOM (1995)",
)


# --------------------------------------------------------------------------------------------
# Qabf
# --------------------------------------------------------------------------------------------

_SOBEL_Y = SOBEL  # conv2 kernels of metricsQabf.m
_SOBEL_X = -SOBEL.T


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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q^{AB/F}` in [0, 1], higher is better; NaN if every image is flat (no edges).

    References:
        C. S. Xydeas and V. Petrovic, "Objective image fusion performance measure",
        Electronics Letters 36 (4) (2000) 308-309, eq. (1)-(7); MEFB ``metricsQabf.m``.

    Example:
        >>> import math
        >>> a = np.tile(np.arange(0, 240, 15, dtype=np.uint8), (16, 1))
        >>> b = np.zeros((16, 16), np.uint8)
        >>> round(qabf(a, [a, b]), 6)  # fused == the only source with edges
        0.975333
        >>> round(0.9994 * 0.9879 / (1 + math.exp(-22 * 0.2)), 6)  # Gamma_g Q_alpha(A = 1)
        0.975333
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qabf",
        per_plane=_qabf_planes,
    )


def _qabf_planes(pa: np.ndarray, pb: np.ndarray, pf: np.ndarray) -> np.ndarray:
    """:func:`qabf` of each plane of ``(P, H, W)`` stacks."""
    ga, aa = _qabf_edges(pa)
    gb, ab = _qabf_edges(pb)
    gf, af = _qabf_edges(pf)
    qaf = _qabf_preservation(ga, aa, gf, af)
    qbf = _qabf_preservation(gb, ab, gf, af)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (qaf * ga + qbf * gb).sum(axis=(1, 2)) / (ga + gb).sum(axis=(1, 2))


INFO["qabf"] = fusion_info(
    qabf, n_sources=2, range=(0.0, 1.0),
    description="Xydeas-Petrovic edge (Sobel strength and orientation) preservation",
    reference=_MEFB + "metricsQabf.m; Xydeas & Petrovic, Electron. Lett. 36 (4) 2000",
)


# --------------------------------------------------------------------------------------------
# QP: phase congruency (Liu's myphasecong3, a variant of Kovesi's phasecong3)
# --------------------------------------------------------------------------------------------

_PC_EPS = 1e-4
_G11 = gaussian_1d(11, 1.5)  # Zhao's correlation window: fspecial('gaussian', 11, 1.5)


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
    options = {
        "nscale": nscale, "norient": norient, "min_wavelength": min_wavelength, "mult": mult,
        "sigma_onf": sigma_onf, "dtheta_on_sigma": dtheta_on_sigma, "k": k, "cutoff": cutoff,
        "g": g,
    }
    pc, big, small = _phasecong_planes(arr.astype(np.float64)[None], options)
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
    planes: np.ndarray, options: dict[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`phase_congruency` of every plane of a ``(P, H, W)`` stack (planes in threads);
    ``options`` are its keyword arguments, all given."""
    n, rows, cols = planes.shape
    log_gabor, spreads, em_n, sum_an2, sum_aiaj = _phasecong_filters(
        rows,
        cols,
        options["nscale"],
        options["norient"],
        float(options["min_wavelength"]),
        float(options["mult"]),
        float(options["sigma_onf"]),
        float(options["dtheta_on_sigma"]),
    )
    k, cutoff, g = options["k"], options["cutoff"], options["g"]
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
    mu1 = filter2_sep(x1, _G11, "same")
    mu2 = filter2_sep(x2, _G11, "same")
    muf = filter2_sep(xf, _G11, "same")
    mum = filter2_sep(xmax, _G11, "same")
    vf = filter2_sep(xf * xf, _G11, "same") - muf * muf

    def corr(x: np.ndarray, mu: np.ndarray, mask: np.ndarray) -> np.ndarray:
        vx = filter2_sep(x * x, _G11, "same") - mu * mu
        cxf = filter2_sep(x * xf, _G11, "same") - mu * muf
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

    Args, Raises: the MEFB two-source contract, see :mod:`expokit.metrics.mefb`.

    Returns:
        :math:`Q_P`, nominally in [0, 1], higher is better; NaN when no pixel of either source
        has phase congruency above 0.1.

    References:
        J. Zhao, R. Laganiere, Z. Liu, "Performance assessment of combinative pixel-level
        image fusion based on an absolute feature measurement", Int. J. Innovative Comput.
        Inf. Control 3 (6A) (2007) 1433-1447; MEFB ``metricsQp.m``.

    Example:
        >>> a = np.zeros((32, 32), np.uint8); a[:, 16:] = 255
        >>> round(qp(a, [a, a]), 4)  # < 1: the masks zero the sources' features, not F's
        0.9908
    """
    return mefb_pair_score(
        fused, sources, data_range=data_range, channels=channels, metric="qp",
        per_plane=_qp_planes,
    )


def _qp_planes(pa: np.ndarray, pb: np.ndarray, pf: np.ndarray) -> np.ndarray:
    """:func:`qp` of each plane of ``(P, H, W)`` stacks."""
    n = pa.shape[0]
    # MEFB's QP calls Liu's myphasecong3 with its defaults, those of phase_congruency
    pc, big, small = _phasecong_planes(
        np.concatenate([pa, pb, pf]), phase_congruency.__kwdefaults__
    )
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
    return r_pc * r_big * r_small


INFO["qp"] = fusion_info(
    qp, n_sources=2, range=(0.0, 1.0),
    description="Zhao's phase-congruency feature (PC, max and min moment) correlation",
    reference=_MEFB + "metricsQp.m; Zhao, Laganiere & Liu, IJICIC 3 (6A) 2007",
)
