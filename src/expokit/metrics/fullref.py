"""Full-reference metrics: MSE, PSNR, SSIM, MS-SSIM, CC (and CC against the sources), LPIPS.

All take the image under test first and the reference second, compute in float64 and return
a Python float. Images are ``(H, W)`` or ``(H, W, C)`` (C = 1 or 3) display-referred values:
uint8/uint16 code values, or float in ``[0, data_range]``. ``data_range`` is required for float
images (never guessed from the dtype); it defaults to 255 / 65535 for uint8 / uint16 (see
:mod:`expokit.metrics._checks`).

SSIM and MS-SSIM follow the authors' MATLAB code exactly: an 11x11 Gaussian window of
sigma 1.5, ``K1 = 0.01``, ``K2 = 0.03``, statistics only where the window fits inside the image
(MATLAB ``filter2(..., 'valid')``, no border padding) and the mean over that region.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from ..errors import InputError, MissingResourceError
from ._checks import (
    as_float64_unranged,
    check_pair,
    check_pair_unranged,
    check_sources,
    size_of,
)
from ._matlab import gaussian_1d, to_gray
from ._table import MetricInfo

if TYPE_CHECKING:
    import torch

Channels = Literal["mean", "luma"]

#: SSIM constants of Wang et al. 2004 (their MATLAB ``ssim_index.m``).
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_WIN = 11
SSIM_SIGMA = 1.5

#: MS-SSIM exponents beta_j = gamma_j (j = 1..5, alpha_5 = beta_5) of Wang, Simoncelli & Bovik
#: 2003, Eq. (7) and Sec. 3.2.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


_WINDOW = gaussian_1d(SSIM_WIN, SSIM_SIGMA)  # MATLAB fspecial('gaussian', 11, 1.5)

#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


def _filter_valid(a: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local means where the 11x11 window fits (``filter2(w, a, 'valid')``).

    The filter runs over the whole image (OpenCV, float64) and the 5-pixel border, the only
    place the border extension reaches, is cut off.
    """
    r = SSIM_WIN // 2
    out = cv2.sepFilter2D(a, cv2.CV_64F, _WINDOW, _WINDOW, borderType=cv2.BORDER_REFLECT)
    return out[r:-r, r:-r]


def _ssim_cs(x: np.ndarray, y: np.ndarray, data_range: float) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure term of two 2-D float64 images (valid region)."""
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mx, my = _filter_valid(x), _filter_valid(y)
    sxx = _filter_valid(x * x) - mx * mx
    syy = _filter_valid(y * y) - my * my
    sxy = _filter_valid(x * y) - mx * my
    cs = (2.0 * sxy + c2) / (sxx + syy + c2)
    lum = (2.0 * mx * my + c1) / (mx * mx + my * my + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def _planes(x: np.ndarray, y: np.ndarray, channels: str) -> list[tuple[np.ndarray, np.ndarray]]:
    if channels == "luma":
        x, y = to_gray(x), to_gray(y)
    elif channels != "mean":
        raise InputError(f"channels must be 'mean' or 'luma', got {channels!r}")
    return [
        (np.ascontiguousarray(x[..., c]), np.ascontiguousarray(y[..., c]))
        for c in range(x.shape[2])
    ]


def mse(fused: np.ndarray, reference: np.ndarray, *, data_range: float | None = None) -> float:
    """Mean squared error over all pixels and channels.

    Args:
        fused: image under test, ``(H, W)`` or ``(H, W, C)``, display-referred.
        reference: reference image of the same shape and scale.
        data_range: only used to check the values (MSE itself needs no range); may be left
            out for float images, in which case nothing is range-checked.

    Returns:
        ``mean((fused - reference) ** 2)`` in squared units of the images (code values for
        integer images).

    Raises:
        InputError: for mismatched shapes, NaN/Inf, or values outside ``[0, data_range]``.

    References:
        The textbook definition, as in scikit-image ``mean_squared_error``.

    >>> mse(np.zeros((4, 4)), np.full((4, 4), 0.5))
    0.25
    """
    x, y = check_pair_unranged(fused, reference, data_range=data_range)
    return float(np.mean((x - y) ** 2))


INFO["mse"] = MetricInfo(
    "mse", mse, False, "full_reference", (0.0, None),
    "mean squared error against the reference, in squared image units",
    "textbook definition",
)


def psnr(fused: np.ndarray, reference: np.ndarray, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, over all pixels and channels.

    Args:
        fused: image under test, ``(H, W)`` or ``(H, W, C)``, display-referred.
        reference: reference image of the same shape and scale.
        data_range: the peak value (1.0 for float images in [0, 1]); required for float
            images, 255 / 65535 by default for uint8 / uint16.

    Returns:
        ``10 log10(data_range**2 / MSE)``; ``inf`` for identical images (MSE = 0).

    Raises:
        InputError: for mismatched shapes, NaN/Inf, a missing ``data_range`` for float
            images, or values outside ``[0, data_range]``.

    References:
        The textbook definition; equal to scikit-image ``peak_signal_noise_ratio`` with the
        same ``data_range``.

    >>> round(psnr(np.full((4, 4), 1.0), np.full((4, 4), 1.2), data_range=2.0), 12)
    20.0
    """
    x, y, dr = check_pair(fused, reference, data_range=data_range)
    err = float(np.mean((x - y) ** 2))
    if err == 0.0:
        return math.inf
    return float(10.0 * np.log10(dr * dr / err))


