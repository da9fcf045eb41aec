"""Colour helpers: sRGB transfer function and luminance.

Images are ``(H, W, 3)`` RGB. Display-referred values are in [0, 1]; linear values are
relative radiance >= 0.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Rec. 709 / sRGB luminance weights (linear RGB -> Y).
REC709_LUMA = (0.2126, 0.7152, 0.0722)

#: Rec. 601 (BT.601) luma weights, the Y row of JPEG/JFIF YCbCr (display-referred RGB -> Y').
REC601_LUMA = (0.299, 0.587, 0.114)

#: MATLAB ``rgb2gray`` weights: BT.601 luma as MATLAB computes it (first row of the inverse of
#: its YIQ -> RGB matrix); the MEF and MEFB MATLAB code, and so their metrics, use these.
MATLAB_RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def srgb_to_linear(img: np.ndarray) -> np.ndarray:
    """Decode sRGB code values in [0, 1] to linear light (IEC 61966-2-1).

    >>> round(float(srgb_to_linear(np.array([0.5]))[0]), 4)
    0.214
    """
    x = np.asarray(img, dtype=np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(img: np.ndarray) -> np.ndarray:
    """Encode linear light to sRGB code values; the input is clipped to [0, 1] first.

    >>> round(float(linear_to_srgb(srgb_to_linear(np.array([0.3])))[0]), 5)
    0.3
    """
    src = np.asarray(img, dtype=np.float32)
    x = np.empty(src.shape, np.float32)  # C-contiguous, also for 0-d input
    np.clip(src, 0.0, 1.0, out=x)
    return srgb_encode_inplace(x)


def srgb_encode_inplace(x: np.ndarray) -> np.ndarray:
    """sRGB transfer function on a contiguous float32 array already in [0, 1], in place.

    One multi-threaded ``cv2.pow`` with the linear toe patched in afterwards: about five
    times faster on large images than evaluating both branches with ``np.where``.
    """
    flat = x.reshape(-1)
    toe = flat <= np.float32(0.0031308)
    low = flat[toe] * np.float32(12.92)
    cv2.pow(flat, 1.0 / 2.4, dst=flat)
    flat *= np.float32(1.055)
    flat -= np.float32(0.055)
    flat[toe] = low
    return x


def luminance(img: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance ``(H, W)`` of a linear RGB image ``(H, W, 3)``; greyscale passes.

    >>> round(float(luminance(np.ones((1, 1, 3), np.float32))[0, 0]), 5)
    1.0
    """
    x = np.asarray(img, dtype=np.float32)
    if x.ndim == 2:
        return x
    if x.shape[-1] == 1:
        return x[..., 0]
    if x.ndim == 3:  # one multi-threaded pass, no per-channel temporaries
        return cv2.transform(x, np.array([REC709_LUMA], np.float32))
    r, g, b = REC709_LUMA
    return (r * x[..., 0] + g * x[..., 1] + b * x[..., 2]).astype(np.float32)


#: Full-range BT.601 (JPEG/JFIF) RGB -> YCbCr matrix for [0, 1] data; Cb/Cr are offset by 0.5.
_YCBCR = np.array(
    [REC601_LUMA,
     [-0.168735891647856, -0.331264108352144, 0.5],
     [0.5, -0.418687589158345, -0.081312410841655]],
    np.float64,
)
_YCBCR_INV = np.linalg.inv(_YCBCR)


def rgb_to_ycbcr(img: np.ndarray) -> np.ndarray:
    """Full-range BT.601 (JPEG) YCbCr of a display-referred RGB image in [0, 1].

    ``Y = 0.299 R + 0.587 G + 0.114 B``, ``Cb = 0.5 + (B - Y) / 1.772``,
    ``Cr = 0.5 + (R - Y) / 1.402``: grey pixels have ``Cb = Cr = 0.5``. The Y weights are
    MATLAB ``rgb2gray``'s (up to its 4-digit rounding), so MEF-SSIM of the Y channel is the
    metric's own grey image.

    Args:
        img: ``(..., 3)`` RGB, float in [0, 1] (uint8/uint16 are scaled to [0, 1] first).

    Returns:
        float32 ``(..., 3)`` array of Y, Cb, Cr, each in [0, 1] for inputs in [0, 1].

    Raises:
        InputError: if the last axis does not have 3 channels.

    >>> ycc = rgb_to_ycbcr(np.array([[[1.0, 0.0, 0.0]]]))
    >>> [round(float(v), 4) for v in ycc[0, 0]]
    [0.299, 0.3313, 1.0]
    >>> [round(float(v), 4) for v in rgb_to_ycbcr(np.full((1, 1, 3), 0.25))[0, 0]]
    [0.25, 0.5, 0.5]
    """
    x = _rgb_float(img, "img")
    out = x @ _YCBCR.T.astype(np.float32)
    out[..., 1:] += np.float32(0.5)
    return out


def ycbcr_to_rgb(img: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr` (full-range BT.601); the result is not clipped.

    Args:
        img: ``(..., 3)`` float Y, Cb, Cr (Cb/Cr centred at 0.5).

    Returns:
        float32 ``(..., 3)`` RGB; values may leave [0, 1] for YCbCr triples outside the RGB cube.

    Raises:
        InputError: if the last axis does not have 3 channels.

    >>> rgb = ycbcr_to_rgb(np.array([[[0.299, 0.5 - 0.299 / 1.772, 1.0]]]))
    >>> [round(float(v), 4) for v in rgb[0, 0]]
    [1.0, 0.0, 0.0]
    >>> x = np.random.default_rng(0).random((4, 5, 3))
    >>> bool(np.abs(ycbcr_to_rgb(rgb_to_ycbcr(x)) - x).max() < 1e-5)
    True
    """
    x = _rgb_float(img, "img").copy()
    x[..., 1:] -= np.float32(0.5)
    return x @ _YCBCR_INV.T.astype(np.float32)


def _rgb_float(img: np.ndarray, name: str) -> np.ndarray:
    """float32 view/copy of a ``(..., 3)`` array; integer code values scaled to [0, 1]."""
    from .._checks import to_float32
    from ..errors import InputError

    x = np.asarray(img)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise InputError(
            f"{name} has shape {x.shape}, expected (..., 3) RGB/YCbCr; greyscale images have no "
            "chroma to convert"
        )
    if x.dtype in (np.uint8, np.uint16):
        return to_float32(x)
    return x.astype(np.float32)
