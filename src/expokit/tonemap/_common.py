"""Helpers shared by the tone-mapping operators: input and option checks, the log-average
luminance, colour re-application and display encoding.

Everything here works in float32 on whole arrays; the operators differ only in how they map
luminance.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import cv2
import numpy as np

from .._checks import check_number as _finite
from .._checks import check_positive as check_positive
from .._checks import check_radiance as _check_radiance
from ..color import srgb_encode_inplace
from ..errors import InputError

log = logging.getLogger(__name__)

#: Display encodings an operator can return: sRGB code values or linear display light.
Encoding = Literal["srgb", "linear"]

#: Relative floor of the luminance in logarithms: max(L) * 1e-6. Relative, so that scaling the
#: radiance by k scales every intermediate by k and the operators stay scale invariant.
LOG_FLOOR = 1e-6


def check_radiance(radiance: object, *, name: str = "radiance") -> np.ndarray:
    """Check linear radiance for a tone mapper (see :func:`expokit._checks.check_radiance`)."""
    return _check_radiance(radiance, name=name, user="tone mapping", hint=(
        "read .exr/.hdr files with expokit.io.read_image or merge a bracket with expokit.hdr"))


def check_range(name: str, value: object, lo: float, hi: float, hint: str, *,
                lo_open: bool = False) -> float:
    """``value`` as a float in ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``)."""
    v = _finite(name, value, hint)
    if not (lo < v if lo_open else lo <= v) or not v <= hi:
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
        raise InputError(f"{name} must be in {interval} ({hint}), got {value!r}")
    return v


def check_int(name: str, value: object, lo: int, hi: int, hint: str) -> int:
    """``value`` as an int in ``[lo, hi]``; whole floats such as ``8.0`` (from the CLI) pass."""
    v = _finite(name, value, hint)
    if not v.is_integer() or not lo <= v <= hi:
        raise InputError(f"{name} must be a whole number in [{lo}, {hi}] ({hint}), got {value!r}")
    return int(v)


def check_saturation(saturation: object) -> float:
    """The colour exponent every operator takes, ``(C / Lw) ** saturation``, in [0, 10]."""
    return check_range("saturation", saturation, 0.0, 10.0, "colour exponent, 1 keeps the "
                       "colours")


def check_encoding(encoding: object) -> Encoding:
    if encoding not in ("srgb", "linear"):
        raise InputError(
            f"encoding must be 'srgb' (display code values) or 'linear' (display light "
            f"before the sRGB transfer function), got {encoding!r}"
        )
    return encoding  # type: ignore[return-value]


def log_floor(lum: np.ndarray) -> float:
    """The luminance floor used in logarithms: ``LOG_FLOOR * max(lum)`` (0 for a black image)."""
    return float(lum.max()) * LOG_FLOOR


def log_average(lum: np.ndarray) -> float:
    """Geometric mean ``exp(mean(log(max(L, floor))))`` of the luminance (Reinhard 2002 eq. 1,
    with a relative floor instead of the additive delta, so it scales with the radiance).
    Returns 0 for an all-black image."""
    floor = log_floor(lum)
    if floor <= 0.0:
        return 0.0
    logs = cv2.log(np.maximum(lum, np.float32(floor)))
    return float(math.exp(cv2.mean(logs)[0]))


def apply_luminance(img: np.ndarray, lum: np.ndarray, new_lum: np.ndarray,
                    saturation: float) -> np.ndarray:
    """Re-colour a tone-mapped luminance: ``C_out = (C / L) ** saturation * L_out``.

    Colour ratios are kept exactly at ``saturation`` = 1 (Schlick 1994's colour treatment, as
    used by Reinhard 2002, Drago 2003 and Mantiuk 2006). Black pixels (L = 0) stay black.
    ``new_lum`` may be overwritten. Returns float32 ``(H, W, C)``.
    """
    if img.shape[2] == 1:
        return new_lum[..., None]
    safe = np.maximum(lum, np.float32(np.finfo(np.float32).tiny))
    if saturation == 1.0:
        gain = np.divide(new_lum, safe, out=new_lum)
        return img * gain[..., None]
    ratio = img / safe[..., None]
    cv2.pow(ratio, float(saturation), dst=ratio)
    ratio *= new_lum[..., None]
    return ratio


def encode(display: np.ndarray, encoding: Encoding) -> np.ndarray:
    """Clip linear display light to [0, 1] (in place) and apply the sRGB transfer function
    if asked. Returns float32."""
    out = np.clip(display, 0.0, 1.0, out=display).astype(np.float32, copy=False)
    if encoding == "srgb":
        out = srgb_encode_inplace(np.ascontiguousarray(out))
    return out
