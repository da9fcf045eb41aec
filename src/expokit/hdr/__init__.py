"""HDR radiance from brackets: camera response calibration, merging, deghosting.

The OpenCV stage vocabulary: calibrate (:func:`calibrate_debevec`, :func:`calibrate_robertson`)
-> merge (:func:`merge_debevec`, :func:`merge_robertson`) -> tone map (``expokit.tonemap``).
:func:`merge_ahdr` merges three frames of a moving scene with a learned network instead (no
calibration; torch is imported when it runs, so this package imports without it).
Inputs are display-referred brackets (uint8 / uint16 code values, float in [0, 1]) with
exposure times in seconds; responses are inverse camera responses ``(L, C)`` (relative
exposure per code level); merged radiance is linear float32 >= 0 in relative units.

>>> from expokit.simulate import photograph, render_scene
>>> times = [0.05, 0.5, 5.0]
>>> imgs = photograph(render_scene(48, 64), times)
>>> response = calibrate_debevec(imgs, times, samples=200)
>>> merge_debevec(imgs, times, response=response).shape
(48, 64, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from .._methods import dispatch
from .deghost import DEGHOSTERS, Deghost
from .learned import merge_ahdr
from .masks import invalid_mask, parse_marker
from .merge import MERGERS, SATURATIONS, ResponseName, Saturation, merge_debevec, merge_robertson
from .response import (
    CalibrationChannels,
    calibrate_debevec,
    calibrate_robertson,
    response_linear,
    response_srgb,
)
from .stats import dynamic_range
from .weighting import (
    WEIGHTINGS,
    Weighting,
    WeightingFunction,
    get_weighting,
    weighting_gaussian,
    weighting_tent_clipped,
    weighting_triangle,
    weighting_uniform,
)

#: Names accepted by :func:`calibrate` (the CLI's ``--calibrate`` choices, with ``linear``
#: for no calibration).
CalibrateMethod = Literal["debevec", "robertson"]

#: Camera response calibrations by name.
CALIBRATORS: dict[str, Callable[..., np.ndarray]] = {
    "debevec": calibrate_debevec,
    "robertson": calibrate_robertson,
}

#: Names accepted by :func:`merge` (the CLI's ``merge --method`` choices).
MergeMethod = Literal["debevec", "robertson", "ahdr"]


def calibrate(images: Sequence[np.ndarray], exposure_times: Sequence[float],
              method: CalibrateMethod = "debevec", **options: Any) -> np.ndarray:
    """Recover the inverse camera response ``(L, C)`` with a method of :data:`CALIBRATORS`.

    ``images`` and ``exposure_times`` are those of :func:`calibrate_debevec`; ``options`` are
    the chosen method's keyword options (``channels`` for ``"debevec"``, ``max_iter`` for
    ``"robertson"``...).

    Raises:
        InputError: for an unknown method or an option the method does not take.
    """
    return dispatch(CALIBRATORS, method, "calibration method", (images, exposure_times), options)


def merge(images: Sequence[np.ndarray], exposure_times: Sequence[float],
          method: MergeMethod = "debevec", **options: Any) -> np.ndarray:
    """Linear radiance, float32 ``(H, W, C)`` >= 0, merged by a method of :data:`MERGERS`.

    Takes what :func:`merge_debevec` takes; ``options`` (``response``, ``weighting``,
    ``mask``, ``deghost``... for the classical merges; ``model``, ``tile``... for
    ``"ahdr"``, see :func:`merge_ahdr`) are checked against the chosen method's signature, so
    a misspelled one (or one the method does not take) is an
    :class:`~expokit.errors.InputError`, not ignored.
    """
    return dispatch(MERGERS, method, "merge method", (images, exposure_times), options)


__all__ = [
    "CALIBRATORS",
    "CalibrateMethod",
    "DEGHOSTERS",
    "MERGERS",
    "SATURATIONS",
    "WEIGHTINGS",
    "CalibrationChannels",
    "Deghost",
    "MergeMethod",
    "ResponseName",
    "Saturation",
    "Weighting",
    "WeightingFunction",
    "calibrate",
    "calibrate_debevec",
    "calibrate_robertson",
    "dynamic_range",
    "get_weighting",
    "invalid_mask",
    "parse_marker",
    "merge",
    "merge_ahdr",
    "merge_debevec",
    "merge_robertson",
    "response_linear",
    "response_srgb",
    "weighting_gaussian",
    "weighting_tent_clipped",
    "weighting_triangle",
    "weighting_uniform",
]
