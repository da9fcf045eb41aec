"""MEFB's information, statistics and VIF fusion metrics, as MEFB's MATLAB code computes them.

Twelve of the twenty metrics of the MEFB benchmark (Zhang, "Benchmarking and comparing
multi-exposure image fusion algorithms", Information Fusion 2021), re-implemented from the
definitions in MEFB's ``metrics/*.m`` files so that they reproduce MEFB's published scores:

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
AG      :func:`ag`          average gradient
EI      :func:`ei`          edge intensity (mean Sobel magnitude)
SD      :func:`sd`          standard deviation
SF      :func:`sf`          spatial frequency
VIF     :func:`viff`        Han et al.'s visual information fidelity for fusion (VIFF)
======  ==================  =============================================================

On all 336 fused images of MEFB's repository each agrees with the score MEFB's MATLAB code
stored to a median relative error of 3e-6 to 1e-5 and at most 1e-4 (the stored values carry
about 5 significant digits; ``benchmarks/validate_mefb.py``).

Two textbook variants sit beside MEFB's own where MEFB differs from the paper it cites:
:func:`te` (Tsallis mutual information with the marginals the right way round) and
:func:`psnr_fusion` (PSNR with the mean squared error; :mod:`expokit.metrics.fullref` has the
full-reference ``psnr``).

How images are read:

* Each function takes the fused image and the source exposures as 8-bit code values, the
  way MEFB's MATLAB reads them with ``imread``: ``uint8`` arrays ``(H, W)``, ``(H, W, 1)`` or
  ``(H, W, 3)``. Other dtypes are quantised to 8 bit first (``uint16`` by ``/ 257``, float by
  ``round(x / data_range * 255)``; ``data_range`` is then required), because MEFB's
  histograms have 256 bins of integer values.
* Colour follows MEFB's wrapper: with colour sources and a colour fused image each metric is
  computed on R, G and B separately (source channel k against fused channel k) and the three
  values are averaged. With grey sources and a colour fused image, MEFB scores only the fused
  image's first (red) channel (average gradient uses its ``rgb2gray`` instead). With colour
  sources and a grey fused image (where most of MEFB's functions fail), expokit converts the
  sources with MATLAB's ``rgb2gray``, rounded to uint8.
* MEFB scores pairs of exposures. Every function also takes more than two sources and
  generalises the pair formula the obvious way (named in each docstring); with two sources
  it is MEFB's.

Everything is computed in float64 and returned as a Python ``float``.

References:
    X. Zhang, "Benchmarking and comparing multi-exposure image fusion algorithms",
    Information Fusion 74 (2021) 111-131; code: https://github.com/xingchenzhang/MEFB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import ndimage

from .._checks import check_image
from ..errors import InputError
from ._checks import gaussian_1d, matlab_round, rgb2gray_u8, to_gray

__all__ = [
    "INFO",
    "ag",
    "ce",
    "ei",
    "en",
    "FmiFeature",
    "fmi",
    "nmi",
    "psnr_fusion",
    "psnr_mefb",
    "qncie",
    "sd",
    "sf",
    "te",
    "te_mefb",
    "viff",
]


#: Tsallis exponent of Cvejic et al. (2006), the value MEFB uses.
TSALLIS_Q = 1.85


# --------------------------------------------------------------------------------------------
# Input handling: 8-bit code values and MEFB's colour rules
# --------------------------------------------------------------------------------------------


def _to_u8(img: object, name: str, data_range: float | None) -> np.ndarray:
    """Check one image and return it as ``(H, W, C)`` uint8 code values."""
    arr = check_image(img, name=name)
    if arr.dtype == np.uint8:
        if data_range is not None and float(data_range) != 255.0:
            raise InputError(
                f"{name} is uint8 but data_range={data_range!r}: uint8 code values span 255; "
                "leave data_range out for uint8 images"
            )
        return arr
    if arr.dtype == np.uint16:
        if data_range is not None and float(data_range) != 65535.0:
            raise InputError(
                f"{name} is uint16 but data_range={data_range!r}: uint16 code values span "
                "65535; leave data_range out for uint16 images"
            )
        return matlab_round(arr / 257.0).astype(np.uint8)
    if data_range is None:
        raise InputError(
            f"{name} is {arr.dtype}: MEFB's metrics work on 8-bit code values, so float "
            "images need data_range (1.0 for images in [0, 1]) to be quantised to 0..255; "
            "or pass uint8 images (expokit.io.to_code_values(img, 8))"
        )
    dr = float(data_range)
    if not np.isfinite(dr) or dr <= 0:
        raise InputError(f"data_range must be a finite number > 0, got {data_range!r}")
    lo, hi = float(arr.min()), float(arr.max())
    tol = 1e-3 * dr
    if lo < -tol or hi > dr + tol:
        raise InputError(
            f"{name} has values in [{lo:.6g}, {hi:.6g}] but data_range={dr:g} means "
            f"[0, {dr:g}]; pass the data_range that matches the image or clip it"
        )
    return matlab_round(np.clip(arr / dr, 0.0, 1.0) * 255.0).astype(np.uint8)


def _rgb2gray_u8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of a uint8 ``(H, W, 3)`` image: weighted sum rounded to uint8."""
    return rgb2gray_u8(img).astype(np.uint8)


