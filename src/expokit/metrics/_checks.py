"""Input checks for the metrics: one place that turns arrays into float64 and says what is wrong.

Every metric computes in float64 on the values as given (code values for uint8/uint16 input,
the caller's units for float input). The rules, shared by all metrics:

* ``data_range`` is the span of values the images can take (the "peak" of PSNR, the ``L`` of
  SSIM's constants). It is **required for float input**: guessing it from the dtype or from the
  data gave wrong numbers in older libraries (a float image in [0, 1] scored as if it spanned
  [-1, 1]). For ``uint8`` and ``uint16`` input it defaults to the full code range, 255 and
  65535, as for a file read with :func:`expokit.io.read_image`.
* All images of one call share one size and one channel count; integer images share one dtype
  (a uint8 image and a float image are on different scales and are refused together).
* Values must lie in ``[0, data_range]`` up to ``RANGE_TOL * data_range`` (rounding of float32
  outputs); anything further out means ``data_range`` does not describe the images.
* NaN and infinite values are refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_image
from ..color import MATLAB_RGB2GRAY
from ..errors import InputError

#: Relative tolerance of the range check: values may stray ``RANGE_TOL * data_range`` outside
#: ``[0, data_range]`` (float32 rounding of a clipped result) before an image is refused.
RANGE_TOL = 1e-3

#: Default ``data_range`` of integer dtypes: their full code range.
INTEGER_RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}

#: MATLAB ``rgb2gray`` weights (Rec. 601 luma, as used by the MEF and MEFB MATLAB code).
RGB2GRAY = MATLAB_RGB2GRAY


def size_of(img: np.ndarray) -> str:
    """``"WxH"`` of an ``(H, W, ...)`` array, the way error messages state image sizes."""
    return f"{img.shape[1]}x{img.shape[0]}"


def resolve_data_range(img: np.ndarray, data_range: float | None, *, name: str = "fused") -> float:
    """The ``data_range`` to use for ``img``: the given one (checked) or the integer default.

    Args:
        img: the image (already checked by :func:`expokit._checks.check_image`).
        data_range: span of the values, or None for the dtype's full code range (uint8: 255,
            uint16: 65535; not allowed for float images).
        name: how to call the image in an error message.

    Raises:
        InputError: if ``data_range`` is None for a float image, or not a finite number > 0.
    """
    if data_range is None:
        if img.dtype in INTEGER_RANGES:
            return INTEGER_RANGES[img.dtype]
        raise InputError(
            f"data_range is required for float images ({name} is {img.dtype}): pass "
            "data_range=1.0 for display-referred images in [0, 1] (or 255.0 for float "
            "images holding 8-bit code values); it is never guessed from the dtype"
        )
    try:
        dr = float(data_range)
    except (TypeError, ValueError):
        raise InputError(f"data_range must be a number > 0, got {data_range!r}") from None
    if not np.isfinite(dr) or dr <= 0:
        raise InputError(f"data_range must be a finite number > 0, got {data_range!r}")
    return dr


def check_range(img: np.ndarray, data_range: float, *, name: str) -> None:
    """Refuse an image whose values leave ``[0, data_range]`` by more than the tolerance."""
    if img.dtype in INTEGER_RANGES and data_range >= INTEGER_RANGES[img.dtype]:
        return  # integer code values cannot leave [0, full range]
    tol = RANGE_TOL * data_range
    lo, hi = float(img.min()), float(img.max())
    if lo < -tol or hi > data_range + tol:
        hint = ""
        if hi > data_range + tol and hi <= 255.0 + tol and data_range <= 1.0:
            hint = " (it looks like 8-bit code values: divide by 255 or pass data_range=255)"
        raise InputError(
            f"{name} has values in [{lo:.6g}, {hi:.6g}] but data_range={data_range:g} means "
            f"[0, {data_range:g}]{hint}; pass the data_range that matches the images, or clip "
            "them to it"
        )


def as_float64(
    img: object, *, name: str = "fused", data_range: float | None = None
) -> tuple[np.ndarray, float]:
    """Check one metric input and return it as an ``(H, W, C)`` float64 copy and its range.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array, C in {1, 3}; uint8, uint16, float32 or float64.
        name: how to call the image in an error message.
        data_range: span of the values; None means the integer default (255 / 65535) and is an
            error for float images.

    Returns:
        ``(image, data_range)``: a new float64 array (never a view of the input) and the
        resolved range.

    Raises:
        InputError: for a non-image, NaN/Inf, a missing or invalid ``data_range`` or values out
            of range.
    """
    arr = check_image(img, name=name)
    dr = resolve_data_range(arr, data_range, name=name)
    check_range(arr, dr, name=name)
    return arr.astype(np.float64), dr


def as_float64_unranged(
    img: object, *, name: str = "fused", data_range: float | None = None
) -> np.ndarray:
    """Like :func:`as_float64` for metrics that need no range (MSE, CC).

    The values are range-checked only when ``data_range`` is given or the image is integer.
    """
    arr = check_image(img, name=name)
    if data_range is not None or arr.dtype.kind == "u":
        check_range(arr, resolve_data_range(arr, data_range, name=name), name=name)
    return arr.astype(np.float64)


def check_same_geometry(
    img: np.ndarray, ref: np.ndarray, *, name: str, ref_name: str
) -> None:
    """Refuse two images of different size or channel count, naming both sizes."""
    if img.shape[:2] != ref.shape[:2]:
        raise InputError(
            f"{name} is {size_of(img)} but {ref_name} is {size_of(ref)}: metrics compare "
            "images pixel by pixel, so both must have one size (crop or resize one of them)"
        )
    if img.shape[2] != ref.shape[2]:
        raise InputError(
            f"{name} has {img.shape[2]} channel(s) but {ref_name} has {ref.shape[2]}: compare "
            "colour with colour, or convert both to grey first"
        )


def check_same_scale(dtype: np.dtype, ref_dtype: np.dtype, *, name: str, ref_name: str) -> None:
    """Refuse integer images of different dtypes and integer/float mixes (different scales)."""
    if (dtype.kind == "u" or ref_dtype.kind == "u") and dtype != ref_dtype:
        raise InputError(
            f"{name} is {dtype} but {ref_name} is {ref_dtype}: their values are on "
            "different scales; convert both to float in [0, 1] "
            "(expokit._checks.to_float32) and pass data_range=1.0"
        )


def _pair(
    fused: object, reference: object, name: str, ref_name: str
) -> tuple[np.ndarray, np.ndarray]:
    f = check_image(fused, name=name)
    r = check_image(reference, name=ref_name)
    check_same_geometry(f, r, name=name, ref_name=ref_name)
    check_same_scale(f.dtype, r.dtype, name=name, ref_name=ref_name)
    return f, r


def check_pair(
    fused: object,
    reference: object,
    *,
    data_range: float | None,
    name: str = "fused",
    ref_name: str = "reference",
) -> tuple[np.ndarray, np.ndarray, float]:
    """Check a (fused, reference) pair and return both as float64 plus the resolved range.

    The range defaults from the dtype of ``fused`` (both must share it when integer); both
    images are range-checked against it.

    Raises:
        InputError: naming the argument at fault (see the module docstring for the rules).
    """
    f, r = _pair(fused, reference, name, ref_name)
    dr = resolve_data_range(f, data_range, name=name)
    check_range(f, dr, name=name)
    check_range(r, dr, name=ref_name)
    return f.astype(np.float64), r.astype(np.float64), dr


def check_pair_unranged(
    fused: object,
    reference: object,
    *,
    data_range: float | None,
    name: str = "fused",
    ref_name: str = "reference",
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`check_pair` for metrics that need no range (MSE, CC).

    The values are range-checked only when ``data_range`` is given or the images are integer.
    """
    f, r = _pair(fused, reference, name, ref_name)
    if data_range is not None or f.dtype.kind == "u":
        dr = resolve_data_range(f, data_range, name=name)
        check_range(f, dr, name=name)
        check_range(r, dr, name=ref_name)
    return f.astype(np.float64), r.astype(np.float64)


