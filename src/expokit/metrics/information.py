r"""Information-theory fusion metrics of MEFB: entropies, mutual information and PSNR.

MEFB's "information theory-based" metrics (Zhang, Information Fusion 2021, table 2),
re-implemented from MEFB's ``metrics/*.m`` files so that they reproduce its stored scores:

======  ==================  =============================================================
MEFB    function            what it measures
======  ==================  =============================================================
CE      :func:`ce`          relative entropy of source and fused histograms (lower: better)
EN      :func:`en`          Shannon entropy of the fused histogram
FMI     :func:`fmi`         feature (Sobel edge map) mutual information, 3x3 windows
NMI     :func:`nmi`         normalised mutual information (Hossny et al. 2008)
PSNR    :func:`psnr_mefb`   MEFB's PSNR with a non-standard MSE (values near 57 dB)
QNCIE   :func:`qncie`       nonlinear correlation information entropy
TE      :func:`te_mefb`     Tsallis mutual information, q = 1.85, MEFB's marginals
======  ==================  =============================================================

Two textbook variants sit beside MEFB's own where MEFB differs from the paper it cites:
:func:`te` (Tsallis mutual information with the marginals the right way round) and
:func:`psnr_fusion` (PSNR with the mean squared error; :mod:`expokit.metrics.fullref` has the
full-reference ``psnr``).

Inputs and colour follow MEFB's protocol (:mod:`expokit.metrics.mefb`): 8-bit code values,
R, G and B scored separately and averaged. MEFB scores pairs of exposures; every function here
also takes more than two sources and generalises the pair formula the obvious way (named in
each docstring). Everything is computed in float64 and returned as a Python ``float``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np

from ..errors import InputError
from ._checks import channel_mean, fused_only, mefb_channel_score, mefb_inputs
from ._matlab import edge_sobel, normalize1, seq_sum
from ._table import MetricInfo, fusion_info

__all__ = [
    "INFO",
    "TSALLIS_Q",
    "FmiFeature",
    "ce",
    "en",
    "fmi",
    "nmi",
    "psnr_fusion",
    "psnr_mefb",
    "qncie",
    "te",
    "te_mefb",
]

#: Tsallis exponent of Cvejic et al. (2006), the value MEFB uses.
TSALLIS_Q = 1.85

_MEFB = "X. Zhang, Information Fusion 74 (2021) 111-131 (MEFB), "

#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


# --------------------------------------------------------------------------------------------
# Histograms and entropies
# --------------------------------------------------------------------------------------------


def _hist(x: np.ndarray) -> np.ndarray:
    """Probabilities of the 256 code values of a uint8 (or 0..255 integral) array."""
    h = np.bincount(x.reshape(-1).astype(np.intp), minlength=256).astype(np.float64)
    return h / x.size


def _joint_hist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """256 x 256 joint probabilities, rows indexed by ``x``, columns by ``y``."""
    idx = x.reshape(-1).astype(np.intp) * 256 + y.reshape(-1).astype(np.intp)
    h = np.bincount(idx, minlength=256 * 256).astype(np.float64).reshape(256, 256)
    return h / h.sum()


def _entropy_bits(p: np.ndarray) -> float:
    """Shannon entropy in bits of probabilities ``p`` (zeros skipped)."""
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def _mutual_info(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Mutual information and both marginal entropies (bits) from the joint histogram."""
    h = _joint_hist(x, y)
    hx = _entropy_bits(h.sum(axis=1))
    hy = _entropy_bits(h.sum(axis=0))
    hxy = _entropy_bits(h)
    return hx + hy - hxy, hx, hy


def _ce_channel(fc: np.ndarray, sc: list[np.ndarray]) -> float:
    """:func:`ce` of one channel."""
    pf = _hist(fc)
    total = 0.0
    for s in sc:
        ps = _hist(s)
        m = (ps != 0) & (pf != 0)
        total += float((ps[m] * np.log2(ps[m] / pf[m])).sum())
    return total / len(sc)


