"""Median threshold bitmap (MTB) alignment of a bracket by integer translations (Ward 2003).

Each frame is reduced to a bitmap that is 1 where the pixel is brighter than the frame's
median. Median thresholding is (nearly) invariant to exposure: the same half of the scene is
bright in a dark and in a light shot, so the bitmaps of different exposures can be compared
directly. Pixels close to the median flip with noise; an exclusion bitmap leaves them out.
The shift is found coarse to fine on an image pyramid: at each level the shift found one
level up is doubled and the best of the 9 candidates around it (a step of -1, 0 or +1 pixel
in x and y) is kept. ``max_bits`` levels reach shifts of up to ``2**max_bits - 1`` pixels.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cv2
import numpy as np

from .._checks import check_stack
from ..errors import InputError
from ._common import (
    AlignResult,
    EdgeMode,
    check_edges,
    check_paths,
    check_reference,
    exposure_residual,
    frame_label,
    grey01,
)

logger = logging.getLogger(__name__)

__all__ = ["align_mtb", "mtb_bitmaps"]

#: Stop building the pyramid when a level would be smaller than this (pixels, either side).
_MIN_LEVEL_SIZE = 8

#: The 8 non-zero candidate steps (dy, dx) tried around the doubled shift at each level.
_STEPS = [(sy, sx) for sy in (-1, 0, 1) for sx in (-1, 0, 1) if (sy, sx) != (0, 0)]


def mtb_bitmaps(grey: np.ndarray, exclude_range: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Median threshold bitmap and exclusion bitmap of one greyscale image.

    Args:
        grey: ``(H, W)`` greyscale on the 0..255 scale of 8-bit code values (floats allowed).
        exclude_range: pixels within this distance of the median are excluded (False in the
            exclusion bitmap), as they flip between exposures with noise.

    Returns:
        ``(threshold, exclusion)``: bool ``(H, W)`` arrays; ``threshold`` is ``grey > median``,
        ``exclusion`` is ``|grey - median| > exclude_range``.

    Raises:
        InputError: if ``grey`` is not a non-empty 2-D array.

    References:
        G. Ward, "Fast, robust image registration for compositing high dynamic range
        photographs from hand-held exposures", Journal of Graphics Tools 8(2), 2003, Sec. 2.

    >>> tb, eb = mtb_bitmaps(np.array([[0.0, 100.0], [102.0, 200.0]]))
    >>> tb.tolist(), eb.tolist()
    ([[False, False], [True, True]], [[True, False], [False, True]])
    """
    grey = np.asarray(grey)
    if grey.ndim != 2 or grey.size == 0:
        raise InputError(f"grey must be a non-empty 2-D (H, W) array, got shape {grey.shape}")
    med = np.float32(np.median(grey))
    threshold = grey > med
    exclusion = np.abs(grey - med) > exclude_range
    return threshold, exclusion


def _pyramid(grey: np.ndarray, levels: int) -> list[np.ndarray]:
    """Greyscale pyramid, finest first; each level is the 2x2 box average of the one before."""
    pyr = [grey]
    for _ in range(levels - 1):
        h, w = pyr[-1].shape
        h2, w2 = h // 2, w // 2
        if min(h2, w2) < _MIN_LEVEL_SIZE:
            break
        pyr.append(cv2.resize(pyr[-1][: 2 * h2, : 2 * w2], (w2, h2), interpolation=cv2.INTER_AREA))
    return pyr


