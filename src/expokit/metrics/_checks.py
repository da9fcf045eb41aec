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

from collections.abc import Callable, Sequence
from typing import Literal, cast

import numpy as np

from .._checks import check_image
from ..errors import InputError
from ._matlab import matlab_round, rgb2gray_u8

#: Relative tolerance of the range check: values may stray ``RANGE_TOL * data_range`` outside
#: ``[0, data_range]`` (float32 rounding of a clipped result) before an image is refused.
RANGE_TOL = 1e-3

#: Default ``data_range`` of integer dtypes: their full code range.
INTEGER_RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}

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
    check_same_size(img, ref, name=name, ref_name=ref_name)
    if img.shape[2] != ref.shape[2]:
        raise InputError(
            f"{name} has {img.shape[2]} channel(s) but {ref_name} has {ref.shape[2]}: compare "
            "colour with colour, or convert both to grey first"
        )


def check_same_size(img: np.ndarray, ref: np.ndarray, *, name: str, ref_name: str) -> None:
    """Refuse two images of different size, naming both sizes."""
    if img.shape[:2] != ref.shape[:2]:
        raise InputError(
            f"{name} is {size_of(img)} but {ref_name} is {size_of(ref)}: metrics compare "
            "images pixel by pixel, so both must have one size (crop or resize one of them)"
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
    fused: object,
    reference: object,
    *,
    data_range: float | None,
    ranged: bool,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Both images (``fused`` and ``reference``) checked and as float64, and the range (None
    when not needed and not given: ``ranged=False`` with float images and no ``data_range``)."""
    name, ref_name = "fused", "reference"
    f = check_image(fused, name=name)
    r = check_image(reference, name=ref_name)
    check_same_geometry(f, r, name=name, ref_name=ref_name)
    check_same_scale(f.dtype, r.dtype, name=name, ref_name=ref_name)
    dr = None
    if ranged or data_range is not None or f.dtype.kind == "u":
        dr = resolve_data_range(f, data_range, name=name)
        check_range(f, dr, name=name)
        check_range(r, dr, name=ref_name)
    return f.astype(np.float64), r.astype(np.float64), dr


def check_pair(
    fused: object, reference: object, *, data_range: float | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Check a (fused, reference) pair and return both as float64 plus the resolved range.

    The range defaults from the dtype of ``fused`` (both must share it when integer); both
    images are range-checked against it.

    Raises:
        InputError: naming the argument at fault (see the module docstring for the rules).
    """
    f, r, dr = _pair(fused, reference, data_range=data_range, ranged=True)
    return f, r, cast(float, dr)  # ranged=True always resolves it


def check_pair_unranged(
    fused: object, reference: object, *, data_range: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`check_pair` for metrics that need no range (MSE, CC).

    The values are range-checked only when ``data_range`` is given or the images are integer.
    """
    f, r, _ = _pair(fused, reference, data_range=data_range, ranged=False)
    return f, r


def source_list(
    sources: object, *, metric: str, min_count: int = 1, exact: int | None = None
) -> list[object]:
    """The source exposures of a fusion metric as a list (not yet checked one by one).

    Args:
        sources: sequence of images or an ``(N, H, W, C)`` array; None is an error.
        metric: the metric's name, for the error message.
        min_count: fewest sources accepted.
        exact: the number of sources the metric is defined for, if fixed (MEFB's pair
            metrics: 2).

    Raises:
        InputError: if sources are missing, not a sequence, or too few / not ``exact``.
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
    if exact is not None and len(sources) != exact:
        raise InputError(
            f"{metric} is defined for exactly {exact} source images (MEFB's under- and "
            f"over-exposed pair), got {len(sources)}; pick the exposures that were fused"
        )
    if len(sources) < min_count:
        raise InputError(
            f"{metric} needs at least {min_count} source image(s), got {len(sources)}: pass "
            "every exposure that was fused"
        )
    return list(sources)


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
    sources = source_list(sources, metric=metric, min_count=min_count)
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


# --------------------------------------------------------------------------------------------
# MEFB's protocol: 8-bit code values, per-channel scoring, MEFB's colour rules
# --------------------------------------------------------------------------------------------

#: How MEFB's pair metrics treat colour: R, G, B apart and averaged, or once on grey.
Channels = Literal["mefb", "grey"]


def code_values_u8(img: object, *, name: str, data_range: float | None) -> np.ndarray:
    """Check one image and return its 8-bit code values as ``(H, W, C)`` uint8.

    MEFB's metrics work on what MATLAB's ``imread`` gives for an 8-bit file. uint8 passes as
    it is and uint16 is divided by 257 (both take no other ``data_range`` than their full code
    range); float images need ``data_range`` and become ``round(x / data_range * 255)``
    (MATLAB rounding), after the range check.

    Raises:
        InputError: for a non-image, a ``data_range`` that contradicts an integer dtype, a
            float image without ``data_range``, or values outside ``[0, data_range]``.
    """
    arr = check_image(img, name=name)
    if arr.dtype in INTEGER_RANGES:
        full = INTEGER_RANGES[arr.dtype]
        if data_range is not None and float(data_range) != full:
            raise InputError(
                f"{name} is {arr.dtype} but data_range={data_range!r}: {arr.dtype} code values "
                f"span {full:g}; leave data_range out for {arr.dtype} images"
            )
        if arr.dtype == np.uint8:
            return arr
        return matlab_round(arr / 257.0).astype(np.uint8)
    dr = resolve_data_range(arr, data_range, name=name)
    check_range(arr, dr, name=name)
    x = np.clip(arr.astype(np.float64) / dr, 0.0, 1.0)
    return matlab_round(x * 255.0).astype(np.uint8)


def mefb_images(
    fused: object,
    sources: object,
    *,
    data_range: float | None,
    metric: str,
    exact: int | None = None,
    need_sources: bool = True,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Fused image and sources as uint8 ``(H, W, C)`` code values, sizes checked.

    ``need_sources=False`` accepts ``sources=None`` (fused-only metrics, which use the sources
    only for MEFB's colour rule) and then returns no sources.
    """
    f = code_values_u8(fused, name="fused", data_range=data_range)
    if sources is None and not need_sources:
        return f, []
    srcs = [
        code_values_u8(s, name=f"source {i + 1}", data_range=data_range)
        for i, s in enumerate(source_list(sources, metric=metric, min_count=2, exact=exact))
    ]
    for i, s in enumerate(srcs):
        check_same_size(s, f, name=f"source {i + 1}", ref_name="fused")
    return f, srcs


def mefb_colour_rule(
    fused: np.ndarray, sources: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """MEFB's colour rules: sources and fused image with one channel count.

    Colour sources and colour fused image stay as they are (scored channel by channel); grey
    sources with a colour fused image use the fused image's first (red) channel; a grey fused
    image with colour sources is compared with MATLAB ``rgb2gray`` of the sources.

    Raises:
        InputError: for grey and colour sources mixed.
    """
    for i, s in enumerate(sources):
        if s.shape[2] != sources[0].shape[2]:
            raise InputError(
                f"source {i + 1} has {s.shape[2]} channel(s) but source 1 has "
                f"{sources[0].shape[2]}: do not mix grey and colour exposures"
            )
    if not sources:
        return fused, sources
    if fused.shape[2] == 3 and sources[0].shape[2] == 1:
        return fused[:, :, :1], sources
    if fused.shape[2] == 1 and sources[0].shape[2] == 3:
        return fused, [rgb2gray_u8(s).astype(np.uint8)[:, :, None] for s in sources]
    return fused, sources


def mefb_inputs(
    fused: object,
    sources: object,
    *,
    data_range: float | None,
    metric: str,
    need_sources: bool = True,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`mefb_images` with :func:`mefb_colour_rule` applied: channel k of the fused image
    goes with channel k of every source (MEFB's per-channel loop)."""
    f, srcs = mefb_images(
        fused, sources, data_range=data_range, metric=metric, need_sources=need_sources
    )
    return mefb_colour_rule(f, srcs)


def mefb_planes(
    fused: object,
    sources: object,
    *,
    data_range: float | None,
    channels: Channels,
    metric: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The planes a pair metric works on: ``(A, B, F)``, each float64 ``(P, H, W)``.

    ``P`` is 3 for MEFB's per-channel protocol on colour images and 1 otherwise; with
    ``channels="grey"`` every colour image is MATLAB ``rgb2gray``-ed (rounded to 8 bits).

    Raises:
        InputError: for a bad ``channels``, not exactly two sources, or images under 16x16.
    """
    if channels not in ("mefb", "grey"):
        raise InputError(f"channels must be 'mefb' or 'grey', got {channels!r}")
    f, srcs = mefb_images(fused, sources, data_range=data_range, metric=metric, exact=2)
    if min(f.shape[0], f.shape[1]) < 16:
        raise InputError(
            f"fused is {size_of(f)} pixels; {metric} needs at least 16x16 "
            "(its windows are up to 16 pixels wide)"
        )
    if channels == "grey":
        a, b, g = (
            rgb2gray_u8(x) if x.shape[2] == 3 else x[..., 0].astype(np.float64)
            for x in (*srcs, f)
        )
        return a[None], b[None], g[None]
    f, (a, b) = mefb_colour_rule(f, srcs)
    a, b, f = (np.moveaxis(x.astype(np.float64), 2, 0) for x in (a, b, f))
    return a, b, f


def mefb_pair_score(
    fused: object,
    sources: object,
    *,
    data_range: float | None,
    channels: Channels,
    metric: str,
    per_plane: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray | list[float]],
) -> float:
    """A two-source MEFB metric (the contract in :mod:`expokit.metrics.mefb`): the planes
    ``(A, B, F)`` of :func:`mefb_planes`, ``per_plane(A, B, F)`` giving one value per plane,
    and their mean."""
    pa, pb, pf = mefb_planes(
        fused, sources, data_range=data_range, channels=channels, metric=metric
    )
    return float(np.mean(per_plane(pa, pb, pf)))


def planewise(
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], list[float]]:
    """``fn(a, b, f)`` of 2-D planes applied to every plane of ``(P, H, W)`` stacks."""
    return lambda pa, pb, pf: [fn(a, b, f) for a, b, f in zip(pa, pb, pf, strict=True)]


def channel_mean(
    fused: np.ndarray, sources: list[np.ndarray], fn: Callable[..., float]
) -> float:
    """Mean over channels k of ``fn(fused[..., k], [s[..., k] for s in sources])``."""
    vals = [
        fn(fused[:, :, k], [s[:, :, k] for s in sources]) for k in range(fused.shape[2])
    ]
    return float(np.mean(vals))


def mefb_channel_score(
    fused: object,
    sources: object,
    *,
    data_range: float | None,
    metric: str,
    per_channel: Callable[[np.ndarray, list[np.ndarray]], float],
) -> float:
    """A fused-and-sources MEFB metric: :func:`mefb_inputs`, then the mean over channels of
    ``per_channel(fused_k, [source_k, ...])`` (:func:`channel_mean`)."""
    f, srcs = mefb_inputs(fused, sources, data_range=data_range, metric=metric)
    return channel_mean(f, srcs, per_channel)


def fused_only(
    fused: object, sources: object, *, data_range: float | None, metric: str
) -> np.ndarray:
    """The fused image as MEFB's fused-only metrics see it (sources only pick the channels)."""
    f, _ = mefb_inputs(fused, sources, data_range=data_range, metric=metric, need_sources=False)
    return f
