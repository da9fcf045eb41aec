"""Alignment of the frames of a bracket before merging or fusing them.

Two methods, by name in :data:`ALIGNERS`:

- ``"mtb"``: :func:`align_mtb`, median threshold bitmaps (Ward 2003), integer translations;
  fast and robust to exposure, for tripod or lightly jittered brackets.
- ``"homography"``: :func:`align_homography`, SIFT/ORB features on exposure-normalised
  greyscale and a RANSAC homography per frame, for hand-held brackets (rotation, perspective).

Both return an :class:`AlignResult` whose ``transforms`` map each frame's pixel coordinates to
the reference frame's, whose ``valid`` mask marks the pixels every aligned frame covers, and
whose ``residuals`` are in one unit for both methods (:func:`exposure_residual`: mean absolute
greyscale difference to the reference after exposure matching, a fraction of full scale). The
border a moved frame leaves uncovered is filled with 0 or by replicating the nearest covered
pixel (option ``edges``); :meth:`AlignResult.crop` cuts every frame to the common valid area.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from .._methods import dispatch
from ._common import (
    AlignResult,
    EdgeMode,
    exposure_residual,
    frame_motion,
    largest_valid_rectangle,
)
from .homography import FeatureKind, align_homography, equalised_grey
from .mtb import align_mtb, mtb_bitmaps

__all__ = [
    "ALIGNERS",
    "AlignMethod",
    "AlignResult",
    "EdgeMode",
    "FeatureKind",
    "align",
    "align_homography",
    "align_mtb",
    "equalised_grey",
    "exposure_residual",
    "frame_motion",
    "largest_valid_rectangle",
    "mtb_bitmaps",
]

#: Names of the alignment methods (the CLI's ``--method`` choices).
AlignMethod = Literal["mtb", "homography"]

#: Alignment methods by name.
ALIGNERS: dict[str, Callable[..., AlignResult]] = {
    "mtb": align_mtb,
    "homography": align_homography,
}


def align(
    images: Sequence[np.ndarray],
    method: AlignMethod = "mtb",
    *,
    reference: int | None = None,
    paths: Sequence[object] | None = None,
    **options: Any,
) -> AlignResult:
    """Align a bracket with the method named ``method`` (see :data:`ALIGNERS`).

    Args:
        images: the bracket, display-referred ``(H, W)`` or ``(H, W, C)`` arrays of one size
            and dtype (uint8, uint16 or float in [0, 1]).
        method: ``"mtb"`` (:func:`align_mtb`) or ``"homography"`` (:func:`align_homography`).
        reference: index of the frame to align the others to; ``None`` takes the middle one.
        paths: file names, one per image, used only in error messages.
        **options: keyword options of the chosen method (e.g. ``max_shift`` for ``"mtb"``,
            ``features`` for ``"homography"``, ``edges`` for both); an option the method does
            not take is an error.

    Returns:
        The chosen method's :class:`AlignResult`.

    Raises:
        InputError: unknown method or option, or whatever the method raises.

    >>> rng = np.random.default_rng(0)
    >>> img = rng.random((64, 64)).astype(np.float32)
    >>> align([img, img], "mtb").transforms[0][:2, 2].tolist()
    [0.0, 0.0]
    """
    return dispatch(ALIGNERS, method, "alignment method", (images,), options,
                    fixed={"reference": reference, "paths": paths})
