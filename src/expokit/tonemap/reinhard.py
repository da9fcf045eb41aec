"""Reinhard et al. (2002) photographic tone reproduction: the global operator and the local
dodging-and-burning operator.

Both start from the key-scaled luminance ``L = key / Lw_avg * Lw`` (eq. 1-2), where
``Lw_avg`` is the log-average (geometric mean) luminance, so multiplying the radiance by any
constant leaves the result unchanged.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..color import luminance
from ._common import (
    Encoding,
    apply_luminance,
    check_encoding,
    check_int,
    check_positive,
    check_radiance,
    check_range,
    check_saturation,
    encode,
    log_average,
)

#: Centre and surround profile widths of the local operator (paper, section 3): alpha_1 =
#: 1 / (2 sqrt 2) and alpha_2 = 1.6 alpha_1; scales grow by 1.6 from s = 1 pixel.
ALPHA_CENTER = 1.0 / (2.0 * math.sqrt(2.0))
SCALE_RATIO = 1.6


def _checked(radiance: object, key: object, saturation: object, encoding: object
             ) -> tuple[np.ndarray, float, float, Encoding]:
    """The radiance and the options both operators take, checked: ``(img, key, saturation,
    encoding)``."""
    img = check_radiance(radiance)
    key = check_positive("key", key, "log-average luminance maps to it, e.g. 0.18")
    return img, key, check_saturation(saturation), check_encoding(encoding)


def _key_scaled(img: np.ndarray, key: float) -> tuple[np.ndarray, np.ndarray] | None:
    """World luminance and key-scaled luminance (eq. 1-2); None for an all-black image."""
    lum = luminance(img)
    avg = log_average(lum)
    if avg <= 0.0:
        return None
    return lum, lum * np.float32(key / avg)


def tonemap_reinhard(
    radiance: np.ndarray,
    *,
    key: float = 0.18,
    white: float | None = None,
    saturation: float = 1.0,
    encoding: Encoding = "srgb",
) -> np.ndarray:
    """Reinhard et al. (2002) global photographic operator with burn-out.

    The luminance is scaled so that its log-average maps to ``key`` (eq. 1-2), then
    compressed by ``Ld = L (1 + L / white**2) / (1 + L)`` (eq. 4), which maps ``L = white``
    to exactly 1 and tends to eq. 3 (``L / (1 + L)``) as ``white`` grows. Colour is
    re-applied as ``(C / Lw) ** saturation * Ld``.

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)`` RGB, ``(H, W, 1)`` or
            ``(H, W)``; any global scale (the operator is scale invariant).
        key: the display value the log-average luminance maps to before compression ("middle
            grey"); > 0, default 0.18; 0.09 gives a low-key (dark) rendition, 0.36-0.72 a
            high-key one.
        white: the smallest *key-scaled* luminance that becomes pure white (eq. 4's
            ``L_white``), > 0; ``None`` (default) uses the largest key-scaled luminance of the
            image, so nothing burns out; ``float("inf")`` gives eq. 3 (no burn-out term).
            Values below the maximum burn out the brightest parts (clipped to 1).
        saturation: exponent of the colour ratios ``C / Lw``, >= 0; 1 (default) keeps the
            input's chromaticity, < 1 desaturates (0: grey), > 1 saturates.
        encoding: ``"srgb"`` (default) returns sRGB-encoded code values, ``"linear"`` the
            linear display light before the transfer function.

    Returns:
        Display-referred float32 image in [0, 1], same shape as the input (``(H, W)`` input
        gives ``(H, W, 1)``).

    Raises:
        InputError: for a non-image, integer data, NaN/Inf, or an option
            out of range.

    References:
        E. Reinhard, M. Stark, P. Shirley, J. Ferwerda, "Photographic tone reproduction for
        digital images", ACM Trans. Graphics 21(3), 2002: eq. 1 (log-average), eq. 2 (key
        scaling), eq. 3 and eq. 4 (compression with burn-out).

    >>> rad = np.full((2, 2, 3), 5.0, np.float32)
    >>> out = tonemap_reinhard(rad, white=float("inf"), encoding="linear")
    >>> round(float(out[0, 0, 0]), 5)  # key / (1 + key) = 0.18 / 1.18
    0.15254
    """
    img, key, saturation, encoding = _checked(radiance, key, saturation, encoding)
    if white is not None:
        white = check_positive("white", white, "key-scaled luminance that maps to 1; None "
                               "for the image maximum", allow_inf=True)
    scaled = _key_scaled(img, key)
    if scaled is None:
        return np.zeros(img.shape, np.float32)
    lum, ls = scaled
    lw = float(ls.max()) if white is None else white
    denom = ls + np.float32(1.0)
    if math.isinf(lw):
        ld = np.divide(ls, denom, out=denom)
    else:
        num = ls * np.float32(1.0 / (lw * lw))
        num += np.float32(1.0)
        num *= ls
        ld = np.divide(num, denom, out=num)
    return encode(apply_luminance(img, lum, ld, saturation), encoding)


def _gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    """Exact Gaussian blur with reflecting borders (separable, SIMD ``cv2.GaussianBlur``:
    about 0.08 s for sigma = 10.7 px on 12 MP). Downsampled approximations were tried and
    dropped: near the 10^4:1 edges of an HDR image their tails are off by 5-10 % (relative),
    which flips the scale selection of eq. 8 on about 2 % of the pixels."""
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def tonemap_reinhard_local(
    radiance: np.ndarray,
    *,
    key: float = 0.18,
    phi: float = 8.0,
    epsilon: float = 0.05,
    num_scales: int = 8,
    saturation: float = 1.0,
    encoding: Encoding = "srgb",
) -> np.ndarray:
    """Reinhard et al. (2002) local operator (automatic dodging and burning).

    On the key-scaled luminance ``L`` (eq. 1-2), centre ``V1`` and surround ``V2`` Gaussian
    averages are computed at scales ``s = 1, 1.6, 1.6**2, ...`` pixels (eq. 5-6, profile
    widths ``alpha_1 s`` and ``1.6 alpha_1 s``, so the surround at ``s`` is the centre at
    ``1.6 s``). Each pixel takes the largest scale below which the normalised
    centre-surround difference ``V = (V1 - V2) / (2**phi key / s**2 + V1)`` (eq. 7) stays
    under ``epsilon`` (eq. 8), and is compressed by its local average there:
    ``Ld = L / (1 + V1(s_max))`` (eq. 9). On a uniform image this equals the global
    ``L / (1 + L)``. The Gaussians are exact, separable ``cv2.GaussianBlur`` passes (no FFT).

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)``, ``(H, W, 1)`` or ``(H, W)``.
        key: display value of the log-average luminance, > 0, default 0.18 (see
            :func:`tonemap_reinhard`).
        phi: sharpening parameter of eq. 7, > 0, default 8; larger values let the scale grow
            over stronger edges (more local contrast, more risk of halos).
        epsilon: threshold of eq. 8 on ``|V|``, in (0, 1], default 0.05; smaller values stop
            at smaller scales (less local adaptation, flatter result).
        num_scales: number of scales, in [1, 12], default 8 (the largest centre profile is
            ``1.6**(num_scales - 1)`` px, 27 px for 8); scales are in pixels, so the look
            depends on the image size, as in the paper.
        saturation: exponent of the colour ratios, >= 0, default 1 (keeps colours).
        encoding: ``"srgb"`` (default) or ``"linear"`` display light.

    Returns:
        Display-referred float32 image in [0, 1], same shape as the input (``(H, W)`` gives
        ``(H, W, 1)``); pixels much brighter than their surround are clipped to 1.

    Raises:
        InputError: for bad radiance or an option out of range.

    References:
        E. Reinhard, M. Stark, P. Shirley, J. Ferwerda, "Photographic tone reproduction for
        digital images", ACM Trans. Graphics 21(3), 2002: eq. 1-2 (key scaling), eq. 5-6
        (Gaussian centre and surround), eq. 7 (centre-surround activity), eq. 8 (scale
        selection), eq. 9 (local operator).

    >>> rad = np.full((8, 8, 1), 3.0, np.float32)
    >>> out = tonemap_reinhard_local(rad, encoding="linear")
    >>> round(float(out[4, 4, 0]), 5)  # uniform image: key / (1 + key)
    0.15254
    """
    img, key, saturation, encoding = _checked(radiance, key, saturation, encoding)
    phi = check_range("phi", phi, 0.0, 64.0, "sharpening of eq. 7, e.g. 8", lo_open=True)
    epsilon = check_range("epsilon", epsilon, 0.0, 1.0, "scale-selection threshold, e.g. "
                          "0.05", lo_open=True)
    num_scales = check_int("num_scales", num_scales, 1, 12, "number of 1.6x scales, e.g. 8")
    scaled = _key_scaled(img, key)
    if scaled is None:
        return np.zeros(img.shape, np.float32)
    lum, ls = scaled

    def centre(i: int) -> np.ndarray:
        # Profile exp(-r^2 / (alpha s)^2) is a Gaussian of sigma = alpha s / sqrt(2).
        return _gaussian(ls, ALPHA_CENTER * SCALE_RATIO**i / math.sqrt(2.0))

    eps = np.float32(epsilon)
    v1 = centre(0)
    chosen = v1.copy()  # V1 at the selected scale; the smallest scale if none qualifies
    active = np.ones(ls.shape, bool)
    for i in range(num_scales):
        v2 = centre(i + 1)  # surround at s_i == centre at s_(i+1)
        s = SCALE_RATIO**i
        act = v1 - v2
        den = v1 + np.float32(2.0**phi * key / (s * s))
        np.divide(act, den, out=act)
        np.abs(act, out=act)
        # A pixel keeps growing its scale while every scale so far had |V| < epsilon.
        np.logical_and(active, act < eps, out=active)
        np.copyto(chosen, v1, where=active)
        if not active.any():
            break
        v1 = v2
    chosen += np.float32(1.0)
    ld = np.divide(ls, chosen, out=chosen)
    return encode(apply_luminance(img, lum, ld, saturation), encoding)