INFO["psnr"] = MetricInfo(
    "psnr", psnr, True, "full_reference", (0.0, None),
    "peak signal-to-noise ratio in dB (inf for identical images)",
    "textbook definition: 10 log10(L^2 / MSE)",
)


def ssim(
    fused: np.ndarray,
    reference: np.ndarray,
    *,
    data_range: float | None = None,
    channels: Channels = "mean",
) -> float:
    """Structural similarity index (SSIM) of Wang et al. 2004, as their MATLAB code computes it.

    An 11x11 Gaussian window (sigma 1.5), ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` with
    ``L = data_range``, local statistics only where the window lies inside the image (no
    border padding: the map is ``(H - 10) x (W - 10)``), population (1/N) variances, and the
    mean of the SSIM map.

    Other MATLAB versions differ: Wang's later ``ssim.m`` (2009) first downsamples images by
    ``round(min(H, W) / 256)``, and the Image Processing Toolbox ``ssim`` pads the borders
    ('replicate') and averages over the whole image; neither is done here.

    This equals scikit-image's ``structural_similarity(fused, reference,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L,
    channel_axis=-1)`` on float64 input to rounding (about 1e-15): scikit-image filters with
    reflected borders and then drops 5 pixels on every side, which leaves exactly the valid
    region (its truncate=3.5 gives the same 11-tap window). scikit-image's defaults differ
    (7x7 uniform window, sample covariance): those give other numbers.

    Args:
        fused: image under test, ``(H, W)`` or ``(H, W, C)`` with H, W >= 11, display-referred.
        reference: reference image of the same shape and scale.
        data_range: span ``L`` of the values; required for float images, 255 / 65535 by
            default for uint8 / uint16.
        channels: ``"mean"``: SSIM of each channel, averaged (scikit-image's
            ``channel_axis=-1``); ``"luma"``: SSIM of the grey images made with MATLAB
            ``rgb2gray`` weights (0.2989 R + 0.5870 G + 0.1140 B, not rounded). Grey images
            give the same value either way.

    Returns:
        Mean SSIM, in [-1, 1]; 1 for identical images.

    Raises:
        InputError: for mismatched shapes, images smaller than 11x11, NaN/Inf, a missing
            ``data_range`` for float images, or values out of range.

    References:
        Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
        error visibility to structural similarity", IEEE TIP 13(4), 2004: Eq. (13) with the
        Gaussian window of Sec. III-C and the mean of Eq. (17); MATLAB ``ssim_index.m``.

    >>> x = np.linspace(0, 1, 16 * 16).reshape(16, 16)
    >>> round(ssim(x, x, data_range=1.0), 9)
    1.0
    """
    x, y, dr = check_pair(fused, reference, data_range=data_range)
    _check_min_size(x, SSIM_WIN, "ssim", "the 11x11 window must fit inside the image")
    vals = [_ssim_cs(a, b, dr)[0] for a, b in _planes(x, y, channels)]
    return float(np.mean(vals))


