"""MATLAB emulation shared by the metrics that reproduce MATLAB scores (MEF-SSIM, MEFB, NIQE).

MATLAB's ``round``, ``fspecial('gaussian')``, ``rgb2gray``, ``filter2``/``conv2`` borders,
``freqspace``, ``blkproc``, ``edge`` and the loop order of a few sums, in NumPy/SciPy. Each is
written once here; the metric modules say which MATLAB call they stand for.

Filters work on ``(..., H, W)`` arrays over the last two axes (one plane or a stack of planes)
and pad with zeros, as ``filter2``/``conv2`` do, unless named otherwise.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from ..color import MATLAB_RGB2GRAY

#: scipy.fft workers for the frequency-domain filters: every core.
TRANSFORM_WORKERS = -1

#: MATLAB ``fspecial('sobel')``: the vertical-gradient Sobel kernel (its transpose is the
#: horizontal one up to sign).
SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: halves away from zero (NumPy rounds them to even); exact for doubles.

    >>> matlab_round(np.array([0.5, 1.5, -2.5, 2.4])).tolist()
    [1.0, 2.0, -3.0, 2.0]
    """
    t = np.trunc(x)
    frac = x - t  # exact in IEEE arithmetic
    return t + np.where(frac >= 0.5, 1.0, 0.0) - np.where(frac <= -0.5, 1.0, 0.0)


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian of ``size`` taps; its outer product is MATLAB's
    ``fspecial('gaussian', size, sigma)``.

    >>> round(float(gaussian_1d(11, 1.5)[5]), 6)
    0.266012
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def rgb2gray_u8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of 8-bit colour code values ``(H, W, 3)``, as on uint8 input.

    The weighted sum is rounded half away from zero and saturated to 0..255 (what MATLAB
    returns for a uint8 image); the result is float64 ``(H, W)``.
    """
    r, g, b = MATLAB_RGB2GRAY
    x = img.astype(np.float64, copy=False)
    return np.clip(matlab_round(r * x[..., 0] + g * x[..., 1] + b * x[..., 2]), 0.0, 255.0)


def to_gray(img: np.ndarray) -> np.ndarray:
    """``(H, W, 1)`` grey of a float64 ``(H, W, C)`` image with MATLAB ``rgb2gray`` weights.

    Unlike MATLAB on uint8 input, the result is not rounded to integers.
    """
    if img.shape[2] == 1:
        return img
    r, g, b = MATLAB_RGB2GRAY
    return (r * img[..., 0] + g * img[..., 1] + b * img[..., 2])[..., None]


def filter2_sep(
    x: np.ndarray,
    g: np.ndarray,
    mode: Literal["same", "valid"] = "same",
    *,
    columns_first: bool = False,
) -> np.ndarray:
    """MATLAB ``filter2(g g', x, mode)`` for a symmetric separable kernel, zero padding.

    The 1-D pass along each row (last axis) runs first, or the one down each column with
    ``columns_first=True``. The order changes only the last bits, but a metric with hard
    thresholds on small local variances (VIFF) can flip a pixel on them, so each metric keeps
    the order its MATLAB validation was run with.
    """
    first, second = (-2, -1) if columns_first else (-1, -2)
    out = ndimage.correlate1d(x, g, axis=first, mode="constant", cval=0.0)
    out = ndimage.correlate1d(out, g, axis=second, mode="constant", cval=0.0)
    if mode == "valid":
        r = (g.size - 1) // 2
        out = out[..., r : out.shape[-2] - r, r : out.shape[-1] - r]
    return out


def filter2_3x3(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(kernel, x, 'same')`` (correlation, zero padding) for a 3x3 kernel."""
    k = kernel.reshape((1,) * (x.ndim - 2) + kernel.shape)
    return ndimage.correlate(x, k, mode="constant", cval=0.0)


def normalize1(x: np.ndarray) -> np.ndarray:
    """Liu's ``normalize1`` per plane (last two axes): stretch to [0, 255], MATLAB-rounded.

    ``round((x - min) / (max - min) * 255)``. A constant plane has nothing to stretch:
    MATLAB leaves an all-zero plane as it is and divides 0 by 0 for any other constant
    (NaN in MEFB's edge metrics, an error in its histogram metrics). Here every constant
    plane becomes zeros, what the formula gives for the all-zero plane; this keeps the
    function's invariance to adding a constant (``normalize1(x + c) == normalize1(x)``).

    >>> normalize1(np.array([[3.0, 3.0], [3.0, 3.0]])).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    >>> normalize1(np.array([[1.0, 2.0], [3.0, 5.0]])).tolist()
    [[0.0, 64.0], [128.0, 255.0]]
    """
    d = np.asarray(x, dtype=np.float64)
    hi = d.max(axis=(-2, -1), keepdims=True)
    lo = d.min(axis=(-2, -1), keepdims=True)
    span = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        out = matlab_round((d - lo) / span * 255.0)
    return np.where(span == 0, 0.0, out)


def freqspace(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``[u, v] = freqspace([rows, cols], 'meshgrid')``."""
    fu = (np.arange(cols) - cols // 2) * (2.0 / cols)
    fv = (np.arange(rows) - rows // 2) * (2.0 / rows)
    return np.meshgrid(fu, fv)


def filter_centered(planes: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    """``ifft2(ifftshift(fftshift(fft2(x)) .* H))`` for a centred transfer function ``H``.

    The result is complex (``H`` is not exactly Hermitian for even sizes), as in MATLAB.
    """
    spec = sfft.fft2(planes, axes=(-2, -1), workers=TRANSFORM_WORKERS)
    return sfft.ifft2(spec * np.fft.ifftshift(transfer), axes=(-2, -1), workers=TRANSFORM_WORKERS)


def mean_valid(values: np.ndarray) -> float:
    """Mean over non-NaN entries (MATLAB ``mean2(A(~isnan(A)))``)."""
    keep = ~np.isnan(values)
    return float(values[keep].mean()) if keep.any() else float("nan")


def blkproc(x: np.ndarray, size: int, fn: Literal["sum", "mean"]) -> np.ndarray:
    """MATLAB ``blkproc(x, [size size], fun)`` of ``(P, H, W)`` planes, partial blocks
    zero-padded."""
    p, rows, cols = x.shape
    hb, wb = -(-rows // size), -(-cols // size)
    pad = np.zeros((p, hb * size, wb * size), dtype=x.dtype)
    pad[:, :rows, :cols] = x
    blocks = pad.reshape(p, hb, size, wb, size)
    out = blocks.sum(axis=(2, 4))
    return out / (size * size) if fn == "mean" else out


def edge_sobel(band: np.ndarray) -> np.ndarray:
    """MATLAB ``edge(I)`` (Sobel, automatic threshold, thinning) of a 2-D float image.

    Gradients are the Sobel kernels / 8 with replicated borders; ``b = gx^2 + gy^2``; the
    threshold is ``4 * mean(b)``; a pixel is an edge when ``b`` exceeds it and is a local
    maximum across the dominant gradient direction (``b(r, c-1) <= b < ...`` rules of
    MATLAB's thinning, edges of the image counting as lower).
    """
    op = SOBEL / 8.0
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


def seq_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis, left to right (the order of MATLAB's loops)."""
    s = a[..., 0].copy()
    for i in range(1, a.shape[-1]):
        s = s + a[..., i]
    return s
