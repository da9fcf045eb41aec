"""Weighting functions for camera-response calibration and radiance merging.

Each function maps display-referred code values normalised to [0, 1] (``code / 255`` for
8-bit images) to a weight in [0, 1] saying how much a pixel with that value is trusted. All of
them are 0 at the clipped ends (0 and 1), where a code value says only "at most" or "at least",
and peak at 1. They are evaluated on the ``L`` code levels once (a look-up table), so their
cost does not matter.

The dict :data:`WEIGHTINGS` holds them by name (the CLI's ``--weighting`` choices) and
:func:`get_weighting` resolves a name or passes a callable through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

import numpy as np

from ..errors import InputError

#: A weighting function: code values in [0, 1] -> weights in [0, 1], same shape.
WeightingFunction: TypeAlias = Callable[[np.ndarray], np.ndarray]

#: Names of the built-in weighting functions.
Weighting = Literal["triangle", "gaussian", "uniform", "tent_clipped"]


def _as_unit(z: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(z, dtype=np.float32), 0.0, 1.0)


def weighting_triangle(z: np.ndarray) -> np.ndarray:
    """Debevec & Malik's hat function: ``1 - |2z - 1|``.

    Args:
        z: code values normalised to [0, 1] (values outside are clipped).

    Returns:
        float32 weights in [0, 1], same shape: 0 at 0 and 1, 1 at mid-grey.

    References:
        P. E. Debevec and J. Malik, "Recovering High Dynamic Range Radiance Maps from
        Photographs", SIGGRAPH 1997, section 2.1, eq. 4 (``w(z) = z - Zmin`` below the middle,
        ``Zmax - z`` above), here divided by the half range so the peak is 1.

    >>> weighting_triangle(np.array([0.0, 0.25, 0.5, 1.0])).tolist()
    [0.0, 0.5, 1.0, 0.0]
    """
    x = _as_unit(z)
    return (1.0 - np.abs(2.0 * x - 1.0)).astype(np.float32)


def weighting_gaussian(z: np.ndarray) -> np.ndarray:
    """Robertson et al.'s Gaussian-like weight, shifted and scaled to be 0 at the ends.

    ``w = (exp(-(4z - 2)^2) - exp(-4)) / (1 - exp(-4))``: the paper's
    ``exp(-4 (z - 127.5)^2 / 127.5^2)`` for 8-bit codes, lowered by its value at the ends
    (0.018) so that clipped pixels get no weight (the same choice as OpenCV's
    ``MergeRobertson``).

    Args:
        z: code values normalised to [0, 1] (values outside are clipped).

    Returns:
        float32 weights in [0, 1], same shape.

    References:
        M. A. Robertson, S. Borman and R. L. Stevenson, "Estimation-theoretic approach to
        dynamic range enhancement using multiple exposures", J. Electronic Imaging 12(2),
        2003, section 3.3 (weighting function ``w_ij``).

    >>> [round(v, 3) for v in weighting_gaussian(np.array([0.0, 0.5, 1.0])).tolist()]
    [0.0, 1.0, 0.0]
    """
    x = _as_unit(z)
    e4 = np.float32(np.exp(-4.0))
    v = 4.0 * x - 2.0
    return np.clip((np.exp(-v * v) - e4) / (1.0 - e4), 0.0, 1.0).astype(np.float32)


def weighting_uniform(z: np.ndarray) -> np.ndarray:
    """Equal weight 1 for every code value strictly between the clipped ends 0 and 1.

    Args:
        z: code values normalised to [0, 1].

    Returns:
        float32 weights: 1 inside (0, 1), 0 at (or beyond) 0 and 1.

    >>> weighting_uniform(np.array([0.0, 0.01, 0.99, 1.0])).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    x = np.asarray(z, dtype=np.float32)
    return ((x > 0.0) & (x < 1.0)).astype(np.float32)


def weighting_tent_clipped(z: np.ndarray, *, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """Debevec's hat, set to 0 below ``low`` and above ``high``.

    Pixels near the ends carry compressed, noisy (dark) or soft-clipped (bright) information;
    the clipped tent ignores them entirely, as colour-hdri's ``weighting_function_Debevec1997``
    does with its ``domain_l`` / ``domain_h`` bounds.

    Args:
        z: code values normalised to [0, 1].
        low: values below this get weight 0.
        high: values above this get weight 0.

    Returns:
        float32 weights in [0, 1], same shape.

    References:
        Debevec & Malik 1997, eq. 4; T. Mansencal et al., colour-hdri,
        ``colour_hdri.weighting_function_Debevec1997``.

    >>> weighting_tent_clipped(np.array([0.02, 0.25, 0.5, 0.97])).tolist()
    [0.0, 0.5, 1.0, 0.0]
    """
    x = _as_unit(z)
    w = 1.0 - np.abs(2.0 * x - 1.0)
    return np.where((x >= low) & (x <= high), w, 0.0).astype(np.float32)


#: Built-in weighting functions by name.
WEIGHTINGS: dict[str, WeightingFunction] = {
    "triangle": weighting_triangle,
    "gaussian": weighting_gaussian,
    "uniform": weighting_uniform,
    "tent_clipped": weighting_tent_clipped,
}


def get_weighting(weighting: Weighting | str | WeightingFunction) -> WeightingFunction:
    """Resolve a weighting given by name (a key of :data:`WEIGHTINGS`) or as a callable.

    Raises:
        InputError: for an unknown name; the message lists the valid names.

    >>> get_weighting("triangle") is weighting_triangle
    True
    """
    if callable(weighting):
        return weighting
    if isinstance(weighting, str) and weighting in WEIGHTINGS:
        return WEIGHTINGS[weighting]
    raise InputError(
        f"weighting {weighting!r} is unknown: use one of {sorted(WEIGHTINGS)} "
        "or pass a function mapping code values in [0, 1] to weights"
    )


def weight_table(weighting: Weighting | str | WeightingFunction, levels: int) -> np.ndarray:
    """Evaluate a weighting on ``levels`` evenly spaced code values ``k / (levels - 1)``.

    Returns:
        float32 ``(levels,)`` weights, checked to be finite and >= 0.

    Raises:
        InputError: if the weighting is unknown or returns something other than finite
            non-negative numbers of the right shape.
    """
    fn = get_weighting(weighting)
    z = np.linspace(0.0, 1.0, levels, dtype=np.float32)
    try:
        w = np.asarray(fn(z), dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"weighting function {fn!r} failed on code values: {exc}") from exc
    if w.shape != z.shape or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(
            f"weighting function {fn!r} must return finite weights >= 0 of the input's shape "
            f"{z.shape}, got shape {w.shape}"
        )
    if not (w > 0).any():
        raise InputError(f"weighting function {fn!r} gives weight 0 to every code value")
    return w
