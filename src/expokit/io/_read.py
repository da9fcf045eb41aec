"""``read_image``: one entry point for every image format expokit reads."""

from __future__ import annotations

import logging
import os

import numpy as np

from ._paths import HDR_EXTS, check_input_file
from ._rgbe import read_rgbe

logger = logging.getLogger(__name__)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file into an ``(H, W, C)`` RGB array (C = 3, or 1 for grey files).

    Args:
        path: a Radiance ``.hdr``/``.pic`` file.

    Returns:
        For ``.hdr``: float32 linear radiance >= 0 (see :mod:`expokit.io._rgbe` for the
        decoding convention and ``EXPOSURE=`` handling).

    Raises:
        InputError: if the file is missing, a folder, has an unknown extension or cannot be
            decoded; the message names the file.
    """
    p = check_input_file(path)
    ext = p.suffix.lower()
    if ext in HDR_EXTS:
        return read_rgbe(p)
    raise NotImplementedError(ext)
