"""HDR reconstruction metrics: PSNR and SSIM in the mu-law domain and in the linear domain.

These are the four numbers of the Kalantari-style HDR deghosting papers (Kalantari &
Ramamoorthi 2017 and the networks compared with it): PSNR-mu, SSIM-mu, PSNR-L, SSIM-L.
Both images are **linear radiance** (float, >= 0), the estimate first and the ground truth
second.

Normalisation. Kalantari's data set stores HDR images already scaled to [0, 1] and his code
tonemaps them as they are: that is ``normalize="none"``, which refuses values above 1 (so a
radiance map in arbitrary units is not silently scored as if it were normalised). Many later
papers instead divide both images by the maximum of the ground truth: ``normalize=
"reference_max"``. After that division the estimate may exceed 1; it is not clipped (the
peak stays 1 in PSNR and ``L = 1`` in SSIM), so an estimate that overshoots is penalised.

Negative values (lossy EXR compression noise) are set to 0 with a logged warning that counts
them, as every reader and the tone mappers do (``docs/conventions.md``).

Identical images give ``inf`` for PSNR-mu and PSNR-L, as :func:`expokit.metrics.psnr` does.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from .._checks import check_image, check_negative
from ..errors import InputError
from ._checks import RANGE_TOL, check_same_geometry
from ._table import MetricInfo
from .fullref import SSIM_WIN, Channels, _check_min_size, _planes, _ssim_cs

Normalize = Literal["none", "reference_max"]

#: mu of the mu-law range compressor (Kalantari & Ramamoorthi 2017, Eq. (2)).
MU = 5000.0

#: Facts about the metrics of this module (declared beside each function), merged into
#: :data:`expokit.metrics.METRICS`.
INFO: dict[str, MetricInfo] = {}


def mu_law(radiance: np.ndarray, *, mu: float = MU) -> np.ndarray:
    """mu-law range compression ``log(1 + mu H) / log(1 + mu)`` of radiance in [0, 1].

    Args:
        radiance: linear values, normally in [0, 1] (any shape); must be > -1/mu.
        mu: compression strength (> 0).

    Returns:
        float64 array of the shape of ``radiance``; [0, 1] maps onto [0, 1].

    References:
        N. K. Kalantari, R. Ramamoorthi, "Deep high dynamic range imaging of dynamic
        scenes", ACM TOG 36(4), 2017, Eq. (2).

    >>> round(float(mu_law(np.array(1.0))), 9)
    1.0
    """
    h = np.asarray(radiance, dtype=np.float64)
    return np.log1p(mu * h) / math.log1p(mu)


def _radiance(img: object, name: str) -> np.ndarray:
    arr = check_image(img, name=name)
    if arr.dtype.kind != "f":
        raise InputError(
            f"{name} is {arr.dtype}: HDR metrics take linear float radiance (read .hdr/.exr "
            "files with expokit.io.read_image); for display-referred images use psnr/ssim"
        )
    return check_negative(arr, name=name).astype(np.float64)


def _prepare(
    radiance: object, reference: object, normalize: str
) -> tuple[np.ndarray, np.ndarray]:
    x = _radiance(radiance, "radiance")
    y = _radiance(reference, "reference")
    check_same_geometry(x, y, name="radiance", ref_name="reference")
    if normalize == "reference_max":
        top = float(y.max())
        if top <= 0:
            raise InputError(
                "reference is all zero: it cannot be normalised by its maximum "
                "(normalize='reference_max')"
            )
        return x / top, y / top
    if normalize != "none":
        raise InputError(f"normalize must be 'none' or 'reference_max', got {normalize!r}")
    for img, name in ((x, "radiance"), (y, "reference")):
        hi = float(img.max())
        if hi > 1.0 + RANGE_TOL:
            raise InputError(
                f"{name} has values up to {hi:.6g} but normalize='none' expects HDR images "
                "scaled to [0, 1] (as in Kalantari's data set); pass "
                "normalize='reference_max' to divide both by the reference's maximum"
            )
    return x, y


def _psnr_peak1(x: np.ndarray, y: np.ndarray) -> float:
    err = float(np.mean((x - y) ** 2))
    if err == 0.0:
        return math.inf
    return float(-10.0 * np.log10(err))


def _ssim_peak1(x: np.ndarray, y: np.ndarray, channels: str, metric: str) -> float:
    _check_min_size(x, SSIM_WIN, metric, "the 11x11 window must fit inside the image")
    return float(np.mean([_ssim_cs(a, b, 1.0)[0] for a, b in _planes(x, y, channels)]))


def _prepare_mu(
    radiance: object, reference: object, normalize: str, mu: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_prepare`, then both images through :func:`mu_law` (``mu`` checked first)."""
    if not (isinstance(mu, (int, float)) and math.isfinite(mu) and mu > 0):
        raise InputError(f"mu must be a finite number > 0, got {mu!r}")
    x, y = _prepare(radiance, reference, normalize)
    return mu_law(x, mu=float(mu)), mu_law(y, mu=float(mu))