def _overlap(
    shape: tuple[int, ...], dx: int, dy: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Slices of the reference and of the moving frame that meet after shifting by (dx, dy).

    The moving frame's pixel ``(x, y)`` lands on the reference's ``(x + dx, y + dy)``.
    Returns ``None`` when they do not overlap.
    """
    h, w = shape[:2]
    x0, x1 = max(0, dx), min(w, w + dx)
    y0, y1 = max(0, dy), min(h, h + dy)
    if x0 >= x1 or y0 >= y1:
        return None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - dy, y1 - dy), slice(x0 - dx, x1 - dx))


def _bit_errors(
    ref: tuple[np.ndarray, np.ndarray], mov: tuple[np.ndarray, np.ndarray], dx: int, dy: int
) -> tuple[int, int]:
    """(differing, compared) pixel counts between the bitmaps after shifting ``mov``.

    ``differing`` counts pixels where the threshold bits differ and neither exclusion bitmap
    excludes them, i.e. ``popcount((tb1 XOR tb2) AND eb1 AND eb2)`` over the overlap, Ward's
    error; pixels shifted in from outside count as excluded.
    """
    sl = _overlap(ref[0].shape, dx, dy)
    if sl is None:
        return ref[0].size + 1, 0
    rs, ms = sl
    use = ref[1][rs] & mov[1][ms]
    diff = ref[0][rs] ^ mov[0][ms]
    diff &= use
    return int(np.count_nonzero(diff)), int(np.count_nonzero(use))


def _mtb_shift(
    ref_pyr: list[tuple[np.ndarray, np.ndarray]],
    mov_pyr: list[tuple[np.ndarray, np.ndarray]],
    max_shift: int | None,
) -> tuple[int, int]:
    """Coarse-to-fine 9-candidate search (Ward 2003, Sec. 3); returns the full-res shift."""
    dx = dy = 0
    for level in range(len(ref_pyr) - 1, -1, -1):
        dx, dy = 2 * dx, 2 * dy
        # The zero step first: it always passes the max_shift test and wins ties.
        best_err, _ = _bit_errors(ref_pyr[level], mov_pyr[level], dx, dy)
        best = (dx, dy)
        for sy, sx in _STEPS:
            cx, cy = dx + sx, dy + sy
            if max_shift is not None and max(abs(cx), abs(cy)) << level > max_shift:
                continue
            err, _ = _bit_errors(ref_pyr[level], mov_pyr[level], cx, cy)
            if err < best_err:
                best_err, best = err, (cx, cy)
        dx, dy = best
    return dx, dy


def align_mtb(
    images: Sequence[np.ndarray],
    *,
    reference: int | None = None,
    max_bits: int = 6,
    exclude_range: float = 4.0,
    max_shift: int | None = None,
    edges: EdgeMode = "zero",
    paths: Sequence[object] | None = None,
) -> AlignResult:
    """Align a bracket by integer translations with median threshold bitmaps (Ward 2003).

    Each frame is aligned directly to the reference. The greyscale used is Ward's
    ``(54 R + 183 G + 19 B) / 256`` of the code values; exposure differences do not matter,
    rotation and perspective are not modelled (use :func:`align_homography` for those).

    Args:
        images: the bracket, ``(H, W)`` or ``(H, W, C)``, display-referred uint8, uint16 or
            float in [0, 1]; one size and dtype.
        reference: index of the frame to align the others to; ``None`` takes the middle one
            (``len(images) // 2``), best when the frames are sorted by exposure.
        max_bits: pyramid levels; shifts up to ``2**max_bits - 1`` pixels are found
            (fewer when the image is too small for that many levels).
        exclude_range: half-width of the band around the median left out of the comparison,
            in 8-bit code values (1/255 of the full range, whatever the dtype).
        max_shift: largest shift in pixels, in x or y, that is accepted; ``None`` allows the
            full pyramid range. ``0`` measures the unaligned residuals.
        edges: what fills the border a shifted frame leaves uncovered: ``"zero"`` (black) or
            ``"replicate"`` (the nearest covered pixel, repeated). Either way it is False in
            ``valid``.
        paths: file names, one per image, used only in error messages.

    Returns:
        AlignResult with pure translations (a frame that needs no shift is an exact copy);
        ``residuals`` are :func:`~expokit.align.exposure_residual` of each shifted frame, the
        same unit as :func:`align_homography`'s. Uncovered borders are filled as ``edges``
        says and are False in ``valid``.

    Raises:
        InputError: fewer than 2 images, mixed sizes or dtypes, bad reference or options.

    References:
        G. Ward, "Fast, robust image registration for compositing high dynamic range
        photographs from hand-held exposures", Journal of Graphics Tools 8(2):17-30, 2003.

    >>> rng = np.random.default_rng(0)
    >>> big = cv2.resize(rng.random((20, 20), np.float32), (80, 80))
    >>> res = align_mtb([big[5:69, 3:67], big[8:72, 8:72]], reference=1)
    >>> res.transforms[0][:2, 2].tolist()
    [-5.0, -3.0]
    """
    check_paths(images, paths)
    stack = check_stack(images, paths=paths)
    ref = check_reference(reference, len(stack))
    if isinstance(max_bits, bool) or not isinstance(max_bits, (int, np.integer)) or not (
        1 <= max_bits <= 15
    ):
        raise InputError(f"max_bits must be an integer from 1 to 15, got {max_bits!r}")
    if not isinstance(exclude_range, (int, float, np.number)) or not (
        0 <= float(exclude_range) < 128
    ):
        raise InputError(
            f"exclude_range must be a number of 8-bit code values in [0, 128), got "
            f"{exclude_range!r}"
        )
    if max_shift is not None and (
        isinstance(max_shift, bool)
        or not isinstance(max_shift, (int, np.integer))
        or max_shift < 0
    ):
        raise InputError(f"max_shift must be a non-negative integer or None, got {max_shift!r}")
    check_edges(edges)

    levels = int(max_bits)
    if max_shift is not None:
        # L levels reach 2**L - 1 pixels: no need to go coarser than max_shift asks.
        levels = min(levels, max(1, math.ceil(math.log2(max_shift + 1))))

    excl = float(exclude_range)
    pyramids = []
    grey_ref = grey01(stack[ref])
    for im in stack:
        pyr = _pyramid(grey01(im) * np.float32(255.0), levels)
        pyramids.append([mtb_bitmaps(g, excl) for g in pyr])
    if len(pyramids[ref]) < levels:
        logger.debug(
            "image is too small for %d pyramid levels; using %d (shifts up to %d px)",
            levels, len(pyramids[ref]), 2 ** len(pyramids[ref]) - 1,
        )

    h, w = stack[0].shape[:2]
    valid = np.ones((h, w), dtype=bool)
    out: list[np.ndarray] = []
    transforms: list[np.ndarray] = []
    residuals: list[float] = []
    for i, im in enumerate(stack):
        orig_shape = np.shape(images[i])
        bit_error = 0.0
        if i != ref:
            dx, dy = _mtb_shift(pyramids[ref], pyramids[i], max_shift)
            err, n = _bit_errors(pyramids[ref][0], pyramids[i][0], dx, dy)
            bit_error = err / n if n else 1.0
        else:
            dx = dy = 0
        sl = _overlap((h, w), dx, dy)
        if sl is None:  # cannot happen: |shift| < image size is enforced by the overlap test
            raise InputError(f"{frame_label(i, paths)}: shift ({dx}, {dy}) leaves no overlap")
        rs, ms = sl
        if (dx, dy) == (0, 0):
            moved = im.copy()
        elif edges == "replicate":
            # Output pixel (x, y) shows frame pixel (x - dx, y - dy), clamped into the frame.
            rows = np.clip(np.arange(h) - dy, 0, h - 1)
            cols = np.clip(np.arange(w) - dx, 0, w - 1)
            moved = im[rows[:, None], cols[None, :]]
        else:
            moved = np.zeros_like(im)
            moved[rs] = im[ms]
        cover = np.zeros((h, w), dtype=bool)
        cover[rs] = True
        valid &= cover
        residual = 0.0 if i == ref else exposure_residual(grey_ref, grey01(moved), cover)
        out.append(moved.reshape(orig_shape))
        t = np.eye(3, dtype=np.float64)
        t[0, 2], t[1, 2] = dx, dy
        transforms.append(t)
        residuals.append(float(residual))
        logger.debug("%s: MTB shift (%d, %d), bitmap error %.4f, residual %.4f",
                     frame_label(i, paths), dx, dy, bit_error, residual)
    return AlignResult(images=out, transforms=transforms, residuals=residuals, reference=ref,
                       valid=valid)