def ce(fused: object, sources: object, *, data_range: float | None = None) -> float:
    """Cross entropy (MEFB's CE): relative entropy of the source and fused histograms.

    Per channel and per source, ``sum_k P_s(k) log2(P_s(k) / P_f(k))`` over the grey levels
    where both histograms are non-zero (a Kullback-Leibler divergence; MEFB calls it cross
    entropy), averaged over the sources and then over R, G, B. Lower is better; 0 when every
    source has the fused image's histogram. Because the levels a source uses and the fused
    image lacks are skipped (MEFB's rule), it is not a true divergence and can be negative.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)`` (see the module docstring for
            other dtypes and colour).
        sources: the source exposures, same size (MEFB: two).
        data_range: span of float inputs (required for them), to quantise them to 8 bit.

    Returns:
        The cross entropy in bits (usually > 0).

    Raises:
        InputError: for missing sources, mismatched sizes or unusable dtypes.

    References:
        D. M. Bulanon, T. Burks, V. Alchanatis, "Image fusion of visible and thermal images for
        fruit detection", Biosystems Engineering 103 (2009) 12-22; MEFB
        ``metricsCross_entropy.m``.

    >>> a = np.zeros((4, 4), np.uint8)
    >>> round(ce(a, [a, a]), 9)
    0.0
    """
    return mefb_channel_score(
        fused, sources, data_range=data_range, metric="ce", per_channel=_ce_channel
    )


INFO["ce"] = fusion_info(
    ce, higher_is_better=False, range=(None, None),
    description="relative entropy (MEFB's cross entropy) of source and fused histograms",
    reference=_MEFB + "metricsCross_entropy.m; Bulanon et al., Biosyst. Eng. 103 (2009)",
)


