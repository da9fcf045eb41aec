"""Camera RAW files through the optional ``rawpy`` (LibRaw) dependency."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

import numpy as np

from .._checks import to_float32
from ..errors import InputError, MissingResourceError

logger = logging.getLogger(__name__)


def import_rawpy(path: Path) -> ModuleType:
    """Import rawpy or explain how to install it.

    Raises:
        MissingResourceError: if rawpy is not installed.
    """
    try:
        import rawpy
    except ImportError:
        raise MissingResourceError(
            f"{path.name} is a camera RAW file and reading RAW needs rawpy: "
            'pip install "expokit[raw]" (or convert it to 16-bit TIFF first)'
        ) from None
    return rawpy


def read_raw(path: Path) -> np.ndarray:
    """Demosaic a RAW file to linear float32 RGB in [0, 1].

    LibRaw settings: camera white balance, linear output (``gamma=(1, 1)``), no automatic
    brightening, 16 bits per sample, sRGB primaries; the result is divided by 65535.

    Raises:
        MissingResourceError: if rawpy is not installed.
        InputError: if LibRaw cannot decode the file.
    """
    rawpy = import_rawpy(path)
    try:
        with rawpy.imread(str(path)) as raw:
            rgb = raw.postprocess(
                use_camera_wb=True,
                gamma=(1, 1),
                no_auto_bright=True,
                output_bps=16,
            )
    except Exception as exc:  # rawpy raises LibRawError subclasses, OSError, ...
        raise InputError(
            f"{path.name}: LibRaw cannot decode this RAW file ({type(exc).__name__}: {exc}); "
            "check the file or convert it with the camera maker's software"
        ) from None
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint16:
        raise InputError(
            f"{path.name}: LibRaw returned an unexpected {rgb.dtype} array of shape {rgb.shape}"
        )
    return to_float32(rgb)


def raw_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of the image :func:`read_raw` returns, without demosaicing."""
    rawpy = import_rawpy(path)
    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            height, width = int(sizes.height), int(sizes.width)
            if int(getattr(sizes, "flip", 0)) in (5, 6):  # LibRaw rotates these by 90 degrees
                height, width = width, height
    except Exception as exc:
        raise InputError(
            f"{path.name}: LibRaw cannot read this RAW file ({type(exc).__name__}: {exc})"
        ) from None
    return height, width
