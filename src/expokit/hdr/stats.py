"""Statistics of merged HDR radiance."""

from __future__ import annotations

import numpy as np

from .._checks import check_radiance


def dynamic_range(radiance: np.ndarray, *, low: float = 0.1, high: float = 99.9) -> float:
    """The scene's dynamic range: a high percentile of luminance over a low one.

    Luminance here is the mean of the channels; only pixels with luminance > 0 count, and the
    percentiles (not the extremes) keep a few hot or black pixels from deciding the answer.

    Args:
        radiance: linear radiance ``>= 0``, ``(H, W, C)`` or ``(H, W)``.
        low: the lower percentile (0-100).
        high: the upper percentile (0-100), above ``low``.

    Returns:
        The ratio ``P_high / P_low`` (a contrast ``N:1``); 0.0 when no pixel is above 0.

    Raises:
        InputError: for radiance that is not a finite non-negative array, or percentiles out
            of order.

    >>> ramp = np.geomspace(1.0, 1000.0, 1000, dtype=np.float32).reshape(20, 50, 1)
    >>> round(dynamic_range(ramp, low=0, high=100))
    1000
    """
    from ..errors import InputError

    if not 0 <= low < high <= 100:
        raise InputError(f"percentiles low={low}, high={high}: need 0 <= low < high <= 100")
    rad = check_radiance(radiance, name="radiance", user="dynamic_range")
    lum = rad.mean(axis=2) if rad.ndim == 3 else rad
    pos = lum[lum > 0]
    if not pos.size:
        return 0.0
    return float(np.percentile(pos, high) / max(float(np.percentile(pos, low)), 1e-12))
