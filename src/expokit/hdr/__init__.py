"""HDR radiance from brackets: camera response calibration, merging, deghosting.

The OpenCV stage vocabulary: calibrate (:func:`calibrate_debevec`, :func:`calibrate_robertson`)
-> merge (:func:`merge_debevec`, :func:`merge_robertson`) -> tone map (``expokit.tonemap``).
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

from collections.abc import Callable

import numpy as np

from .deghost import DEGHOSTERS, Deghost
from .masks import invalid_mask
from .merge import MERGERS, SATURATIONS, ResponseName, Saturation, merge_debevec, merge_robertson
from .response import (
    CalibrationChannels,
    calibrate_debevec,
    calibrate_robertson,
    response_linear,
    response_srgb,
)
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

#: Camera response calibrations by name (the CLI's ``--calibrate`` choices).
CALIBRATORS: dict[str, Callable[..., np.ndarray]] = {
    "debevec": calibrate_debevec,
    "robertson": calibrate_robertson,
}

__all__ = [
    "CALIBRATORS",
    "DEGHOSTERS",
    "MERGERS",
    "SATURATIONS",
    "WEIGHTINGS",
    "CalibrationChannels",
    "Deghost",
    "ResponseName",
    "Saturation",
    "Weighting",
    "WeightingFunction",
    "calibrate_debevec",
    "calibrate_robertson",
    "get_weighting",
    "invalid_mask",
    "merge_debevec",
    "merge_robertson",
    "response_linear",
    "response_srgb",
    "weighting_gaussian",
    "weighting_tent_clipped",
    "weighting_triangle",
    "weighting_uniform",
]
