"""Drago et al. (2003) adaptive logarithmic mapping."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..color import luminance
from ._common import (
    Encoding,
    apply_luminance,
    check_encoding,
    check_radiance,
    check_range,
    check_saturation,
    encode,
    log_average,
)


def tonemap_drago(
    radiance: np.ndarray,
    *,
    bias: float = 0.85,
    ld_max: float = 100.0,
    saturation: float = 1.0,
    encoding: Encoding = "srgb",
) -> np.ndarray:
    """Drago et al. (2003) adaptive logarithmic mapping.

    The world luminance is divided by its log-average (the world adaptation luminance), then
    mapped by eq. 4::

        Ld = ld_max / 100 / log10(Lmax + 1) * ln(Lw + 1) / ln(2 + 8 t(Lw / Lmax))
        t(x) = x ** (ln(bias) / ln(0.5))                      (Perlin's bias, eq. 3)

    i.e. a logarithm whose base varies from 2 (darkest) to 10 (brightest). ``Lw = Lmax``
    maps to ``ld_max / 100``: to exactly 1 with the default ``ld_max``. With a low bias and a
    very high range the curve overshoots 1 before ``Lmax`` (bias 0.7 once ``Lmax`` exceeds
    about 10^3 times the log-average, 0.85 beyond 10^6); the overshoot is clipped to white,
    which keeps the output monotonic (OpenCV rescales by the maximum instead). Colour is
    re-applied as ``(C / Lw) ** saturation * Ld``. Because ``Lw`` is normalised by its
    log-average, scaling the radiance does not change the result.
    The paper's own gamma step is replaced by the sRGB transfer function.

    Args:
        radiance: linear radiance ``>= 0``, float ``(H, W, 3)`` RGB, ``(H, W, 1)`` or
            ``(H, W)``; any global scale.
        bias: Perlin bias ``b`` in (0, 1], default 0.85 (the paper recommends 0.7-0.9); lower
            values give more contrast in the darks and brighter mid-tones, 1 a plain
            base-10 logarithm ``ln(Lw + 1) / ln 10``.
        ld_max: maximum luminance of the display in cd/m^2, in (0, 10000], default 100 (the
            paper's reference display: the brightest pixel maps to exactly 1). Larger values
            brighten the image and clip the brightest parts, smaller ones darken it.
        saturation: exponent of the colour ratios, in [0, 10], default 1 (keeps colours).
        encoding: ``"srgb"`` (default) or ``"linear"`` display light.

    Returns:
        Display-referred float32 image in [0, 1], same shape as the input (``(H, W)`` gives
        ``(H, W, 1)``).

    Raises:
        InputError: for bad radiance or an option out of range.

    References:
        F. Drago, K. Myszkowski, T. Annen, N. Chiba, "Adaptive logarithmic mapping for
        displaying high contrast scenes", Computer Graphics Forum 22(3), 2003: eq. 3 (bias
        function), eq. 4 (the mapping); world adaptation luminance as in section 3.

    >>> rad = np.array([[[0.01] * 3, [1.0] * 3], [[10.0] * 3, [100.0] * 3]], np.float32)
    >>> out = tonemap_drago(rad, encoding="linear")
    >>> round(float(out[1, 1, 0]), 6), bool(out[0, 0, 0] < out[0, 1, 0] < out[1, 0, 0])
    (1.0, True)
    """
    img = check_radiance(radiance)
    bias = check_range("bias", bias, 0.0, 1.0, "Perlin bias, 0.7-0.9 recommended", lo_open=True)
    ld_max = check_range("ld_max", ld_max, 0.0, 10000.0, "display maximum in cd/m^2, e.g. 100",
                         lo_open=True)
    saturation = check_saturation(saturation)
    encoding = check_encoding(encoding)
    lum = luminance(img)
    avg = log_average(lum)
    if avg <= 0.0:
        return np.zeros(img.shape, np.float32)
    lw = lum * np.float32(1.0 / avg)
    lmax = float(lw.max())
    # Denominator: ln(2 + 8 (Lw / Lmax) ** p), p = ln(b) / ln(0.5).
    p = math.log(bias) / math.log(0.5)
    den = lw * np.float32(1.0 / lmax)
    if p != 1.0:
        cv2.pow(den, p, dst=den)
    den *= np.float32(8.0)
    den += np.float32(2.0)
    cv2.log(den, dst=den)
    num = lw + np.float32(1.0)
    cv2.log(num, dst=num)
    num *= np.float32(ld_max * 0.01 / math.log10(lmax + 1.0))
    ld = np.divide(num, den, out=num)
    return encode(apply_luminance(img, lum, ld, saturation), encoding)
