"""Exposure fusion: classical Mertens; learned LUT fusion (NumPy); DeepFuse and HC-MEF (torch).

:data:`FUSERS` names every method; :func:`fuse` picks one by name (the CLI's ``--method``) and
refuses an option the method does not take.

>>> import numpy as np
>>> dark, bright = np.full((8, 8, 3), 0.2, np.float32), np.full((8, 8, 3), 0.8, np.float32)
>>> fuse([dark, bright], method="mertens", sigma=0.3).shape
(8, 8, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from .._methods import dispatch
from .deepfuse import fuse_deepfuse
from .hcmef import fuse_hcmef
from .lut import fuse_lut
from .mertens import fuse_mertens, mertens_weights

__all__ = ["FUSERS", "FuseMethod", "fuse", "fuse_deepfuse", "fuse_hcmef", "fuse_lut",
           "fuse_mertens", "mertens_weights"]


#: Names accepted by :func:`fuse` (the CLI's ``--method`` and ``expokit eval --fuse``).
FuseMethod = Literal["mertens", "deepfuse", "hcmef", "lut"]

#: Fusion methods by name.
FUSERS: dict[str, Callable[..., np.ndarray]] = {"mertens": fuse_mertens,
                                                "deepfuse": fuse_deepfuse,
                                                "hcmef": fuse_hcmef,
                                                "lut": fuse_lut}


def fuse(images: Sequence[np.ndarray], method: FuseMethod = "mertens", *,
         paths: Sequence[object] | None = None, **options: Any) -> np.ndarray:
    """Fuse a bracket with the method called ``method`` (see :data:`FUSERS`).

    Args:
        images: the bracket, display-referred arrays of one size (uint8, uint16 or float in
            [0, 1]); exposure times are not needed.
        method: ``"mertens"`` (:func:`fuse_mertens`), ``"lut"`` (:func:`fuse_lut`, learned
            look-up tables, NumPy only), ``"deepfuse"`` (:func:`fuse_deepfuse`) or ``"hcmef"``
            (:func:`fuse_hcmef`: the darkest and brightest shot); the last two need the torch
            extra.
        paths: file names, one per image, used only in error messages.
        **options: keyword options of the chosen method, e.g. ``sigma`` for mertens, ``tile``
            for deepfuse, ``model`` for hcmef.

    Returns:
        The fused image, display-referred float32 ``(H, W, C)`` in [0, 1].

    Raises:
        InputError: for an unknown method or an option the method does not take (the message
            lists the valid ones), or whatever the method raises.
    """
    return dispatch(FUSERS, method, "fusion method", (images,), options, fixed={"paths": paths})