def en(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Entropy (MEFB's EN): Shannon entropy of the fused image's 256-bin histogram.

    Computed per channel and averaged over R, G, B (not on the grey image). Higher means
    more information; at most 8 bits.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: optional; used only for MEFB's colour rule (grey sources and colour fused
            image: only the red channel is scored).
        data_range: span of float inputs (required for them).

    Returns:
        Entropy in bits, in [0, 8].

    References:
        J. van Aardt, "Assessment of image fusion procedures using entropy, image quality, and
        multispectral classification", J. Appl. Remote Sens. 2 (2008) 023522; MEFB
        ``metricsEntropy.m``.

    >>> round(en(np.zeros((4, 4), np.uint8)), 9)
    0.0
    >>> round(en(np.repeat(np.array([[0], [255]], np.uint8), 4, axis=1)), 9)
    1.0
    """
    f = fused_only(fused, sources, data_range=data_range, metric="en")
    return float(np.mean([_entropy_bits(_hist(f[:, :, k])) for k in range(f.shape[2])]))


INFO["en"] = fusion_info(
    en, range=(0.0, 8.0),
    description="Shannon entropy of the fused image, per R, G, B channel, averaged",
    reference=_MEFB + "metricsEntropy.m; van Aardt, J. Appl. Remote Sens. 2 (2008)",
)


def _nmi_channel(fc: np.ndarray, sc: list[np.ndarray]) -> float:
    """:func:`nmi` of one channel."""
    fn = normalize1(fc)
    total = 0.0
    for s in sc:
        mi, hs, hf = _mutual_info(normalize1(s), fn)
        total += mi / (hf + hs) if hf + hs > 0 else 0.0
    return 2.0 * total


def nmi(fused: object, sources: object, *, data_range: float | None = None) -> float:
    """Normalised mutual information (MEFB's NMI, Hossny et al.'s revision of Qu's MI).

    Each image is first stretched to [0, 255] and rounded (Liu's ``normalize1``); then
    ``NMI = 2 * sum_s MI(s, f) / (H(s) + H(f))`` with 256-bin (joint) histograms, per channel,
    averaged over R, G, B. With two sources it lies in [0, 2]; higher is better.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: the source exposures (MEFB: two; more are summed the same way).
        data_range: span of float inputs (required for them).

    Returns:
        NMI, >= 0.

    References:
        M. Hossny, S. Nahavandi, D. Creighton, "Comments on 'Information measure for
        performance of image fusion'", Electron. Lett. 44 (18) (2008) 1066-1067; Z. Liu's
        ``metricMI.m``; MEFB ``metricsNMI.m``.

    >>> x = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    >>> round(nmi(x, [x, x]), 6)
    2.0
    """
    return mefb_channel_score(
        fused, sources, data_range=data_range, metric="nmi", per_channel=_nmi_channel
    )


INFO["nmi"] = fusion_info(
    nmi, range=(0.0, 2.0),
    description="normalised mutual information 2 MI / (H_s + H_f), summed over 2 sources",
    reference=_MEFB + "metricsNMI.m; Hossny et al., Electron. Lett. 44 (18) (2008)",
)


def _tsallis(x: np.ndarray, y: np.ndarray, q: float, *, mefb_marginals: bool) -> float:
    """Tsallis mutual information of two normalised images."""
    h = _joint_hist(x, y)
    px = h.sum(axis=1)  # marginal of x (rows)
    py = h.sum(axis=0)  # marginal of y (columns)
    # MEFB's tsallis.m multiplies h(i, j) with the marginal of y at i and of x at j.
    denom = np.outer(py, px) if mefb_marginals else np.outer(px, py)
    m = denom != 0
    total = float((h[m] ** q / denom[m] ** (q - 1.0)).sum())
    return (1.0 - total) / (1.0 - q)


def _te(fused: object, sources: object, data_range: float | None, q: float, mefb: bool) -> float:
    f, srcs = mefb_inputs(fused, sources, data_range=data_range, metric="te")
    if not np.isfinite(q) or q == 1.0:
        raise InputError(f"q must be a finite number other than 1, got {q!r}")

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        fn = normalize1(fc)
        return sum(_tsallis(normalize1(s), fn, q, mefb_marginals=mefb) for s in sc)

    return channel_mean(f, srcs, one)


def te_mefb(
    fused: object, sources: object, *, q: float = TSALLIS_Q, data_range: float | None = None
) -> float:
    """Tsallis-entropy mutual information as MEFB computes it (MEFB's TE).

    ``TE = sum_s I_q(s, f)`` with ``I_q = (1 - sum_ij p(i, j)^q / (p_f(i) p_s(j))^(q - 1)) /
    (1 - q)`` on the 256-bin joint histogram of the ``normalize1``-stretched images, per
    channel, averaged over R, G, B. Note the marginals: MEFB's (Liu's) ``tsallis.m`` divides
    ``p(i, j)`` (source level i, fused level j) by the *fused* marginal at i times the
    *source* marginal at j, the transpose of Cvejic et al.'s formula; :func:`te` is the
    formula as published. Higher is better.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: the source exposures (MEFB: two; more are summed).
        q: Tsallis exponent (Cvejic's 1.85, as MEFB).
        data_range: span of float inputs (required for them).

    Returns:
        The Tsallis mutual information summed over the sources.

    References:
        N. Cvejic, C. N. Canagarajah, D. R. Bull, "Image fusion metric based on mutual
        information and Tsallis entropy", Electron. Lett. 42 (11) (2006) 626-627; MEFB
        ``metricsTE.m``.

    >>> x = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    >>> round(te_mefb(x, [x, x]), 6) == round(te(x, [x, x]), 6)
    True
    """
    return _te(fused, sources, data_range, q, True)


INFO["te_mefb"] = fusion_info(
    te_mefb, range=(None, None),
    description="MEFB's Tsallis mutual information (q = 1.85) with transposed "
    "marginals, as MEFB's tsallis.m; values up to ~1e6",
    reference=_MEFB + "metricsTE.m; Cvejic et al., Electron. Lett. 42 (11) (2006)",
)


def te(
    fused: object, sources: object, *, q: float = TSALLIS_Q, data_range: float | None = None
) -> float:
    """Tsallis-entropy mutual information as Cvejic et al. define it (textbook TE).

    Like :func:`te_mefb` but with ``p(i, j)`` divided by ``(p_s(i) p_f(j))^(q - 1)``, the
    marginals of its own row and column. Use :func:`te_mefb` to reproduce MEFB's tables.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: the source exposures (summed over).
        q: Tsallis exponent (default 1.85, Cvejic's value).
        data_range: span of float inputs (required for them).

    Returns:
        The Tsallis mutual information summed over the sources.

    References:
        N. Cvejic, C. N. Canagarajah, D. R. Bull, Electron. Lett. 42 (11) (2006) 626-627,
        Eq. (3).

    >>> a = np.zeros((4, 4), np.uint8); a[:2] = 255
    >>> round(te(a, [a, a], q=2.0), 6)  # each source: 1 - sum p^2 / p^2 = 1 - 2 = -1 -> 1
    2.0
    """
    return _te(fused, sources, data_range, q, False)


INFO["te"] = fusion_info(
    te, range=(None, None),
    description="Tsallis mutual information (q = 1.85) as published, summed over sources",
    reference="N. Cvejic, C. N. Canagarajah, D. R. Bull, Electron. Lett. 42 (11) (2006) "
    "626-627, eq. 3",
)


def _qncie_channel(fc: np.ndarray, sc: list[np.ndarray]) -> float:
    """:func:`qncie` of one channel."""
    imgs = [normalize1(s) for s in sc] + [normalize1(fc)]
    k = len(imgs)
    r = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            r[i, j] = r[j, i] = _mutual_info(imgs[i], imgs[j])[0] / 8.0
    lam = np.linalg.eigvalsh(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(lam > 0, lam * np.log2(lam / k) / k, 0.0)
    return 1.0 + float(terms.sum()) / 8.0


def qncie(fused: object, sources: object, *, data_range: float | None = None) -> float:
    """Nonlinear correlation information entropy (MEFB's QNCIE, Wang et al.).

    Nonlinear correlation coefficients ``NCC(x, y) = MI(x, y) / 8`` (bits over log2 256) of
    the ``normalize1``-stretched images fill the correlation matrix ``R`` of sources and fused
    image; ``QNCIE = 1 + sum_i (l_i / K) log_256(l_i / K)`` over its K eigenvalues ``l_i``
    (K = 3 for two sources). Per channel, averaged over R, G, B. In [0, 1], higher is better.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: the source exposures (MEFB: two; N sources give an (N+1)-square ``R``).
        data_range: span of float inputs (required for them).

    Returns:
        QNCIE in [0, 1].

    References:
        Q. Wang, Y. Shen, J. Jin, "Performance evaluation of image fusion techniques", in
        Image Fusion: Algorithms and Applications (2008) 469-492; Z. Liu's ``metricWang.m``;
        MEFB ``metricsQncie.m``.

    >>> x = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> 0.0 <= qncie(x, [x, x[::-1]]) <= 1.0
    True
    """
    return mefb_channel_score(
        fused, sources, data_range=data_range, metric="qncie", per_channel=_qncie_channel
    )


INFO["qncie"] = fusion_info(
    qncie, range=(0.0, 1.0),
    description="nonlinear correlation information entropy of sources and fused image",
    reference=_MEFB + "metricsQncie.m; Wang, Shen & Jin, Image Fusion (2008) 469-492",
)


# --------------------------------------------------------------------------------------------
# PSNR (MEFB's definition)
# --------------------------------------------------------------------------------------------


def _psnr_mefb_channel(fc: np.ndarray, sc: list[np.ndarray]) -> float:
    """:func:`psnr_mefb` of one channel."""
    fd = fc.astype(np.float64)
    m = np.mean([np.sqrt(((s.astype(np.float64) - fd) ** 2).sum()) / fd.size for s in sc])
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(255.0 / np.sqrt(m)))


def psnr_mefb(fused: object, sources: object, *, data_range: float | None = None) -> float:
    """PSNR as MEFB defines it (MEFB's PSNR; not the standard PSNR).

    MEFB's ``mse`` is ``sqrt(sum((s - f)^2)) / (H W)``, the root of the summed squared error
    over the pixel count, not the mean squared error; ``PSNR = 20 log10(255 / sqrt(m))`` with
    ``m`` its mean over the sources, per channel, averaged over R, G, B. Because ``m`` shrinks
    with the image size, values cluster near 57 dB for MEFB's images whatever the fusion
    quality. For the textbook form use :func:`psnr_fusion` (or, against one reference image,
    :func:`expokit.metrics.fullref.psnr`).

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: the source exposures (MEFB: two; the "MSE" is averaged over them).
        data_range: span of float inputs (required for them; the peak stays 255 because
            the images are quantised to 8 bit).

    Returns:
        MEFB's PSNR in dB (infinite when the fused image equals every source).

    References:
        P. Jagalingam, A. V. Hegde, "A review of quality metrics for fused image", Aquatic
        Procedia 4 (2015) 133-142; MEFB ``metricsPsnr.m``.

    >>> a = np.zeros((10, 10), np.uint8); b = np.full((10, 10), 10, np.uint8)
    >>> round(psnr_mefb(a, [b, b]), 4)  # m = sqrt(100 * 100) / 100 = 1
    48.1308
    """
    return mefb_channel_score(
        fused, sources, data_range=data_range, metric="psnr_mefb", per_channel=_psnr_mefb_channel
    )


INFO["psnr_mefb"] = fusion_info(
    psnr_mefb, range=(None, None),
    description="MEFB's PSNR: 20 log10(255 / sqrt(sqrt(SSE) / N)), not the standard "
    "PSNR (values near 57 dB)",
    reference=_MEFB + "metricsPsnr.m; Jagalingam & Hegde, Aquatic Procedia 4 (2015)",
)


def psnr_fusion(fused: object, sources: object, *, data_range: float | None = None) -> float:
    """PSNR of a fused image against its sources with the textbook mean squared error.

    ``PSNR = 10 log10(255^2 / MSE)`` with ``MSE`` the mean squared error to each source (over
    all pixels and channels), averaged over the sources: the form the fusion literature
    states and MEFB's :func:`psnr_mefb` departs from. On 8-bit code values.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: the source exposures, same size.
        data_range: span of float inputs (required for them; they are quantised to 8 bit).

    Returns:
        PSNR in dB (infinite when the fused image equals every source).

    References:
        P. Jagalingam, A. V. Hegde, "A review of quality metrics for fused image", Aquatic
        Procedia 4 (2015) 133-142, eqs. (9)-(10).

    >>> a = np.zeros((10, 10), np.uint8); b = np.full((10, 10), 10, np.uint8)
    >>> round(psnr_fusion(a, [b, b]), 4)  # MSE = 100
    28.1308
    """
    f, srcs = mefb_inputs(fused, sources, data_range=data_range, metric="psnr_fusion")
    fd = f.astype(np.float64)
    mse = np.mean([((s.astype(np.float64) - fd) ** 2).mean() for s in srcs])
    with np.errstate(divide="ignore"):  # a fused image equal to every source: inf
        return float(10.0 * np.log10(255.0**2 / mse))


INFO["psnr_fusion"] = fusion_info(
    psnr_fusion, range=(0.0, None),
    description="PSNR to the sources with the textbook MSE, averaged over them",
    reference="P. Jagalingam, A. V. Hegde, Aquatic Procedia 4 (2015) 133-142",
)


# --------------------------------------------------------------------------------------------
# FMI: feature mutual information on MATLAB's Sobel edge maps
# --------------------------------------------------------------------------------------------


class _WindowStats:
    """Per-window quantities of Haghighat's FMI that depend on one image only.

    ``pdf`` holds the normalised window values divided by their sum, in MATLAB's
    column-major ``w(:)`` order, along the last axis.
    """

    def __init__(self, pdf: np.ndarray) -> None:
        n = pdf.shape[-1]
        self.pdf = pdf
        self.cdf = np.cumsum(pdf, axis=-1)
        self.temp = pdf - (seq_sum(pdf) / n)[..., None]
        self.ss = seq_sum(self.temp * self.temp)
        idx = np.arange(1, n + 1, dtype=np.float64)
        e1 = seq_sum(idx * pdf)
        e2 = seq_sum(idx**2 * pdf)
        self.sd = np.sqrt(np.maximum(e2 - e1**2, 0.0))
        safe = np.where(pdf != 0, pdf, 1.0)
        self.ent = -seq_sum(np.where(pdf != 0, pdf * np.log2(safe), 0.0))


def _fmi_core(a: _WindowStats, f: _WindowStats) -> np.ndarray:
    """Normalised MI of windows ``a`` (source) and ``f`` (fused), broadcast over windows.

    Follows MEFB's ``fmi``: Pearson correlation ``c`` of the two pdfs, Nelsen's joint pdf
    between independence and the upper (``c >= 0``) or lower (``c < 0``) Frechet bound, and
    ``2 MI / (H_a + H_f)`` (0 when MI is exactly 0). Sums run in MATLAB's loop order so that
    degenerate windows round the same way.
    """
    n = a.pdf.shape[-1]
    num = seq_sum(a.temp * f.temp)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(num == 0, 0.0, num / np.sqrt(a.ss * f.ss))
    pos = c >= 0

    def bound(i: int, j: int) -> np.ndarray:
        fc, ac = f.cdf[..., i], a.cdf[..., j]
        return np.where(pos, 0.5 * (fc + ac - np.abs(fc - ac)),
                        0.5 * (fc + ac - 1.0 + np.abs(fc + ac - 1.0)))

    cov = np.zeros(c.shape)
    for i in range(n):
        for j in range(n):
            cov = cov + bound(i, j) - f.cdf[..., i] * a.cdf[..., j]
    sd_prod = f.sd * a.sd
    with np.errstate(divide="ignore", invalid="ignore"):
        mix = np.where((sd_prod == 0) | (pos & (c == 0)), 0.0, c / (cov / sd_prod))

    order = [(0, 0)] + [(i, 0) for i in range(1, n)] + [(0, j) for j in range(1, n)]
    order += [(i, j) for i in range(1, n) for j in range(1, n)]
    joint = np.zeros(c.shape)
    for i, j in order:
        u = bound(i, j)
        if i > 0:
            u = u - bound(i - 1, j)
        if j > 0:
            u = u - bound(i, j - 1)
        if i > 0 and j > 0:
            u = u + bound(i - 1, j - 1)
        p = mix * u + (1.0 - mix) * f.pdf[..., i] * a.pdf[..., j]
        safe = np.abs(np.where(p != 0, p, 1.0))
        joint = joint + np.where(p != 0, -p * np.log2(safe), 0.0)  # MATLAB: real(-p log2 p)
    hsum = a.ent + f.ent
    mi = hsum - joint
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mi == 0, 0.0, 2.0 * mi / hsum)


@lru_cache(maxsize=1)
def _fmi_table() -> np.ndarray:
    """FMI of every pair of binary 3x3 windows, ``T[source pattern, fused pattern]``.

    Pattern bit ``r + 3 c`` is window pixel (r, c) (MATLAB's column-major ``w(:)``); pattern
    0 (a constant window) is normalised to all ones, as MEFB's ``fmi`` does.
    """
    pats = ((np.arange(512)[:, None] >> np.arange(9)) & 1).astype(np.float64)
    pats[0] = 1.0
    stats = _WindowStats(pats / seq_sum(pats)[:, None])
    a = _WindowStats.__new__(_WindowStats)
    f = _WindowStats.__new__(_WindowStats)
    for name in ("pdf", "cdf", "temp", "ss", "sd", "ent"):
        v = getattr(stats, name)
        setattr(a, name, v[:, None])
        setattr(f, name, v[None, :])
    return _fmi_core(a, f)


def _window_codes(e: np.ndarray) -> np.ndarray:
    """9-bit code of every interior 3x3 window of a binary map (bit r + 3 c = pixel (r, c))."""
    h, w = e.shape
    code = np.zeros((h - 2, w - 2), dtype=np.intp)
    for c in range(3):
        for r in range(3):
            code |= e[r : h - 2 + r, c : w - 2 + c].astype(np.intp) << (r + 3 * c)
    return code


def _fmi_edge3(fe: np.ndarray, se: list[np.ndarray]) -> float:
    """FMI of binary feature maps with 3x3 windows, by table look-up."""
    table = _fmi_table()
    cf = _window_codes(fe)
    cur = cf  # MEFB re-uses the fused window normalised by the previous source's branch
    total = np.zeros(cf.shape)
    for e in se:
        cs = _window_codes(e)
        eq = cs == cur
        total += np.where(eq, 1.0, table[cs, cf])
        cur = np.where(eq, cur, np.where(cf == 0, 511, cf))
    return float((total / len(se)).mean())


def _windows(feat: np.ndarray, size: int) -> np.ndarray:
    """All interior ``size`` x ``size`` windows, flattened column-major: ``(count, size^2)``."""
    v = np.lib.stride_tricks.sliding_window_view(feat, (size, size))
    return np.swapaxes(v, -1, -2).reshape(-1, size * size)


def _normalise_windows(w: np.ndarray, size: int) -> np.ndarray:
    """MEFB's per-window min-max normalisation (constant windows become all ones)."""
    lo = w.min(axis=1, keepdims=True)
    hi = w.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(hi == lo, 1.0, (w - lo) / (hi - lo))
    return out


def _pdf(w: np.ndarray, size: int) -> np.ndarray:
    """Window values over their sum (MATLAB ``sum(sum(.))``: columns first)."""
    cols = w.reshape(w.shape[0], size, size)  # [window, column, row]
    total = seq_sum(seq_sum(cols))
    return w / total[:, None]


def _fmi_general(
    fe: np.ndarray, se: list[np.ndarray], size: int, chunk: int = 1 << 15
) -> float:
    """FMI of real-valued feature maps with ``size`` x ``size`` windows (any feature)."""
    fw_all = _windows(fe, size)
    sw_all = [_windows(e, size) for e in se]
    total = 0.0
    for start in range(0, fw_all.shape[0], chunk):
        fw = fw_all[start : start + chunk]
        fn = _normalise_windows(fw, size)
        fstats = _WindowStats(_pdf(fn, size))
        cur = fw
        acc = np.zeros(fw.shape[0])
        for sw_full in sw_all:
            sw = sw_full[start : start + chunk]
            eq = (sw == cur).all(axis=1)
            val = _fmi_core(_WindowStats(_pdf(_normalise_windows(sw, size), size)), fstats)
            acc += np.where(eq, 1.0, val)
            cur = np.where(eq[:, None], cur, fn)
        total += float((acc / len(se)).sum())
    return total / fw_all.shape[0]


def _fmi_features(band: np.ndarray, feature: str) -> np.ndarray:
    if feature == "edge":
        return edge_sobel(band)
    if feature == "none":
        return band
    if feature == "gradient":
        return np.gradient(band, axis=1)  # MATLAB gradient(I) with one output: d/dx
    from scipy.fft import dctn

    return dctn(band, type=2, norm="ortho")  # MATLAB dct2


FmiFeature = Literal["edge", "none", "gradient", "dct"]
_FMI_FEATURES = ("edge", "none", "gradient", "dct")


def fmi(
    fused: object,
    sources: object,
    *,
    feature: FmiFeature = "edge",
    window: int = 3,
    data_range: float | None = None,
) -> float:
    """Feature mutual information (MEFB's FMI: Haghighat's fast FMI on edge maps).

    MEFB calls Haghighat's ``fmi`` with its defaults, ``feature="edge"`` and ``window=3``:
    features are MATLAB ``edge`` maps (Sobel, automatic threshold ``4 mean(g^2)``,
    thinning). In each interior window, the min-max normalised feature values of a source
    and of the fused image are taken as two distributions over the window's pixels; their
    joint distribution is built with Nelsen's method between independence and the Frechet
    bound that matches the sign of their correlation, and the normalised mutual information
    ``2 MI / (H_s + H_f)`` is computed (1 when the two raw windows are equal). The map of its
    mean over the sources is averaged; per channel, then over R, G, B. In [0, 1], higher is
    better.

    3x3 windows of binary edge maps take only 512 x 512 forms, so for MEFB's setting
    expokit evaluates the window formula once per pair of forms (a cached table) and looks
    the windows up; other settings evaluate every window (about 10 s per megapixel and channel).

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``, larger than the window.
        sources: the source exposures (MEFB: two; more are averaged).
        feature: ``"edge"`` (MEFB; Sobel edge map), ``"none"`` (raw pixels, "FMI_pixel"),
            ``"gradient"`` (MATLAB ``gradient(I)``: the horizontal derivative) or ``"dct"``
            (orthonormal 2-D DCT of the whole image, MATLAB ``dct2``).
        window: odd window side (Haghighat's ``w``; MEFB: 3).
        data_range: span of float inputs (required for them).

    Returns:
        FMI in [0, 1].

    Raises:
        InputError: for an unknown feature, an even or too large window, or bad images.

    References:
        M. B. A. Haghighat, A. Aghagolzadeh, H. Seyedarabi, "A non-reference image fusion
        metric based on mutual information of image features", Computers and Electrical
        Engineering 37 (5) (2011) 744-756; M. Haghighat, M. A. Razian, "Fast-FMI:
        non-reference image fusion metric", AICT 2014; MEFB ``metricsFMI.m``.

    >>> x = np.zeros((8, 8), np.uint8); x[:, 4:] = 200
    >>> round(fmi(x, [x, x]), 9)
    1.0
    """
    if feature not in _FMI_FEATURES:
        raise InputError(
            f"unknown FMI feature {feature!r}; valid: {', '.join(map(repr, _FMI_FEATURES))} "
            "(MEFB uses 'edge')"
        )
    if not isinstance(window, (int, np.integer)) or window < 3 or window % 2 == 0:
        raise InputError(f"window must be an odd integer >= 3 (MEFB: 3), got {window!r}")
    f, srcs = mefb_inputs(fused, sources, data_range=data_range, metric="fmi")
    if min(f.shape[:2]) < window:
        raise InputError(
            f"fused is {f.shape[1]}x{f.shape[0]}: FMI uses {window}x{window} windows, so "
            f"images need at least {window}x{window} pixels"
        )

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        fe = _fmi_features(fc.astype(np.float64), feature)
        se = [_fmi_features(s.astype(np.float64), feature) for s in sc]
        if feature == "edge" and window == 3:
            return _fmi_edge3(fe, se)
        return _fmi_general(fe.astype(np.float64), [e.astype(np.float64) for e in se],
                            int(window))

    return channel_mean(f, srcs, one)


INFO["fmi"] = fusion_info(
    fmi, range=(0.0, 1.0),
    description="feature mutual information of Sobel edge maps in 3x3 windows",
    reference=_MEFB + "metricsFMI.m; Haghighat et al., Comput. Electr. Eng. 37 (2011)",
)
