"""Masks of pixels that must not take part in calibration or merging."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_image
from ..errors import InputError


def parse_marker(text: str) -> tuple[int, ...]:
    """A marker colour given as text, ``"0,0,255"`` -> ``(0, 0, 255)`` (``--mask-color``).

    Raises:
        InputError: if a part is not a whole number.

    >>> parse_marker("0, 0, 255")
    (0, 0, 255)
    """
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--mask-color {text!r}: expected R,G,B such as 0,0,255") from None


def invalid_mask(
    image: np.ndarray, *, marker: Sequence[float] = (0, 0, 255)
) -> np.ndarray:
    """Pixels painted in a marker colour (by default pure blue), e.g. shifted image borders.

    Debevec's Memorial Church PNGs paint the border areas that registration shifted in from
    outside the frame pure blue, (0, 0, 255) in RGB, and say they "should not be used in the
    HDR assembly process". Pass the result (one per image) as ``mask`` to
    :func:`~expokit.hdr.calibrate_debevec`, :func:`~expokit.hdr.calibrate_robertson` or
    :func:`~expokit.hdr.merge_debevec`.

    Args:
        image: ``(H, W, 3)`` RGB code values (uint8, uint16 or float in [0, 1]).
        marker: the marker colour in the image's own code values, RGB order
            (``(0, 0, 65535)`` for uint16, ``(0, 0, 1)`` for float images).

    Returns:
        bool ``(H, W)``: True where every channel equals the marker exactly.

    Raises:
        InputError: if the image is not an image or ``marker`` has the wrong length.

    >>> img = np.zeros((2, 2, 3), np.uint8); img[0, 1] = (0, 0, 255)
    >>> invalid_mask(img).tolist()
    [[False, True], [False, False]]
    """
    img = check_image(image, name="image")
    m = np.asarray(marker, dtype=np.float64).reshape(-1)
    if m.size != img.shape[2]:
        raise InputError(
            f"marker {tuple(marker)} has {m.size} value(s) but the image has {img.shape[2]} "
            "channel(s): give one value per channel (RGB order)"
        )
    out = np.ones(img.shape[:2], bool)
    for c in range(img.shape[2]):
        out &= img[:, :, c] == m[c].astype(img.dtype)
    return out