def check_sources(
    sources: object,
    fused: np.ndarray,
    *,
    data_range: float | None,
    metric: str,
    fused_dtype: np.dtype,
    min_count: int = 1,
) -> list[np.ndarray]:
    """Check the source exposures of a fusion metric against the (checked) fused image.

    Args:
        sources: sequence of images (or an ``(N, H, W, C)`` array); None is an error.
        fused: the fused image as returned by :func:`as_float64`.
        data_range: the range to check every source against (None: integer sources are
            checked against their full code range, float sources are not checked).
        metric: the metric's name, for the error message.
        fused_dtype: dtype of the original fused image, to refuse integer/float mixes.
        min_count: fewest sources accepted.

    Returns:
        The sources as float64 ``(H, W, C)`` arrays.

    Raises:
        InputError: if sources are missing, too few, or do not match the fused image.
    """
    if sources is None:
        raise InputError(
            f"{metric} is a fusion metric and needs the source exposures: pass "
            "sources=[...] (the images that were fused)"
        )
    if isinstance(sources, np.ndarray) and sources.ndim == 4:
        sources = list(sources)
    if not isinstance(sources, Sequence) or isinstance(sources, (str, bytes)):
        what = type(sources).__name__
        if isinstance(sources, np.ndarray):
            what = f"an array of shape {sources.shape}"
        raise InputError(
            f"sources must be a list of images (or an (N, H, W, C) array), got {what}"
        )
    if len(sources) < min_count:
        raise InputError(
            f"{metric} needs at least {min_count} source image(s), got {len(sources)}"
        )
    out = []
    for i, src in enumerate(sources):
        label = f"source {i + 1}"
        s = check_image(src, name=label)
        check_same_geometry(s, fused, name=label, ref_name="fused")
        check_same_scale(s.dtype, fused_dtype, name=label, ref_name="fused")
        if data_range is not None or s.dtype.kind == "u":
            check_range(s, resolve_data_range(s, data_range, name=label), name=label)
        out.append(s.astype(np.float64))
    return out


def gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian of ``size`` taps; its outer product is MATLAB's
    ``fspecial('gaussian', size, sigma)``.

    >>> round(float(gaussian_1d(11, 1.5)[5]), 6)
    0.266012
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: halves away from zero (NumPy rounds them to even); exact for doubles.

    >>> matlab_round(np.array([0.5, 1.5, -2.5, 2.4])).tolist()
    [1.0, 2.0, -3.0, 2.0]
    """
    t = np.trunc(x)
    frac = x - t  # exact in IEEE arithmetic
    return t + np.where(frac >= 0.5, 1.0, 0.0) - np.where(frac <= -0.5, 1.0, 0.0)


def rgb2gray_u8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of 8-bit colour code values ``(H, W, 3)``, as on uint8 input.

    The weighted sum is rounded half away from zero and saturated to 0..255 (what MATLAB
    returns for a uint8 image); the result is float64 ``(H, W)``.
    """
    r, g, b = RGB2GRAY
    x = img.astype(np.float64, copy=False)
    return np.clip(matlab_round(r * x[..., 0] + g * x[..., 1] + b * x[..., 2]), 0.0, 255.0)


def to_gray(img: np.ndarray) -> np.ndarray:
    """``(H, W, 1)`` grey of a float64 ``(H, W, C)`` image with MATLAB ``rgb2gray`` weights.

    Unlike MATLAB on uint8 input, the result is not rounded to integers.
    """
    if img.shape[2] == 1:
        return img
    r, g, b = RGB2GRAY
    return (r * img[..., 0] + g * img[..., 1] + b * img[..., 2])[..., None]