def psnr_mu(
    radiance: np.ndarray,
    reference: np.ndarray,
    *,
    mu: float = MU,
    normalize: Normalize = "none",
) -> float:
    """PSNR-mu: PSNR (peak 1) of the mu-law tonemapped images.

    Args:
        radiance: estimated HDR image, linear float ``(H, W)`` or ``(H, W, C)``, >= 0.
        reference: ground-truth HDR image, same shape.
        mu: mu-law strength (5000 in Kalantari & Ramamoorthi 2017).
        normalize: ``"none"``: both images are already in [0, 1]; ``"reference_max"``: divide
            both by the reference's maximum first (see the module docstring).

    Returns:
        ``-10 log10(MSE(T(radiance), T(reference)))`` in dB, ``T`` = :func:`mu_law`, MSE over
        all pixels and channels; ``inf`` for identical images.

    Raises:
        InputError: for integer or mismatched images, or values above 1 with
            ``normalize="none"``.

    References:
        N. K. Kalantari, R. Ramamoorthi, "Deep high dynamic range imaging of dynamic
        scenes", ACM TOG 36(4), 2017, Eq. (2) and Sec. 5.

    >>> x = np.full((8, 8, 3), 0.5)
    >>> round(psnr_mu(x, 0.5 * x), 2)
    21.79
    """
    return _psnr_peak1(*_prepare_mu(radiance, reference, normalize, mu))


INFO["psnr_mu"] = MetricInfo(
    "psnr_mu", psnr_mu, True, "hdr", (0.0, None),
    "PSNR in dB of mu-law (mu = 5000) tonemapped HDR images in [0, 1]",
    "Kalantari & Ramamoorthi, ACM TOG 2017, Eq. (2)",
)


def ssim_mu(
    radiance: np.ndarray,
    reference: np.ndarray,
    *,
    mu: float = MU,
    normalize: Normalize = "none",
    channels: Channels = "mean",
) -> float:
    """SSIM-mu: SSIM (``L = 1``) of the mu-law tonemapped images.

    The SSIM is that of :func:`expokit.metrics.ssim` (Wang et al. 2004, 11x11 Gaussian window,
    valid region); ``channels="mean"`` averages the per-channel values.

    Args:
        radiance: estimated HDR image, linear float ``(H, W)`` or ``(H, W, C)``, >= 0, at
            least 11x11.
        reference: ground-truth HDR image, same shape.
        mu: mu-law strength.
        normalize: ``"none"`` or ``"reference_max"`` (see the module docstring).
        channels: ``"mean"`` or ``"luma"`` (see :func:`expokit.metrics.ssim`).

    Returns:
        Mean SSIM in [-1, 1]; 1 for identical images.

    Raises:
        InputError: as :func:`psnr_mu`, and for images smaller than 11x11.

    References:
        Kalantari & Ramamoorthi 2017 (as :func:`psnr_mu`); Wang et al., IEEE TIP 2004.

    >>> x = np.linspace(0, 1, 16 * 16).reshape(16, 16)
    >>> round(ssim_mu(x, x), 9)
    1.0
    """
    x, y = _prepare_mu(radiance, reference, normalize, mu)
    return _ssim_peak1(x, y, channels, "ssim_mu")


INFO["ssim_mu"] = MetricInfo(
    "ssim_mu", ssim_mu, True, "hdr", (-1.0, 1.0),
    "SSIM of mu-law (mu = 5000) tonemapped HDR images in [0, 1]",
    "Kalantari & Ramamoorthi, ACM TOG 2017; Wang et al., IEEE TIP 2004",
)


def psnr_l(
    radiance: np.ndarray, reference: np.ndarray, *, normalize: Normalize = "none"
) -> float:
    """PSNR-L: PSNR (peak 1) of the linear HDR images.

    Args:
        radiance: estimated HDR image, linear float ``(H, W)`` or ``(H, W, C)``, >= 0.
        reference: ground-truth HDR image, same shape.
        normalize: ``"none"`` or ``"reference_max"`` (see the module docstring).

    Returns:
        ``-10 log10(MSE(radiance, reference))`` in dB; ``inf`` for identical images.

    Raises:
        InputError: as :func:`psnr_mu`.

    References:
        Kalantari & Ramamoorthi, ACM TOG 2017, Sec. 5 ("PSNR-L").

    >>> x = np.full((8, 8, 3), 0.5)
    >>> round(psnr_l(x, x + 0.1), 9)
    20.0
    """
    return _psnr_peak1(*_prepare(radiance, reference, normalize))


INFO["psnr_l"] = MetricInfo(
    "psnr_l", psnr_l, True, "hdr", (0.0, None),
    "PSNR in dB of linear HDR images in [0, 1]",
    "Kalantari & Ramamoorthi, ACM TOG 2017",
)


def ssim_l(
    radiance: np.ndarray,
    reference: np.ndarray,
    *,
    normalize: Normalize = "none",
    channels: Channels = "mean",
) -> float:
    """SSIM-L: SSIM (``L = 1``) of the linear HDR images.

    Args:
        radiance: estimated HDR image, linear float ``(H, W)`` or ``(H, W, C)``, >= 0, at
            least 11x11.
        reference: ground-truth HDR image, same shape.
        normalize: ``"none"`` or ``"reference_max"`` (see the module docstring).
        channels: ``"mean"`` or ``"luma"`` (see :func:`expokit.metrics.ssim`).

    Returns:
        Mean SSIM in [-1, 1]; 1 for identical images.

    Raises:
        InputError: as :func:`ssim_mu`.

    References:
        Kalantari & Ramamoorthi, ACM TOG 2017, Sec. 5; Wang et al., IEEE TIP 2004.

    >>> x = np.linspace(0, 1, 16 * 16).reshape(16, 16)
    >>> round(ssim_l(x, x), 9)
    1.0
    """
    x, y = _prepare(radiance, reference, normalize)
    return _ssim_peak1(x, y, channels, "ssim_l")


INFO["ssim_l"] = MetricInfo(
    "ssim_l", ssim_l, True, "hdr", (-1.0, 1.0),
    "SSIM of linear HDR images in [0, 1]",
    "Kalantari & Ramamoorthi, ACM TOG 2017; Wang et al., IEEE TIP 2004",
)
