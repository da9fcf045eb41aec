"""Internal helpers of :mod:`expokit.hdr`: masks, code levels, responses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import row_strips
from ..errors import InputError

#: Code levels a calibration works on, by input dtype (uint16 is binned to 1024 levels).
CALIBRATION_LEVELS = {np.dtype(np.uint8): 256, np.dtype(np.uint16): 1024}

#: Largest code value of each integer dtype.
CODE_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def check_masks(
    mask: object, count: int, shape: tuple[int, int], *, name: str = "mask"
) -> list[np.ndarray | None]:
    """Normalise ``mask`` to one boolean ``(H, W)`` array (or None) per image.

    Accepted: None; one ``(H, W)`` array for all images; an ``(N, H, W)`` array; a sequence of
    N entries, each None or ``(H, W)``. Nonzero / True marks a pixel to ignore.
    """
    if mask is None:
        return [None] * count
    if isinstance(mask, np.ndarray) and mask.ndim == 2:
        m = _one_mask(mask, shape, name)
        return [m] * count
    if isinstance(mask, np.ndarray) and mask.ndim == 3 and mask.shape[0] == count:
        return [_one_mask(m, shape, f"{name}[{i}]") for i, m in enumerate(mask)]
    if isinstance(mask, Sequence) and not isinstance(mask, (str, bytes)):
        if len(mask) != count:
            raise InputError(
                f"{name} holds {len(mask)} entries for {count} image(s): give one (H, W) "
                "mask per image, or a single (H, W) mask for all"
            )
        return [None if m is None else _one_mask(m, shape, f"{name}[{i}]")
                for i, m in enumerate(mask)]
    raise InputError(
        f"{name} must be None, an (H, W) boolean array or one per image, got "
        f"{type(mask).__name__} of shape {getattr(mask, 'shape', '?')}"
    )


def _one_mask(m: object, shape: tuple[int, int], name: str) -> np.ndarray:
    a = np.asarray(m)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.shape != shape:
        raise InputError(
            f"{name} has shape {a.shape}, expected {shape} (the images' height and width)"
        )
    return a.astype(bool, copy=False)


def any_mask(masks: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """Union of per-image masks (None when no image has one)."""
    out = None
    for m in masks:
        if m is not None:
            out = m.copy() if out is None else (out | m)
    return out


def to_codes(img: np.ndarray, levels: int) -> np.ndarray:
    """Integer code values of ``img`` on ``levels`` levels (``round(v * (levels - 1))``).

    uint8 images on 256 levels are returned as they are (no copy); otherwise a uint16 array.
    """
    top = CODE_MAX[img.dtype]
    if top + 1 == levels:
        return img
    out = np.empty(img.shape, np.uint16)
    scale = np.float32((levels - 1) / top)
    for y0, y1 in row_strips(img.shape[0], 256):
        v = img[y0:y1].astype(np.float32)
        v *= scale
        np.rint(v, out=v)
        out[y0:y1] = v
    return out


def check_response(response: object, channels: int, *, name: str = "response") -> np.ndarray:
    """Check an inverse camera response and return it as float64 ``(L, channels)``.

    Accepts ``(L,)``, ``(L, 1)``, ``(L, C)`` and OpenCV's ``(L, 1, C)``; one column is used for
    every channel. Values must be finite and >= 0 with a positive maximum.
    """
    try:
        r = np.asarray(response, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be an array of shape (L, C), got {response!r}") from exc
    if r.ndim == 3 and r.shape[1] == 1:
        r = r[:, 0, :]
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] not in (1, channels):
        raise InputError(
            f"{name} has shape {np.shape(response)}, expected (L, {channels}) with L >= 2 code "
            "levels (as returned by calibrate_debevec / calibrate_robertson) or (L, 1)"
        )
    if not np.isfinite(r).all() or (r < 0).any() or not (r > 0).any():
        raise InputError(
            f"{name} must hold finite values >= 0 (relative exposure per code value) with some "
            "> 0; recalibrate it"
        )
    if r.shape[1] == 1 and channels > 1:
        r = np.repeat(r, channels, axis=1)
    return r


def log_response(response: np.ndarray) -> np.ndarray:
    """``ln`` of a response, with values below 1e-9 of its maximum floored there."""
    floor = 1e-9 * float(response.max())
    return np.log(np.maximum(response, floor))


def interp_columns(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Evaluate per-channel tables ``(L, C)`` at normalised positions ``values (..., C)``.

    Linear interpolation between levels ``k / (L - 1)``; float32 result of ``values``' shape.
    """
    levels = table.shape[0]
    xp = np.linspace(0.0, 1.0, levels)
    out = np.empty(values.shape, np.float32)
    for c in range(values.shape[-1]):
        out[..., c] = np.interp(values[..., c], xp, table[:, c])
    return out
