"""Fill masked pixels of a bracket before fusion (marker colours, shifted-in borders)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .._checks import check_stack, dtype_scale, to_float32
from ..color import linear_to_srgb, srgb_to_linear
from ..errors import InputError


def fill_masked(images: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Replace each frame's masked pixels by the nearest exposure that has them.

    Fusion has no notion of an invalid pixel: a marker colour such as the pure blue (0, 0, 255)
    that Debevec's Memorial PNGs paint on shifted-in borders is fused like any colour and tints
    the result. This fills, in every frame, the masked pixels with the same pixels of the
    frame nearest in brightness that is valid there, brought to the frame's own brightness by
    one gain in linear light (sRGB-decoded; the gain is the ratio of the two frames' means over
    the pixels valid and unclipped in both). Pixels masked in every frame take the value of the
    nearest valid pixel of the same frame. Unmasked pixels are left untouched, and the frames
    keep their dtype, so any fusion method can run on the result.

    Args:
        images: the bracket, ``(H, W, C)`` uint8, uint16 or float in [0, 1], any order.
        masks: bool ``(H, W)`` per frame, True = invalid (e.g. from
            :func:`expokit.hdr.invalid_mask`).

    Returns:
        New arrays, one per frame (inputs are not modified).

    Raises:
        InputError: if the counts or sizes disagree, or a frame is masked everywhere.

    >>> a = np.full((8, 8, 3), 100, np.uint8); b = np.full((8, 8, 3), 200, np.uint8)
    >>> a[0, 0] = (0, 0, 255)  # the marker: filled from b, brought down to a's brightness
    >>> m = [np.zeros((8, 8), bool), np.zeros((8, 8), bool)]; m[0][0, 0] = True
    >>> fill_masked([a, b], m)[0][0, 0].tolist()
    [100, 100, 100]
    """
    frames = check_stack(images, name="images")
    if len(masks) != len(frames):
        raise InputError(f"masks has {len(masks)} entries for {len(frames)} images: give one "
                         "(H, W) mask per image")
    h, w = frames[0].shape[:2]
    ms = []
    for i, m in enumerate(masks):
        m = np.asarray(m, dtype=bool)
        if m.shape != (h, w):
            raise InputError(f"mask {i + 1} has shape {m.shape}, expected {(h, w)} (one "
                             "boolean per pixel, True = invalid)")
        if m.all():
            raise InputError(f"mask {i + 1} covers every pixel of image {i + 1}: leave that "
                             "image out instead")
        ms.append(m)
    if not any(m.any() for m in ms):
        return [f.copy() for f in frames]

    lin = [srgb_to_linear(np.clip(to_float32(f), 0.0, 1.0)) for f in frames]
    means = [float(x[~m].mean()) for x, m in zip(lin, ms, strict=True)]
    order = np.argsort(means, kind="stable")
    rank = np.empty(len(frames), int)
    rank[order] = np.arange(len(frames))
    out = []
    for i, f in enumerate(frames):
        todo = ms[i].copy()
        if not todo.any():
            out.append(f.copy())
            continue
        filled = lin[i].copy()
        # Sources by distance in brightness rank; ties go to the darker frame.
        for j in sorted(range(len(frames)), key=lambda j: (abs(rank[j] - rank[i]), rank[j])):
            if j == i or not todo.any():
                continue
            take = todo & ~ms[j]
            if not take.any():
                continue
            filled[take] = lin[j][take] * _gain(lin[j], lin[i], ~(ms[i] | ms[j]))
            todo &= ~take
        if todo.any():  # masked in every frame: nearest valid pixel of this frame
            idx = ndimage.distance_transform_edt(todo, return_distances=False,
                                                 return_indices=True)
            filled[todo] = filled[idx[0][todo], idx[1][todo]]
        enc = linear_to_srgb(np.clip(filled, 0.0, 1.0))
        new = f.copy()
        if f.dtype.kind == "u":
            top = 1.0 / dtype_scale(f.dtype)
            new[ms[i]] = np.rint(enc[ms[i]] * top).astype(f.dtype)
        else:
            new[ms[i]] = enc[ms[i]].astype(f.dtype)
        out.append(new)
    return out


def _gain(src: np.ndarray, dst: np.ndarray, common: np.ndarray) -> float:
    """Linear gain that takes ``src`` to ``dst``'s brightness over their common good pixels."""
    s, d = src.max(axis=2), dst.max(axis=2)
    ok = common & (s > 0.002) & (s < 0.9) & (d > 0.002) & (d < 0.9)
    if np.count_nonzero(ok) < 16:
        return 1.0
    return float(np.mean(dst.mean(axis=2)[ok]) / max(np.mean(src.mean(axis=2)[ok]), 1e-12))