INFO["ssim"] = MetricInfo(
    "ssim", ssim, True, "full_reference", (-1.0, 1.0),
    "structural similarity, 11x11 Gaussian window, valid region, mean over channels",
    "Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004, Eq. (13)",
)


def _halve(a: np.ndarray) -> np.ndarray:
    """MATLAB msssim.m downsampling: ``imfilter(a, ones(2)/4, 'symmetric')`` then ``(1:2:end)``.

    That is the mean of each 2x2 block; an odd last row/column is averaged with itself.
    """
    if a.shape[0] % 2:
        a = np.concatenate([a, a[-1:]], axis=0)
    if a.shape[1] % 2:
        a = np.concatenate([a, a[:, -1:]], axis=1)
    return 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])


def _ms_ssim_plane(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    levels = len(MS_SSIM_WEIGHTS)
    value = 1.0
    for level, weight in enumerate(MS_SSIM_WEIGHTS):
        s, cs = _ssim_cs(x, y, data_range)
        term = s if level == levels - 1 else cs
        value *= max(term, 0.0) ** weight
        if level < levels - 1:
            x, y = _halve(x), _halve(y)
    return value


def _check_min_size(x: np.ndarray, size: int, metric: str, why: str) -> None:
    if x.shape[0] < size or x.shape[1] < size:
        raise InputError(
            f"{metric} needs images of at least {size}x{size} pixels, got {size_of(x)}: {why}"
        )


def ms_ssim(
    fused: np.ndarray,
    reference: np.ndarray,
    *,
    data_range: float | None = None,
    channels: Channels = "mean",
) -> float:
    """Multi-scale SSIM of Wang, Simoncelli & Bovik 2003, as their MATLAB ``msssim.m``.

    Five scales; scale 1 is the image, each next one the mean of 2x2 blocks of the previous
    (MATLAB ``imfilter(ones(2)/4, 'symmetric')`` then every second pixel: an odd last
    row/column is averaged with itself). At every scale the SSIM statistics are those of
    :func:`ssim` (11x11 Gaussian window, sigma 1.5, valid region, ``K1 = 0.01``,
    ``K2 = 0.03``). The index is ``prod_{j=1..4} mean(cs_j)^w_j * mean(ssim_5)^w_5`` with
    ``w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``. A negative mean term (possible for
    anti-correlated images, where MATLAB returns a complex number) is clipped to 0, as
    ``pytorch_msssim`` does.

    For image sides divisible by 16 this equals ``pytorch_msssim.ms_ssim`` (default options)
    on float64 input; for other sizes ``pytorch_msssim`` zero-pads odd sides on both ends
    before pooling and differs slightly.

    Args:
        fused: image under test, ``(H, W)`` or ``(H, W, C)``, display-referred; both sides
            must be at least 161 pixels so that the fifth scale still fits the 11x11 window.
        reference: reference image of the same shape and scale.
        data_range: span of the values; required for float images, 255 / 65535 by default
            for uint8 / uint16.
        channels: ``"mean"``: MS-SSIM of each channel, averaged; ``"luma"``: MS-SSIM of the
            ``rgb2gray`` grey images (see :func:`ssim`).

    Returns:
        MS-SSIM in [0, 1]; 1 for identical images.

    Raises:
        InputError: for mismatched shapes, images too small for five scales, NaN/Inf, a
            missing ``data_range`` for float images, or values out of range.

    References:
        Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image
        quality assessment", 37th Asilomar Conference, 2003: Eq. (7) with the weights of
        Sec. 3.2; MATLAB ``msssim.m``.

    >>> x = np.linspace(0, 1, 176 * 176).reshape(176, 176)
    >>> round(ms_ssim(x, x, data_range=1.0), 9)
    1.0
    """
    x, y, dr = check_pair(fused, reference, data_range=data_range)
    h, w = x.shape[:2]
    for _ in range(len(MS_SSIM_WEIGHTS) - 1):
        h, w = -(-h // 2), -(-w // 2)
    if min(h, w) < SSIM_WIN:
        raise InputError(
            f"ms_ssim needs images of at least 161x161 pixels (five scales, the coarsest at "
            f"least 11x11), got {size_of(x)}; use ssim for small images"
        )
    vals = [_ms_ssim_plane(a, b, dr) for a, b in _planes(x, y, channels)]
    return float(np.mean(vals))


INFO["ms_ssim"] = MetricInfo(
    "ms_ssim", ms_ssim, True, "full_reference", (0.0, 1.0),
    "multi-scale structural similarity, 5 scales, mean over channels",
    "Wang, Simoncelli, Bovik, Asilomar 2003, Eq. (7)",
)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    if den == 0.0:
        return math.nan
    return float(np.dot(a, b)) / den


def cc(fused: np.ndarray, reference: np.ndarray, *, data_range: float | None = None) -> float:
    """Correlation coefficient: Pearson's r between the image and the reference.

    All pixels and channels are taken as one sample (the channels are not correlated
    separately).

    Args:
        fused: image under test, ``(H, W)`` or ``(H, W, C)``, display-referred.
        reference: reference image of the same shape and scale.
        data_range: only used to check the values (r is invariant to the scale); may be left
            out for float images.

    Returns:
        r in [-1, 1]; NaN when either image is constant (r is undefined).

    Raises:
        InputError: for mismatched shapes, NaN/Inf, or values out of range.

    References:
        K. Pearson, "Notes on regression and inheritance", 1895; the "CC" of full-reference
        MEF tables (fused image against a ground-truth image).

    >>> x = np.linspace(0, 1, 16).reshape(4, 4)
    >>> round(cc(x, 0.5 * x), 9)
    1.0
    """
    x, y = check_pair_unranged(fused, reference, data_range=data_range)
    return _pearson(x, y)


INFO["cc"] = MetricInfo(
    "cc", cc, True, "full_reference", (-1.0, 1.0),
    "Pearson correlation between the image and the reference",
    "Pearson 1895",
)


def cc_sources(
    fused: np.ndarray, sources: Sequence[np.ndarray], *, data_range: float | None = None
) -> float:
    """Fusion correlation coefficient: the mean of Pearson's r between the image and each source.

    The "CC" of image-fusion benchmarks (e.g. VIFB: ``(r(A, F) + r(B, F)) / 2`` for two
    sources), generalised to N sources. Each r takes all pixels and channels as one sample;
    a constant source gives NaN.

    Args:
        fused: fused image, ``(H, W)`` or ``(H, W, C)``, display-referred.
        sources: the source exposures, each of the fused image's shape and scale.
        data_range: only used to check the values; may be left out for float images.

    Returns:
        Mean r in [-1, 1].

    Raises:
        InputError: if sources are missing or do not match the fused image.

    References:
        X. Zhang, P. Ye, G. Xiao, "VIFB: a visible and infrared image fusion benchmark",
        CVPR Workshops 2020 (metric CC).

    >>> x = np.linspace(0, 1, 16).reshape(4, 4)
    >>> round(cc_sources(x, [0.5 * x, 1 - x]), 9)
    0.0
    """
    f = as_float64_unranged(fused, name="fused", data_range=data_range)
    srcs = check_sources(
        sources, f, data_range=data_range, metric="cc_sources", fused_dtype=fused.dtype
    )
    return float(np.mean([_pearson(f, s) for s in srcs]))


INFO["cc_sources"] = MetricInfo(
    "cc_sources", cc_sources, True, "fusion", (-1.0, 1.0),
    "mean Pearson correlation between the fused image and each source",
    "Zhang, Ye, Xiao, VIFB, CVPR Workshops 2020",
)


#: LPIPS v0.1 input scaling (``lpips.ScalingLayer``): ``(x - shift) / scale`` on [-1, 1] input.
_LPIPS_SHIFT = (-0.030, -0.088, -0.188)
_LPIPS_SCALE = (0.458, 0.448, 0.450)

#: torchvision ``features`` layouts: (out_channels, kernel, stride, padding) per conv, "M" for
#: a 3x3/2 (AlexNet) or 2x2/2 (VGG) max-pool, and the ReLU outputs LPIPS compares ("tap").
_Layer = tuple[int, int, int, int] | Literal["tap", "M"]
_C3 = (256, 3, 1, 1)
_ALEX: list[_Layer] = [
    (64, 11, 4, 2), "tap", "M", (192, 5, 1, 2), "tap", "M",
    (384, 3, 1, 1), "tap", _C3, "tap", _C3, "tap",
]
_V1, _V2, _V3, _V4 = (64, 3, 1, 1), (128, 3, 1, 1), (256, 3, 1, 1), (512, 3, 1, 1)
_VGG: list[_Layer] = [
    _V1, _V1, "tap", "M", _V2, _V2, "tap", "M", _V3, _V3, _V3, "tap", "M",
    _V4, _V4, _V4, "tap", "M", _V4, _V4, _V4, "tap",
]
_BACKBONES = {"alex": ("AlexNet", "alexnet-owt-7be5be79.pth", _ALEX),
              "vgg": ("VGG16", "vgg16-397923af.pth", _VGG)}


def _lpips_heads(net: str) -> dict[str, torch.Tensor]:
    """The linear heads shipped inside the ``lpips`` package, read without importing it."""
    import importlib.util

    import torch

    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(
            "lpips needs the linear heads shipped by the `lpips` package: pip install lpips "
            "(only its weight files are read; nothing is downloaded)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "v0.1" / f"{net}.pth"
    if not path.is_file():
        raise MissingResourceError(f"the lpips package has no {path}: reinstall lpips (0.1.x)")
    heads: dict[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)
    return heads


@functools.lru_cache(maxsize=2)
def _lpips_model(
    net: str, path: Path, stamp: tuple[int, int]
) -> tuple[list[torch.nn.Module | None], list[torch.Tensor]]:
    """Backbone layers (None marks a compared stage) and the heads, cached per file version."""
    import torch

    title, filename, layout = _BACKBONES[net]
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise InputError(f"{path.name} is not a readable torch state dict: {exc}") from None
    if not isinstance(state, dict):
        raise InputError(f"{path.name} holds a {type(state).__name__}, expected a state dict")
    layers: list[torch.nn.Module | None] = []
    in_ch, index = 3, 0
    for item in layout:
        if item == "tap":
            layers.append(None)
        elif item == "M":
            layers.append(torch.nn.MaxPool2d(3 if net == "alex" else 2, 2))
            index += 1
        else:
            out_ch, k, stride, pad = item
            conv = torch.nn.Conv2d(in_ch, out_ch, k, stride=stride, padding=pad)
            sub = {n: state.get(f"features.{index}.{n}") for n in ("weight", "bias")}
            if any(v is None for v in sub.values()):
                raise InputError(
                    f"{path.name} has no features.{index}.weight/bias: it is not a "
                    f"torchvision {title} state dict (expected the keys of {filename})"
                )
            try:
                conv.load_state_dict(sub, strict=True)
            except RuntimeError as exc:
                raise InputError(
                    f"{path.name}: features.{index} does not fit {title} ({exc}); give the "
                    f"weights of {filename}"
                ) from None
            layers.append(conv.double())
            in_ch = out_ch
            index += 2  # the conv and its ReLU
    heads = _lpips_heads(net)
    weights = []
    for stage, width in enumerate(m.out_channels for m in _taps(layers)):
        w = heads.get(f"lin{stage}.model.1.weight")
        if not isinstance(w, torch.Tensor) or tuple(w.shape) != (1, width, 1, 1):
            raise MissingResourceError(
                f"the lpips package's {net}.pth has no {width}-channel head for stage {stage}: "
                "reinstall lpips (0.1.x)"
            )
        weights.append(w.double().view(1, -1, 1, 1))
    return layers, weights


def _taps(layers: list[torch.nn.Module | None]) -> list[torch.nn.Conv2d]:
    """The conv layer feeding each compared stage."""
    import torch

    out, last = [], None
    for layer in layers:
        if isinstance(layer, torch.nn.Conv2d):
            last = layer
        elif layer is None and last is not None:
            out.append(last)
    return out


def lpips(
    fused: np.ndarray,
    reference: np.ndarray,
    *,
    weights_path: str | os.PathLike[str],
    net: Literal["alex", "vgg"] = "alex",
    data_range: float | None = None,
) -> float:
    """LPIPS perceptual distance (v0.1) with a backbone read from a local file.

    The images are scaled to [-1, 1], shifted and scaled per channel as ``lpips`` does,
    passed through the backbone's five ReLU stages (AlexNet ``features`` 1, 4, 7, 9, 11 or
    VGG16 ``features`` 3, 8, 15, 22, 29), unit-normalised along channels, and the squared
    differences are weighted by the linear heads of ``lpips`` 0.1, averaged over space and
    summed over stages. Computed in float64 on the CPU. Grey images are repeated to three
    channels.

    Nothing is downloaded: the linear heads are the files shipped inside the ``lpips`` package
    (which is not imported, so torchvision is not needed) and the backbone is a torchvision
    state dict the caller already has (``alexnet-owt-7be5be79.pth`` or
    ``vgg16-397923af.pth``), loaded strictly with ``weights_only=True``.

    Args:
        fused: image under test, ``(H, W)`` or ``(H, W, C)``, display-referred, at least 32
            pixels a side.
        reference: reference image of the same shape and scale.
        weights_path: torchvision state dict of the backbone named by ``net``.
        net: ``"alex"`` (the LPIPS default) or ``"vgg"``.
        data_range: span of the values; required for float images, 255 / 65535 by default
            for uint8 / uint16.

    Returns:
        The distance (>= 0, 0 for identical images; lower is better).

    Raises:
        MissingResourceError: if torch or the ``lpips`` package is not installed, or
            ``weights_path`` does not exist.
        InputError: for a weights file of the wrong network, or bad images.

    References:
        R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The unreasonable
        effectiveness of deep features as a perceptual metric", CVPR 2018, Eq. (1).

    >>> lpips(np.zeros((32, 32)), np.zeros((32, 32)), weights_path="no.pth", data_range=1.0)
    Traceback (most recent call last):
    ...
    expokit.errors.MissingResourceError: ...
    """
    if net not in _BACKBONES:
        raise InputError(f"net must be 'alex' or 'vgg', got {net!r}")
    x, y, dr = check_pair(fused, reference, data_range=data_range)
    _check_min_size(x, 32, "lpips", "the backbone downsamples by 16 or more")
    try:
        import torch
    except ImportError:
        raise MissingResourceError("lpips needs PyTorch: pip install torch") from None
    path = Path(weights_path)
    if not path.is_file():
        title, filename, _ = _BACKBONES[net]
        raise MissingResourceError(
            f"lpips backbone weights {path} do not exist: give the path of a torchvision "
            f"{title} state dict (e.g. {filename}); expokit never downloads weights"
        )
    st = path.stat()
    layers, heads = _lpips_model(net, path.resolve(), (st.st_mtime_ns, st.st_size))

    def prepare(a: np.ndarray) -> torch.Tensor:
        if a.shape[2] == 1:
            a = np.repeat(a, 3, axis=2)
        t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None] / dr * 2 - 1
        shift = torch.tensor(_LPIPS_SHIFT, dtype=torch.float64)[None, :, None, None]
        scale = torch.tensor(_LPIPS_SCALE, dtype=torch.float64)[None, :, None, None]
        return (t - shift) / scale

    total = 0.0
    with torch.no_grad():
        hx, hy = prepare(x), prepare(y)
        stage = 0
        for layer in layers:
            if layer is None:  # a compared stage: unit-normalise along channels, weigh, average
                fx = hx / (torch.sqrt((hx * hx).sum(1, keepdim=True)) + 1e-10)
                fy = hy / (torch.sqrt((hy * hy).sum(1, keepdim=True)) + 1e-10)
                total += float(((fx - fy) ** 2 * heads[stage]).sum(1).mean())
                stage += 1
                continue
            hx, hy = layer(hx), layer(hy)
            if isinstance(layer, torch.nn.Conv2d):
                hx, hy = torch.relu(hx), torch.relu(hy)
    return total


INFO["lpips"] = MetricInfo(
    "lpips", lpips, False, "full_reference", (0.0, None),
    "learned perceptual distance (needs a local AlexNet/VGG16 backbone file)",
    "Zhang, Isola, Efros, Shechtman, Wang, CVPR 2018",
)