def _check_sources(sources: object, n_min: int = 2) -> Sequence[object]:
    if sources is None:
        raise InputError(
            "sources is missing: this fusion metric compares the fused image with the source "
            "exposures; pass sources=[under, over] (the images that were fused)"
        )
    if isinstance(sources, np.ndarray) and sources.ndim == 4:
        sources = list(sources)
    if not isinstance(sources, Sequence) or isinstance(sources, (str, bytes)):
        raise InputError(
            f"sources must be a list of images, got {type(sources).__name__}; "
            "pass sources=[under, over]"
        )
    if len(sources) < n_min:
        raise InputError(
            f"sources holds {len(sources)} image(s), expected at least {n_min}: pass every "
            "exposure that was fused, e.g. sources=[under, over]"
        )
    return sources


def _inputs(
    fused: object, sources: object, data_range: float | None, *, need_sources: bool
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Fused image and sources as ``(H, W, C)`` uint8, sizes checked, colour rules applied.

    Returns the fused image and a list of sources whose channel count equals the fused
    image's, so that channel k of each can be compared (MEFB's per-channel loop).
    """
    f = _to_u8(fused, "fused", data_range)
    if sources is None and not need_sources:
        return f, []
    srcs = [
        _to_u8(s, f"source {i + 1}", data_range)
        for i, s in enumerate(_check_sources(sources))
    ]
    for i, s in enumerate(srcs):
        if s.shape[:2] != f.shape[:2]:
            raise InputError(
                f"source {i + 1} is {s.shape[1]}x{s.shape[0]} but fused is "
                f"{f.shape[1]}x{f.shape[0]}: fusion metrics compare pixels, so the fused "
                "image must have the size of its sources"
            )
        if s.shape[2] != srcs[0].shape[2]:
            raise InputError(
                f"source {i + 1} has {s.shape[2]} channel(s) but source 1 has "
                f"{srcs[0].shape[2]}: do not mix grey and colour exposures"
            )
    if f.shape[2] == 3 and srcs[0].shape[2] == 1:
        f = f[:, :, :1]  # MEFB: grey sources, colour fused -> fused(:, :, 1)
    elif f.shape[2] == 1 and srcs[0].shape[2] == 3:
        srcs = [_rgb2gray_u8(s)[:, :, None] for s in srcs]
    return f, srcs


def _channel_mean(
    fused: np.ndarray, sources: list[np.ndarray], fn: Callable[..., float]
) -> float:
    """Mean over channels k of ``fn(fused[..., k], [s[..., k] for s in sources])``."""
    vals = [
        fn(fused[:, :, k], [s[:, :, k] for s in sources]) for k in range(fused.shape[2])
    ]
    return float(np.mean(vals))


def _fused_only(fused: object, sources: object, data_range: float | None) -> np.ndarray:
    """The fused image as MEFB's fused-only metrics see it (sources only pick the channels)."""
    f, _ = _inputs(fused, sources, data_range, need_sources=False)
    return f


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


