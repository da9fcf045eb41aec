"""Reference-based exposure correction baselines: histogram matching, global gain and gamma.

Both take the target exposure from a reference image (any size, any content), as UEC does, so
they are the fair classical comparison for :func:`expokit.correct.correct_exposure` with a
reference. Images are display-referred RGB (``uint8``, ``uint16`` or float in [0, 1]); the
results are float32 ``(H, W, 3)`` in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_image, to_float32
from ..color import REC709_LUMA
from ..errors import InputError

#: Rec. 709 luma weights, applied to display-referred code values.
_LUMA = np.asarray(REC709_LUMA, dtype=np.float64)
#: Floor of the luminance before the logarithm (half an 8-bit code value).
LOG_FLOOR = 0.5 / 255.0
#: The fitted gamma is clamped to this range (a flat image has no usable spread).
GAMMA_RANGE = (0.1, 10.0)


def check_rgb(img: object, name: str) -> np.ndarray:
    """Check a display-referred RGB image (integer code values or float in [0, 1]).

    Returns the checked array as given (no copy, no conversion).

    Raises:
        InputError: not an image, not 3 channels, or float values outside [0, 1].
    """
    x = check_image(img, name=name)
    if x.shape[2] != 3:
        raise InputError(f"{name} has {x.shape[2]} channel(s), expected 3 (RGB); "
                         "convert a greyscale image with np.repeat(img, 3, axis=2)")
    if x.dtype.kind == "f":
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise InputError(f"{name} has float values in [{lo:.4g}, {hi:.4g}], expected "
                             "display-referred [0, 1]; tone-map radiance first "
                             "(expokit.tonemap) or clip it")
    return x


def _rgb(img: object, name: str) -> np.ndarray:
    return to_float32(check_rgb(img, name))


def match_histograms_to(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Match each colour channel's histogram of ``image`` to that of ``reference``.

    scikit-image's ``exposure.match_histograms`` with ``channel_axis=-1`` (one cumulative
    histogram per channel; the reference may have another size).

    Args:
        image: display-referred RGB image ``(H, W, 3)``: uint8, uint16 or float in [0, 1].
        reference: display-referred RGB image whose exposure (histogram) is the target.

    Returns:
        float32 ``(H, W, 3)`` in [0, 1].

    Raises:
        InputError: for an argument that is not an RGB image or has floats outside [0, 1].

    >>> img = np.linspace(0, 1, 48, dtype=np.float32).reshape(4, 4, 3)
    >>> bool(np.allclose(match_histograms_to(img, img), img))
    True
    """
    from skimage.exposure import match_histograms

    x = _rgb(image, "image")
    ref = _rgb(reference, "reference")
    out = match_histograms(x, ref, channel_axis=-1)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def _log_luminance_stats(x: np.ndarray) -> tuple[float, float]:
    y = np.tensordot(x.astype(np.float64, copy=False), _LUMA, axes=([2], [0]))
    logy = np.log(np.maximum(y, LOG_FLOOR))
    return float(logy.mean()), float(logy.std())


def fit_gain_gamma(image: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Global gain ``g`` and gamma ``γ`` giving ``g * image**γ`` the reference's log-luminance.

    With ``Y`` the Rec. 709 luma of the display-referred values (floored at half an 8-bit code
    value) and ``μ``, ``σ`` the mean and standard deviation of ``log Y`` over all pixels,
    ``log(g Y**γ) = log g + γ log Y`` has mean ``μ_ref`` and spread ``σ_ref`` when
    ``γ = σ_ref / σ_in`` and ``log g = μ_ref - γ μ_in``. ``γ`` is clamped to [0.1, 10] (and is
    1 for a flat image). The fit is exact for grey images away from the floor and from
    clipping; for colour it uses the luma of the channels as a stand-in for the luma of the
    corrected channels.

    Args:
        image: display-referred RGB image ``(H, W, 3)``.
        reference: display-referred RGB image whose exposure is the target.

    Returns:
        ``(gain, gamma)``.

    Raises:
        InputError: as :func:`gain_gamma_to`.
    """
    x = _rgb(image, "image")
    ref = _rgb(reference, "reference")
    mu_in, sd_in = _log_luminance_stats(x)
    mu_ref, sd_ref = _log_luminance_stats(ref)
    gamma = sd_ref / sd_in if sd_in > 1e-6 else 1.0
    gamma = min(max(gamma, GAMMA_RANGE[0]), GAMMA_RANGE[1])
    return math.exp(mu_ref - gamma * mu_in), gamma


def gain_gamma_to(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Correct ``image`` with a global gain and gamma fitted to ``reference``.

    ``out = clip(g * image**γ, 0, 1)`` per channel, with ``(g, γ)`` from
    :func:`fit_gain_gamma` (mean and spread of the log luminance matched to the reference).

    Args:
        image: display-referred RGB image ``(H, W, 3)``: uint8, uint16 or float in [0, 1].
        reference: display-referred RGB image whose exposure is the target (any size).

    Returns:
        float32 ``(H, W, 3)`` in [0, 1].

    Raises:
        InputError: for an argument that is not an RGB image or has floats outside [0, 1].

    >>> grey = np.full((4, 4, 3), 0.25, np.float32)
    >>> round(float(gain_gamma_to(grey, np.full((4, 4, 3), 0.5, np.float32))[0, 0, 0]), 5)
    0.5
    """
    gain, gamma = fit_gain_gamma(image, reference)
    x = _rgb(image, "image")
    out = gain * np.power(x, np.float32(gamma))
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
