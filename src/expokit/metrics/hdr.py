"""HDR reconstruction metrics: PSNR and SSIM in the mu-law, linear and PU21 domains.

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

PU21 (Mantiuk & Azimi 2021): :func:`pu21_encode` maps absolute luminance in cd/m^2 to
perceptually uniform values, and :func:`pu21_psnr` / :func:`pu21_ssim` are PSNR and SSIM of
those values, as the authors' ``pu21_metric`` computes them (PSNR on the RGB values with peak
256, SSIM on luminance with ``L = 256``). PU21 needs absolute luminance, so relative radiance
is first mapped to a display by one factor for both images: by default
(``scale="reference_p999"``) the 99.9th percentile of the reference's luminance becomes
``display_peak = 1000`` cd/m^2. ``scale="reference_max"`` maps the reference's maximum there
instead, as the PU21 README does; on scenes with the sun in view that leaves a third or more
of the pixels below PU21's 0.005 cd/m^2 floor, where every error is invisible to the metric.
``scale="absolute"`` takes the images as cd/m^2 already. Nothing is clipped at the display
peak; the encoder clamps to its own range [0.005, 10000] cd/m^2.

HDR-FLIP (Andersson et al. 2021): :func:`hdr_flip` is the mean of NVIDIA's FLIP error map,
computed by the ``flip-evaluator`` package (``pip install "expokit[flip]"``).
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Literal

import numpy as np

from .._checks import check_image, check_negative
from ..errors import InputError, MissingResourceError
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


def fit_scale(radiance: np.ndarray, reference: np.ndarray, *, low: float = 0.01,
              high: float = 0.9) -> float:
    """The factor that brings a radiance map of unknown scale (a classical merge's relative
    radiance) to a reference's units: the median of ``reference / radiance`` over the pixels
    whose reference lies in ``(low, high)`` (away from noise and clipping) and whose estimate
    is positive; 1.0 when there are none. Not a metric: an oracle that comparisons with
    unknown-scale methods state they used.

    >>> x = np.linspace(0.1, 0.8, 12).reshape(2, 2, 3)
    >>> round(fit_scale(x / 7.0, x), 9)
    7.0
    """
    est = np.asarray(radiance, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    ok = (ref > low) & (ref < high) & (est > 0)
    return float(np.median(ref[ok] / est[ok])) if ok.any() else 1.0


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


#: PU21 parameters p1..p7 of the recommended ``banding_glare`` variant (Mantiuk & Azimi 2021;
#: the numbers as published in the authors' reference implementation, github.com/gfxdisp/pu21,
#: ``pu21_encoder.m``). ``V = p7 * (((p1 + p2 Y^p4) / (1 + p3 Y^p4))^p5 - p6)``.
PU21_PARAMS = (
    0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627,
    0.09150303166, 0.9099517204, 596.3148142,
)
#: Luminance range (cd/m^2) over which PU21 is defined; values outside are clamped to it.
PU21_L_MIN = 0.005
PU21_L_MAX = 10000.0
#: Peak (``data_range``) of PSNR and SSIM on PU21 values in the reference ``pu21_metric``: the
#: encoding is scaled so that 100 cd/m^2 (an SDR display's white) maps to about 256.
PU21_PEAK = 256.0
#: Default peak luminance (cd/m^2) of the display that relative radiance is mapped to.
PU21_DISPLAY_PEAK = 1000.0
#: Luminance weights of linear Rec. 709 / sRGB RGB (the Y row of RGB -> XYZ), as the
#: reference ``pu21_metric`` uses to turn RGB into luminance.
RGB709_LUMINANCE = (0.212656, 0.715158, 0.072186)

Pu21Scale = Literal["reference_p999", "reference_max", "absolute"]
Pu21Channels = Literal["rgb", "luminance"]


def pu21_encode(luminance: np.ndarray) -> np.ndarray:
    """PU21 encoding (``banding_glare``) of absolute luminance in cd/m^2.

    Values are clamped to [0.005, 10000] cd/m^2 first (as the reference encoder does), so the
    output lies in about [0, 595.4]; 100 cd/m^2 maps to about 256. Linear RGB in cd/m^2 may be
    encoded channel by channel (the reference ``pu21_metric`` does so for PSNR).

    Args:
        luminance: absolute linear values in cd/m^2 (any shape).

    Returns:
        float64 array of the shape of ``luminance``; strictly increasing in the valid range.

    References:
        R. K. Mantiuk, M. Azimi, "PU21: A novel perceptually uniform encoding for adapting
        existing quality metrics for HDR", Picture Coding Symposium 2021.

    >>> [round(float(v), 2) for v in pu21_encode(np.array([0.005, 100.0, 10000.0]))]
    [0.0, 256.38, 595.39]
    """
    p1, p2, p3, p4, p5, p6, p7 = PU21_PARAMS
    y = np.clip(np.asarray(luminance, dtype=np.float64), PU21_L_MIN, PU21_L_MAX)
    yp = y**p4
    return p7 * (((p1 + p2 * yp) / (1.0 + p3 * yp)) ** p5 - p6)


def _pu21_prepare(
    test: object, reference: object, scale: str, display_peak: float
) -> tuple[np.ndarray, np.ndarray]:
    """Both images as absolute linear values in cd/m^2 (see the module docstring)."""
    if not (
        isinstance(display_peak, (int, float))
        and math.isfinite(display_peak)
        and display_peak > 0
    ):
        raise InputError(f"display_peak must be a finite number > 0 (cd/m^2), got {display_peak!r}")
    if scale not in ("reference_p999", "reference_max", "absolute"):
        raise InputError(
            f"scale must be 'reference_p999', 'reference_max' or 'absolute', got {scale!r}"
        )
    x = _radiance(test, "test")
    y = _radiance(reference, "reference")
    check_same_geometry(x, y, name="test", ref_name="reference")
    if x.shape[2] not in (1, 3):
        raise InputError(f"PU21 metrics take grey or RGB images, got {x.shape[2]} channels")
    if scale == "absolute":
        return x, y
    if scale == "reference_max":
        top, what = float(y.max()), "maximum"
    else:
        top, what = float(np.percentile(_luminance(y), 99.9)), "99.9th luminance percentile"
    if top <= 0:
        raise InputError(
            f"reference is all zero: it cannot be mapped to a display by its {what} "
            f"(scale={scale!r}); pass scale='absolute' for images in cd/m^2"
        )
    k = float(display_peak) / top
    return x * k, y * k


def _luminance(img: np.ndarray) -> np.ndarray:
    if img.shape[2] == 1:
        return img[..., 0]
    r, g, b = RGB709_LUMINANCE
    return r * img[..., 0] + g * img[..., 1] + b * img[..., 2]


def pu21_psnr(
    test: np.ndarray,
    reference: np.ndarray,
    *,
    scale: Pu21Scale = "reference_p999",
    display_peak: float = PU21_DISPLAY_PEAK,
    channels: Pu21Channels = "rgb",
) -> float:
    """PU21-PSNR: PSNR (peak 256) of PU21-encoded absolute linear images.

    As the authors' ``pu21_metric(T, R, 'PSNR')``: each RGB channel (in cd/m^2) is encoded
    with :func:`pu21_encode` and the MSE is taken over all pixels and channels
    (``channels="luminance"``: of the encoded Rec. 709 luminance, their ``'PSNRY'``).

    Args:
        test: HDR image to score, linear float ``(H, W)`` or ``(H, W, 3)``, >= 0.
        reference: ground-truth HDR image, same shape.
        scale: how relative radiance becomes cd/m^2, one factor for both images:
            ``"reference_p999"``: ``display_peak / P99.9(luminance(reference))``;
            ``"reference_max"``: ``display_peak / max(reference)`` (the PU21 README's rule);
            ``"absolute"``: the images are in cd/m^2 already.
        display_peak: display peak luminance in cd/m^2 for ``scale="reference_max"``.
        channels: ``"rgb"`` (per channel) or ``"luminance"``.

    Returns:
        ``20 log10(256) - 10 log10(MSE)`` in dB; ``inf`` for identical images.

    Raises:
        InputError: for integer, mismatched or all-zero reference images, or bad options.

    References:
        Mantiuk & Azimi, PCS 2021; reference code github.com/gfxdisp/pu21 (``pu21_metric.m``).

    >>> x = np.full((8, 8), 100.0)
    >>> round(pu21_psnr(x, x, scale="absolute"), 1)
    inf
    """
    x, y = _pu21_prepare(test, reference, scale, display_peak)
    if channels == "luminance":
        x, y = _luminance(x), _luminance(y)
    elif channels != "rgb":
        raise InputError(f"channels must be 'rgb' or 'luminance', got {channels!r}")
    err = float(np.mean((pu21_encode(x) - pu21_encode(y)) ** 2))
    if err == 0.0:
        return math.inf
    return float(20.0 * math.log10(PU21_PEAK) - 10.0 * math.log10(err))


INFO["pu21_psnr"] = MetricInfo(
    "pu21_psnr", pu21_psnr, True, "hdr", (None, None),
    "PSNR in dB (peak 256) of PU21-encoded HDR images (reference P99.9 at 1000 cd/m^2)",
    "Mantiuk & Azimi, PCS 2021 (PU21, banding_glare)",
)


def pu21_ssim(
    test: np.ndarray,
    reference: np.ndarray,
    *,
    scale: Pu21Scale = "reference_p999",
    display_peak: float = PU21_DISPLAY_PEAK,
) -> float:
    """PU21-SSIM: SSIM (``L = 256``) of the PU21-encoded luminance of absolute linear images.

    As the authors' ``pu21_metric(T, R, 'SSIM')``: RGB is turned into Rec. 709 luminance,
    encoded with :func:`pu21_encode`, and compared with the SSIM of
    :func:`expokit.metrics.ssim` (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, valid
    region; MATLAB's toolbox ``ssim`` that the reference calls pads the borders instead, so
    values differ slightly near edges).

    Args:
        test: HDR image to score, linear float ``(H, W)`` or ``(H, W, 3)``, >= 0, at least
            11x11.
        reference: ground-truth HDR image, same shape.
        scale: ``"reference_p999"``, ``"reference_max"`` or ``"absolute"`` (see
            :func:`pu21_psnr`).
        display_peak: display peak luminance in cd/m^2 for ``scale="reference_max"``.

    Returns:
        Mean SSIM in [-1, 1]; 1 for identical images.

    Raises:
        InputError: as :func:`pu21_psnr`, and for images smaller than 11x11.

    References:
        Mantiuk & Azimi, PCS 2021; Wang et al., IEEE TIP 2004.

    >>> x = np.linspace(0, 1, 16 * 16).reshape(16, 16)
    >>> round(pu21_ssim(x, x), 9)
    1.0
    """
    x, y = _pu21_prepare(test, reference, scale, display_peak)
    _check_min_size(x, SSIM_WIN, "pu21_ssim", "the 11x11 window must fit inside the image")
    vx, vy = pu21_encode(_luminance(x)), pu21_encode(_luminance(y))
    return _ssim_cs(vx, vy, PU21_PEAK)[0]


INFO["pu21_ssim"] = MetricInfo(
    "pu21_ssim", pu21_ssim, True, "hdr", (-1.0, 1.0),
    "SSIM (L = 256) of PU21-encoded luminance (reference P99.9 at 1000 cd/m^2)",
    "Mantiuk & Azimi, PCS 2021 (PU21, banding_glare); Wang et al., IEEE TIP 2004",
)


#: The package behind :func:`hdr_flip` (distribution ``flip-evaluator``; the extra ``flip``).
FLIP_MODULE = "flip_evaluator"
_import_module = importlib.import_module  # module attribute so tests can simulate absence


def _flip() -> Any:
    try:
        return _import_module(FLIP_MODULE)
    except ImportError as exc:
        raise MissingResourceError(
            "hdr_flip needs NVIDIA's FLIP, the package flip-evaluator, which is not "
            'installed: run pip install "expokit[flip]"'
        ) from exc


def hdr_flip(test: np.ndarray, reference: np.ndarray, *, ppd: float | None = None) -> float:
    """HDR-FLIP: mean of the HDR-FLIP error map of NVIDIA's ``flip-evaluator``.

    HDR-FLIP tone maps both images (ACES) at a range of exposures chosen from the reference,
    computes LDR-FLIP at each and keeps the per-pixel maximum; the result is the mean of that
    map. Images are linear sRGB radiance in any unit (the exposure range follows the
    reference, so a common factor hardly changes the value); a grey image is compared as
    three equal channels.

    Args:
        test: HDR image to score, linear float ``(H, W)`` or ``(H, W, 3)``, >= 0.
        reference: ground-truth HDR image, same shape.
        ppd: observer's pixels per degree of visual angle; None: FLIP's default, about 67
            (a 0.7 m wide, 3840 pixel display seen from 0.7 m).

    Returns:
        Mean FLIP error in [0, 1]; 0 for identical images; lower is better.

    Raises:
        InputError: for integer or mismatched images, or a bad ``ppd``.
        MissingResourceError: if ``flip-evaluator`` is not installed (``pip install
            "expokit[flip]"``).

    References:
        P. Andersson, J. Nilsson, P. Shirley, T. Akenine-Moller, "Visualizing Errors in
        Rendered High Dynamic Range Images", Eurographics 2021 (short paper);
        github.com/NVlabs/flip.

    >>> x = np.full((16, 16, 3), 2.0)
    >>> try:
    ...     err = hdr_flip(x, x)
    ... except MissingResourceError:  # pip install "expokit[flip]"
    ...     err = 0.0
    >>> err
    0.0
    """
    if ppd is not None and not (isinstance(ppd, (int, float)) and math.isfinite(ppd) and ppd > 0):
        raise InputError(f"ppd must be a finite number > 0 (pixels per degree), got {ppd!r}")
    x = _radiance(test, "test")
    y = _radiance(reference, "reference")
    check_same_geometry(x, y, name="test", ref_name="reference")
    if x.shape[2] not in (1, 3):
        raise InputError(f"hdr_flip takes grey or RGB images, got {x.shape[2]} channels")
    flip = _flip()
    if x.shape[2] == 1:
        x, y = np.repeat(x, 3, axis=2), np.repeat(y, 3, axis=2)
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    parameters = {} if ppd is None else {"ppd": float(ppd)}
    _, mean_error, _ = flip.evaluate(y32, x32, "HDR", applyMagma=False, parameters=parameters)
    return float(mean_error)


INFO["hdr_flip"] = MetricInfo(
    "hdr_flip", hdr_flip, False, "hdr", (0.0, 1.0),
    "mean HDR-FLIP error (NVIDIA FLIP, flip-evaluator package) of linear HDR images",
    "Andersson et al., Eurographics 2021 (HDR-FLIP)",
)