def _normalize1(x: np.ndarray) -> np.ndarray:
    """Liu's ``normalize1``: stretch to [0, 255] and round (MEFB's NMI, QNCIE, TE inputs).

    An all-zero image stays as it is; a constant non-zero image (0/0 in MATLAB, where MEFB's
    call fails) is taken as all zeros.
    """
    d = x.astype(np.float64)
    hi, lo = float(d.max()), float(d.min())
    if hi == 0 and lo == 0:
        return d
    if hi == lo:
        return np.zeros_like(d)
    return matlab_round((d - lo) / (hi - lo) * 255.0)


def _mutual_info(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Mutual information and both marginal entropies (bits) from the joint histogram."""
    h = _joint_hist(x, y)
    hx = _entropy_bits(h.sum(axis=1))
    hy = _entropy_bits(h.sum(axis=0))
    hxy = _entropy_bits(h)
    return hx + hy - hxy, hx, hy


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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        pf = _hist(fc)
        total = 0.0
        for s in sc:
            ps = _hist(s)
            m = (ps != 0) & (pf != 0)
            total += float((ps[m] * np.log2(ps[m] / pf[m])).sum())
        return total / len(sc)

    return _channel_mean(f, srcs, one)


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
    f = _fused_only(fused, sources, data_range)
    return float(np.mean([_entropy_bits(_hist(f[:, :, k])) for k in range(f.shape[2])]))


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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        fn = _normalize1(fc)
        total = 0.0
        for s in sc:
            mi, hs, hf = _mutual_info(_normalize1(s), fn)
            total += mi / (hf + hs) if hf + hs > 0 else 0.0
        return 2.0 * total

    return _channel_mean(f, srcs, one)


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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)
    if not np.isfinite(q) or q == 1.0:
        raise InputError(f"q must be a finite number other than 1, got {q!r}")

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        fn = _normalize1(fc)
        return sum(_tsallis(_normalize1(s), fn, q, mefb_marginals=mefb) for s in sc)

    return _channel_mean(f, srcs, one)


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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        imgs = [_normalize1(s) for s in sc] + [_normalize1(fc)]
        k = len(imgs)
        r = np.eye(k)
        for i in range(k):
            for j in range(i + 1, k):
                r[i, j] = r[j, i] = _mutual_info(imgs[i], imgs[j])[0] / 8.0
        lam = np.linalg.eigvalsh(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(lam > 0, lam * np.log2(lam / k) / k, 0.0)
        return 1.0 + float(terms.sum()) / 8.0

    return _channel_mean(f, srcs, one)


# --------------------------------------------------------------------------------------------
# PSNR (MEFB's definition)
# --------------------------------------------------------------------------------------------


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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)

    def one(fc: np.ndarray, sc: list[np.ndarray]) -> float:
        fd = fc.astype(np.float64)
        m = np.mean([np.sqrt(((s.astype(np.float64) - fd) ** 2).sum()) / fd.size for s in sc])
        with np.errstate(divide="ignore"):
            return float(20.0 * np.log10(255.0 / np.sqrt(m)))

    return _channel_mean(f, srcs, one)


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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)
    fd = f.astype(np.float64)
    mse = float(np.mean([((s.astype(np.float64) - fd) ** 2).mean() for s in srcs]))
    with np.errstate(divide="ignore"):
        return float(10.0 * np.log10(255.0**2 / mse))


# --------------------------------------------------------------------------------------------
# Fused-only statistics: AG, EI, SD, SF
# --------------------------------------------------------------------------------------------


def ag(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Average gradient (MEFB's AG).

    ``sum sqrt((gx^2 + gy^2) / 2) / ((H - 1)(W - 1))`` with MATLAB ``gradient`` (central
    differences inside, one-sided at the border), on 8-bit code values, per channel,
    averaged over R, G, B. Higher means sharper. MEFB's rule for grey sources and a colour
    fused image is ``rgb2gray`` (unrounded) here, not the red channel.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: optional; used only for MEFB's colour rule.
        data_range: span of float inputs (required for them).

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
    f = _to_u8(fused, "fused", data_range)
    _, srcs = _inputs(fused, sources, data_range, need_sources=False)
    if f.shape[2] == 3 and srcs and srcs[0].shape[2] == 1:
        f = to_gray(f.astype(np.float64))
    r, c = f.shape[:2]
    vals = []
    for k in range(f.shape[2]):
        gy, gx = np.gradient(f[:, :, k].astype(np.float64))
        vals.append(np.sqrt((gx**2 + gy**2) / 2.0).sum() / ((r - 1) * (c - 1)))
    return float(np.mean(vals))


_SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def ei(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Edge intensity (MEFB's EI): mean Sobel gradient magnitude.

    ``mean sqrt(gx^2 + gy^2)`` with the unscaled 3x3 Sobel kernels (MATLAB
    ``imfilter(..., 'replicate')``, border pixels replicated), over all pixels and channels.
    Higher means stronger edges.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: optional; used only for MEFB's colour rule.
        data_range: span of float inputs (required for them).

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
    f = _fused_only(fused, sources, data_range).astype(np.float64)
    vals = []
    for k in range(f.shape[2]):
        band = f[:, :, k]
        gx = ndimage.correlate(band, _SOBEL, mode="nearest")
        gy = ndimage.correlate(band, _SOBEL.T, mode="nearest")
        vals.append(np.sqrt(gx * gx + gy * gy).mean())
    return float(np.mean(vals))


def sd(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Standard deviation (MEFB's SD): population standard deviation of the code values.

    Per channel (``sqrt(mean((f - mean f)^2))``), averaged over R, G, B. Higher means more
    contrast.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: optional; used only for MEFB's colour rule.
        data_range: span of float inputs (required for them).

    Returns:
        Standard deviation in code values, in [0, 127.5].

    References:
        Y.-J. Rao, "In-fibre Bragg grating sensors", Meas. Sci. Technol. 8 (4) (1997) 355
        (as cited by MEFB); MEFB ``metricsSD.m``.

    >>> round(sd(np.repeat(np.array([[0], [255]], np.uint8), 4, axis=1)), 9)
    127.5
    """
    f = _fused_only(fused, sources, data_range).astype(np.float64)
    vals = [np.sqrt(((f[:, :, k] - f[:, :, k].mean()) ** 2).mean()) for k in range(f.shape[2])]
    return float(np.mean(vals))


def sf(fused: object, sources: object = None, *, data_range: float | None = None) -> float:
    """Spatial frequency (MEFB's SF).

    ``sqrt(RF^2 + CF^2)`` with ``RF^2`` and ``CF^2`` the sums of squared horizontal and
    vertical neighbour differences divided by ``H W`` (all pixels, not the number of
    differences), per channel, averaged over R, G, B. Higher means more detail.

    Args:
        fused: fused image, uint8 ``(H, W)`` or ``(H, W, 3)``.
        sources: optional; used only for MEFB's colour rule.
        data_range: span of float inputs (required for them).

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
    f = _fused_only(fused, sources, data_range).astype(np.float64)
    vals = []
    for k in range(f.shape[2]):
        band = f[:, :, k]
        rf = (np.diff(band, axis=1) ** 2).sum() / band.size
        cf = (np.diff(band, axis=0) ** 2).sum() / band.size
        vals.append(np.sqrt(rf + cf))
    return float(np.mean(vals))


# --------------------------------------------------------------------------------------------
# FMI: feature mutual information on MATLAB's Sobel edge maps
# --------------------------------------------------------------------------------------------


def _edge_sobel(band: np.ndarray) -> np.ndarray:
    """MATLAB ``edge(I)`` (Sobel, automatic threshold, thinning) of a 2-D float image.

    Gradients are the Sobel kernels / 8 with replicated borders; ``b = gx^2 + gy^2``; the
    threshold is ``4 * mean(b)``; a pixel is an edge when ``b`` exceeds it and is a local
    maximum across the dominant gradient direction (``b(r, c-1) <= b < ...`` rules of
    MATLAB's thinning, edges of the image counting as lower).
    """
    op = _SOBEL / 8.0
    bx = ndimage.correlate(band, op.T, mode="nearest")
    by = ndimage.correlate(band, op, mode="nearest")
    b = bx * bx + by * by
    cutoff = 4.0 * b.sum() / b.size
    bx, by = np.abs(bx), np.abs(by)
    ninf = np.full((b.shape[0], 1), -np.inf)
    left = np.hstack([ninf, b[:, :-1]])
    right = np.hstack([b[:, 1:], ninf])
    ninf = np.full((1, b.shape[1]), -np.inf)
    up = np.vstack([ninf, b[:-1]])
    down = np.vstack([b[1:], ninf])
    tol = 100 * np.finfo(np.float64).eps
    horiz = (bx >= by - tol) & (left <= b) & (b > right)
    vert = (by >= bx - tol) & (up <= b) & (b > down)
    return (b > cutoff) & (horiz | vert)


def _seq_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis, left to right (the order of MATLAB's loops)."""
    s = a[..., 0].copy()
    for i in range(1, a.shape[-1]):
        s = s + a[..., i]
    return s


class _WindowStats:
    """Per-window quantities of Haghighat's FMI that depend on one image only.

    ``pdf`` holds the normalised window values divided by their sum, in MATLAB's
    column-major ``w(:)`` order, along the last axis.
    """

    def __init__(self, pdf: np.ndarray) -> None:
        n = pdf.shape[-1]
        self.pdf = pdf
        self.cdf = np.cumsum(pdf, axis=-1)
        self.temp = pdf - (_seq_sum(pdf) / n)[..., None]
        self.ss = _seq_sum(self.temp * self.temp)
        idx = np.arange(1, n + 1, dtype=np.float64)
        e1 = _seq_sum(idx * pdf)
        e2 = _seq_sum(idx**2 * pdf)
        self.sd = np.sqrt(np.maximum(e2 - e1**2, 0.0))
        safe = np.where(pdf != 0, pdf, 1.0)
        self.ent = -_seq_sum(np.where(pdf != 0, pdf * np.log2(safe), 0.0))


def _fmi_core(a: _WindowStats, f: _WindowStats) -> np.ndarray:
    """Normalised MI of windows ``a`` (source) and ``f`` (fused), broadcast over windows.

    Follows MEFB's ``fmi``: Pearson correlation ``c`` of the two pdfs, Nelsen's joint pdf
    between independence and the upper (``c >= 0``) or lower (``c < 0``) Frechet bound, and
    ``2 MI / (H_a + H_f)`` (0 when MI is exactly 0). Sums run in MATLAB's loop order so that
    degenerate windows round the same way.
    """
    n = a.pdf.shape[-1]
    num = _seq_sum(a.temp * f.temp)
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
    stats = _WindowStats(pats / _seq_sum(pats)[:, None])
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
    total = _seq_sum(_seq_sum(cols))
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
        return _edge_sobel(band)
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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)
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

    return _channel_mean(f, srcs, one)


# --------------------------------------------------------------------------------------------
# VIFF (MEFB's "VIF")
# --------------------------------------------------------------------------------------------

#: Weights of the four scales of Han et al.'s VIFF (as in MEFB).
_VIFF_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15

#: Smallest side for which every scale of VIFF keeps at least one "valid" pixel.
_VIFF_MIN_SIZE = 41


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(g g', img, 'valid')`` for a symmetric separable kernel."""
    r = (g.size - 1) // 2
    out = ndimage.correlate1d(img, g, axis=0, mode="constant")
    out = ndimage.correlate1d(out, g, axis=1, mode="constant")
    return out[r : img.shape[0] - r, r : img.shape[1] - r]


def _viff_maps(
    ref: np.ndarray, dist: np.ndarray, noise_var: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per scale: VID map, VIND map and gain ``g`` of one source against the fused image."""
    out = []
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        g1 = gaussian_1d(n, n / 5.0)
        if scale > 1:
            ref = _filter_valid(ref, g1)[::2, ::2]
            dist = _filter_valid(dist, g1)[::2, ::2]
        mu1 = _filter_valid(ref, g1)
        mu2 = _filter_valid(dist, g1)
        s1 = _filter_valid(ref * ref, g1) - mu1 * mu1
        s2 = _filter_valid(dist * dist, g1) - mu2 * mu2
        s12 = _filter_valid(ref * dist, g1) - mu1 * mu2
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
    f, srcs = _inputs(fused, sources, data_range, need_sources=True)
    h, w = f.shape[:2]
    if min(h, w) < _VIFF_MIN_SIZE:
        raise InputError(
            f"fused is {w}x{h}: VIFF filters over 4 scales (windows 17, 9, 5, 3 pixels, "
            f"halving the size in between), which needs at least {_VIFF_MIN_SIZE}x"
            f"{_VIFF_MIN_SIZE} pixels"
        )
    return _channel_mean(f, srcs, _viff_band)


# --------------------------------------------------------------------------------------------
# Metric facts
# --------------------------------------------------------------------------------------------


def _info() -> dict:
    from ._table import MetricInfo

    mefb = "X. Zhang, Information Fusion 74 (2021) 111-131 (MEFB), "

    def entry(name: str, fn: Callable[..., float], better: bool, rng: tuple, desc: str,
              ref: str) -> MetricInfo:
        return MetricInfo(name=name, function=fn, higher_is_better=better, kind="fusion",
                          range=rng, description=desc, reference=ref)

    return {
        "ce": entry("ce", ce, False, (None, None),
                    "relative entropy (MEFB's cross entropy) of source and fused histograms",
                    mefb + "metricsCross_entropy.m; Bulanon et al., Biosyst. Eng. 103 (2009)"),
        "en": entry("en", en, True, (0.0, 8.0),
                    "Shannon entropy of the fused image, per R, G, B channel, averaged",
                    mefb + "metricsEntropy.m; van Aardt, J. Appl. Remote Sens. 2 (2008)"),
        "fmi": entry("fmi", fmi, True, (0.0, 1.0),
                     "feature mutual information of Sobel edge maps in 3x3 windows",
                     mefb + "metricsFMI.m; Haghighat et al., Comput. Electr. Eng. 37 (2011)"),
        "nmi": entry("nmi", nmi, True, (0.0, 2.0),
                     "normalised mutual information 2 MI / (H_s + H_f), summed over 2 sources",
                     mefb + "metricsNMI.m; Hossny et al., Electron. Lett. 44 (18) (2008)"),
        "psnr_mefb": entry("psnr_mefb", psnr_mefb, True, (None, None),
                           "MEFB's PSNR: 20 log10(255 / sqrt(sqrt(SSE) / N)), not the standard "
                           "PSNR (values near 57 dB)",
                           mefb + "metricsPsnr.m; Jagalingam & Hegde, Aquatic Procedia 4 (2015)"),
        "psnr_fusion": entry("psnr_fusion", psnr_fusion, True, (0.0, None),
                             "PSNR to the sources with the textbook MSE, averaged over them",
                             "P. Jagalingam, A. V. Hegde, Aquatic Procedia 4 (2015) 133-142"),
        "qncie": entry("qncie", qncie, True, (0.0, 1.0),
                       "nonlinear correlation information entropy of sources and fused image",
                       mefb + "metricsQncie.m; Wang, Shen & Jin, Image Fusion (2008) 469-492"),
        "te_mefb": entry("te_mefb", te_mefb, True, (None, None),
                         "MEFB's Tsallis mutual information (q = 1.85) with transposed "
                         "marginals, as MEFB's tsallis.m; values up to ~1e6",
                         mefb + "metricsTE.m; Cvejic et al., Electron. Lett. 42 (11) (2006)"),
        "te": entry("te", te, True, (None, None),
                    "Tsallis mutual information (q = 1.85) as published, summed over sources",
                    "N. Cvejic, C. N. Canagarajah, D. R. Bull, Electron. Lett. 42 (11) (2006) "
                    "626-627, eq. 3"),
        "ag": entry("ag", ag, True, (0.0, None),
                    "average gradient of the fused image (code values per pixel)",
                    mefb + "metricsAvg_gradient.m; Cui et al., Opt. Commun. 341 (2015)"),
        "ei": entry("ei", ei, True, (0.0, None),
                    "edge intensity: mean Sobel gradient magnitude of the fused image",
                    mefb + "metricsEdge_intensity.m; Rajalingam & Priya, IJESI (2018)"),
        "sd": entry("sd", sd, True, (0.0, 127.5),
                    "standard deviation of the fused image's code values, per channel",
                    mefb + "metricsSD.m"),
        "sf": entry("sf", sf, True, (0.0, None),
                    "spatial frequency of the fused image (row and column differences)",
                    mefb + "metricsSpatial_frequency.m; Eskicioglu & Fisher, IEEE TCOM (1995)"),
        "viff": entry("viff", viff, True, (0.0, None),
                      "Han et al.'s visual information fidelity for fusion (MEFB's VIF)",
                      mefb + "metricsVIF.m; Han et al., Information Fusion 14 (2) (2013)"),
    }


#: Facts about the metrics of this module, merged into :data:`expokit.metrics.METRICS`.
INFO = _info()
