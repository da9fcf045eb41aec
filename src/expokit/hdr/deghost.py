"""Deghosting by consistency with a reference exposure (Grosch 2006, Khan et al. 2006 style).

A pixel of exposure ``j`` is used in the merge only as far as the radiance it implies agrees
with the radiance implied by the *reference* exposure at the same pixel. Each code value does
not give one radiance but an interval: the radiances that quantisation and noise could have
mapped to that code, through the camera response and the exposure time,

    [ln I(v - delta) - ln t,  ln I(v + delta) - ln t],   delta = half a code step + noise,

open-ended at the clipped ends (a black code says "at most", a white one "at least"). So a
reference pixel that is well exposed pins the radiance down tightly, a clipped one only bounds
it, and the test works across the whole range without a separate rule for clipped pixels.
Frame ``j``'s weight is multiplied by

    c = clip(1 - d / soft, 0, 1),   d = distance between the two intervals (0 if they overlap),

so consistent pixels keep their full weight, and the weight fades to zero over ``soft``
(natural-log units) beyond what noise explains. The reference frame always keeps its own
weight; where every other frame disagrees the merge falls back to the reference alone, and
where that has weight 0 as well (clipped), to the reference's own value.

References:
    T. Grosch, "Fast and robust high dynamic range image generation with camera and object
    movement", Vision, Modeling and Visualization 2006 (prediction of each exposure from a
    reference through the response and the exposure ratio; error threshold).
    E. A. Khan, A. O. Akyuz and E. Reinhard, "Ghost removal in high dynamic range images",
    ICIP 2006 (down-weighting pixels unlikely to belong to the background).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import InputError

#: Deghosting methods accepted by the merge functions' ``deghost`` argument.
Deghost = Literal["reference"]
DEGHOSTERS: tuple[str, ...] = ("reference",)

#: Noise allowance, in normalised code units, added to half a quantisation step (3 of 255).
GHOST_NOISE = 3.0 / 255.0
#: Width (natural-log units of radiance) over which the weight of an inconsistent pixel fades.
GHOST_SOFT = 0.2


def check_deghost(deghost: object) -> str | None:
    """Validate the ``deghost`` argument (None or a name in :data:`DEGHOSTERS`)."""
    if deghost is None:
        return None
    if isinstance(deghost, str) and deghost in DEGHOSTERS:
        return deghost
    raise InputError(
        f"deghost {deghost!r} is unknown: use None (no deghosting) or one of {list(DEGHOSTERS)}"
    )


def interval_tables(
    log_resp: np.ndarray, code_max: int, *, noise: float = GHOST_NOISE
) -> tuple[np.ndarray, np.ndarray]:
    """Log-exposure intervals explained by each code value (before dividing by the time).

    Args:
        log_resp: ``(G, C)`` ``ln I`` at the ``G`` grid values ``k / (G - 1)``.
        code_max: the input's largest code (255, 65535; for float input the grid's ``G - 1``),
            which sets half a quantisation step.
        noise: extra allowance in normalised code units.

    Returns:
        ``(lo, hi)``, each float32 ``(G, C)``: the smallest and largest ``ln I`` within
        ``delta = 0.5 / code_max + noise`` of each grid value; ``-inf`` / ``+inf`` where the
        window reaches past 0 / 1 (clipped: unbounded on that side).
    """
    grid = log_resp.shape[0]
    delta = 0.5 / code_max + noise
    half = max(1, int(np.ceil(delta * (grid - 1))))
    size = 2 * half + 1
    from scipy.ndimage import maximum_filter1d, minimum_filter1d  # here: the CLI loads hdr at start

    lo = minimum_filter1d(log_resp, size, axis=0, mode="nearest").astype(np.float32)
    hi = maximum_filter1d(log_resp, size, axis=0, mode="nearest").astype(np.float32)
    v = np.linspace(0.0, 1.0, grid)
    lo[v - delta <= 0.0] = -np.inf
    hi[v + delta >= 1.0] = np.inf
    return lo, hi


def consistency(
    lo: np.ndarray,
    hi: np.ndarray,
    lo_ref: np.ndarray,
    hi_ref: np.ndarray,
    *,
    soft: float = GHOST_SOFT,
) -> np.ndarray:
    """Weight factor in [0, 1] from the distance between two log-radiance intervals.

    ``d = max(0, lo - hi_ref, lo_ref - hi)``; returns ``clip(1 - d / soft, 0, 1)`` (float32).

    >>> consistency(np.array([0.0, 0.1, 2.0]), np.array([0.2, 0.3, 2.2]),
    ...             np.array([0.1, 0.4, 0.0]), np.array([0.3, 0.5, 1.9])).round(3).tolist()
    [1.0, 0.5, 0.5]
    """
    d = np.maximum(lo - hi_ref, lo_ref - hi)
    np.maximum(d, 0.0, out=d)
    d *= np.float32(-1.0 / soft)
    d += np.float32(1.0)
    return np.clip(d, 0.0, 1.0, out=d).astype(np.float32, copy=False)
