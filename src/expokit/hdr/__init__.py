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


def calibrate_and_merge(images: Sequence[np.ndarray], exposure_times: Sequence[float],
                        method: MergeMethod = "debevec", *,
                        calibration: CalibrateMethod | None = "debevec",
                        calibration_options: dict[str, Any] | None = None,
                        mask: Sequence[np.ndarray] | None = None, deghost: bool = False,
                        **options: Any) -> np.ndarray:
    """What ``expokit merge`` does once the frames are read: calibrate the camera where the
    merge takes a response, then merge; ``expokit batch --op merge`` runs the same.

    Args:
        images, exposure_times, method: as :func:`merge`.
        calibration: calibration method (:data:`CALIBRATORS`), or None for a linear camera;
            used only by merges that take a ``response``.
        calibration_options: the calibration's keyword options (``channels``...).
        mask: invalid-pixel masks, one per image, for the calibration and merges that take
            one.
        deghost: suppress moving content, for merges that take ``deghost``.
        **options: the merge's other keyword options (:func:`merge`).

    Raises:
        InputError: as :func:`calibrate` and :func:`merge`.
    """
    from .._methods import keyword_options

    takes = set(keyword_options(MERGERS[method]) or ()) if method in MERGERS else set()
    merging = dict(options)
    if "response" in takes:
        merging["response"] = None if calibration is None else calibrate(
            images, exposure_times, calibration, mask=mask, **(calibration_options or {}))
    if "mask" in takes:
        merging["mask"] = mask
    if "deghost" in takes:
        merging["deghost"] = "reference" if deghost else None
    return merge(images, exposure_times, method, **merging)


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
    "calibrate_and_merge",
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
