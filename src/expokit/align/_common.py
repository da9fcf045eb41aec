"""What every aligner shares: the result type, reference checks, greyscale, crop rectangles."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._checks import describe, dtype_scale
from ..errors import InputError

#: Greyscale weights of Ward (2003), ``(54 R + 183 G + 19 B) / 256`` (close to Rec. 709).
WARD_GREY = (54.0 / 256.0, 183.0 / 256.0, 19.0 / 256.0)

#: How the aligners fill the pixels of an aligned frame that its own content does not reach.
EdgeMode = Literal["zero", "replicate"]
_EDGES = ("zero", "replicate")

#: Greyscale levels counted as well exposed by :func:`exposure_residual` (code values in
#: [0, 1]): darker pixels are mostly noise and quantisation, brighter ones may be clipped.
WELL_EXPOSED = (0.02, 0.98)

#: Fewest well-exposed pixels both frames must share for :func:`exposure_residual` to be
#: defined.
MIN_RESIDUAL_PIXELS = 100

#: Bins of the frame's greyscale for its brightness transfer function to the reference.
_TRANSFER_BINS = 256


@dataclass(frozen=True, eq=False)
class AlignResult:
    """Aligned frames of a bracket and the transforms that aligned them.

    Attributes:
        images: the aligned frames, in input order, each with the dtype and shape of its input.
            Pixels that no part of a frame maps to are 0; ``valid`` says which pixels are real.
        transforms: one 3x3 float64 matrix per frame that maps the frame's pixel coordinates
            ``(x, y, 1)`` (x right, y down, pixel centres at integers) to the reference frame's;
            the identity for the reference. A translation by ``(dx, dy)`` means that content at
            ``(x, y)`` in the frame lies at ``(x + dx, y + dy)`` in the reference.
        residuals: one number per frame saying how well it fits the reference after alignment,
            in the same unit for every method (see :func:`exposure_residual`): the mean absolute
            difference between the reference's greyscale and the aligned frame's, after
            matching the frame's exposure to the reference's, as a fraction of the full code
            value range (0.01 = 1 % of full scale, about 2.5 levels of 8-bit). 0 for the
            reference and for identical content. Noise, the coarser code values of the darker
            frame and JPEG artefacts leave a floor (measured 0.004-0.011 on synthetic 8-bit
            brackets, 0.009-0.017 on the Memorial scans); the same brackets left 4-26 px out
            of alignment give 0.04-0.06, unrelated content about 0.2. Resampling (homography)
            smooths some noise, so it can read slightly lower than an integer shift. NaN when
            the two frames share fewer than 100 well-exposed pixels.
        reference: index of the frame the others were aligned to.
        valid: bool ``(H, W)`` mask of pixels covered by every aligned frame; crop to
            :meth:`crop_box` or mask the rest before merging. The pixels outside it are 0 or
            copies of the nearest covered pixel, as the aligner's ``edges`` option says.
    """

    images: list[np.ndarray]
    transforms: list[np.ndarray]
    residuals: list[float]
    reference: int
    valid: np.ndarray

    def crop_box(self) -> tuple[int, int, int, int]:
        """The largest axis-aligned rectangle inside ``valid``, as ``(top, bottom, left, right)``.

        Bounds are half-open: ``img[top:bottom, left:right]`` is the crop. All zeros when no
        pixel is valid.

        >>> r = AlignResult([], [], [], 0, np.pad(np.ones((2, 3), bool), 1))
        >>> r.crop_box()
        (1, 3, 1, 4)
        """
        return largest_valid_rectangle(self.valid)

    def crop(self) -> list[np.ndarray]:
        """The aligned frames cropped to :meth:`crop_box` (views of ``images``).

        >>> valid = np.pad(np.ones((2, 2), bool), 1)
        >>> r = AlignResult([np.arange(16).reshape(4, 4)], [], [], 0, valid)
        >>> r.crop()[0].tolist()
        [[5, 6], [9, 10]]
        """
        top, bottom, left, right = self.crop_box()
        return [im[top:bottom, left:right] for im in self.images]

    def common_area(self) -> list[np.ndarray]:
        """The aligned frames cropped to the area every frame covers, contiguous: what the
        ``--align`` option of ``fuse`` and ``merge`` goes on with.

        Raises:
            InputError: if that area is under 2 pixels high or wide.

        >>> r = AlignResult([np.arange(16).reshape(4, 4)], [], [], 0, np.ones((4, 4), bool))
        >>> r.common_area()[0].flags["C_CONTIGUOUS"]
        True
        """
        top, bottom, left, right = self.crop_box()
        if bottom - top < 2 or right - left < 2:
            raise InputError("after alignment the frames share no common area: they may not "
                             "show the same scene")
        return [np.ascontiguousarray(im) for im in self.crop()]


def check_edges(edges: object) -> str:
    """Check the aligners' ``edges`` option: ``"zero"`` or ``"replicate"``.

    Raises:
        InputError: for any other value.
    """
    if not isinstance(edges, str) or edges not in _EDGES:
        raise InputError(
            f"edges must be one of {list(_EDGES)} (0, or the nearest covered pixel, where a "
            f"moved frame leaves the picture), got {edges!r}"
        )
    return edges


def exposure_residual(grey_ref: np.ndarray, grey: np.ndarray, covered: np.ndarray) -> float:
    """How far an aligned frame is from the reference: mean absolute difference after exposure
    matching, as a fraction of the full code value range.

    The frames of a bracket differ in exposure, so their code values cannot be compared
    directly. The aligned frame's greyscale is first mapped to the reference's exposure by
    their empirical brightness transfer function: for each of 256 greyscale bins of the frame,
    the mean reference value of the pixels in that bin (any camera response and exposure
    ratio give a monotone relation, which this fits without assuming its shape). The residual
    is the mean of ``|reference - transfer(frame)|`` over the pixels the frame covers and that
    are well exposed (greyscale in [0.02, 0.98]) in both. Identical content gives 0 (exactly,
    for 8-bit frames); sensor noise, quantisation of the darker frame and JPEG artefacts leave
    a small floor; misaligned edges and texture raise it.

    The same number is computed for every alignment method, so residuals of ``"mtb"`` and
    ``"homography"`` can be compared.

    Args:
        grey_ref: ``(H, W)`` greyscale of the reference, code values in [0, 1] (:func:`grey01`).
        grey: ``(H, W)`` greyscale of the aligned frame, the same scale.
        covered: bool ``(H, W)``: pixels the aligned frame's own content covers.

    Returns:
        The residual in [0, 1]; NaN when fewer than 100 pixels are covered and well exposed
        in both frames (e.g. a nearly black or white frame).

    >>> ramp = np.linspace(0.1, 0.9, 10_000, dtype=np.float32).reshape(100, 100)
    >>> everywhere = np.ones((100, 100), bool)
    >>> round(exposure_residual(ramp, ramp ** 2, everywhere), 2)  # same content, other exposure
    0.0
    >>> shuffled = np.random.default_rng(0).permutation(ramp.ravel()).reshape(100, 100)
    >>> round(exposure_residual(ramp, shuffled, everywhere), 2)  # unrelated: 0.8 / 4
    0.2
    """
    lo, hi = WELL_EXPOSED
    use = covered & (grey_ref >= lo) & (grey_ref <= hi) & (grey >= lo) & (grey <= hi)
    count = int(np.count_nonzero(use))
    if count < MIN_RESIDUAL_PIXELS:
        return float("nan")
    # Unused pixels go to an extra bin whose differences are dropped: cheaper than gathering
    # the used ones (about 3x faster on 12 MP frames).
    bins = (grey * np.float32(_TRANSFER_BINS)).astype(np.int32)
    np.minimum(bins, _TRANSFER_BINS - 1, out=bins)
    bins[~use] = _TRANSFER_BINS
    bins = bins.ravel()
    ref = np.asarray(grey_ref, dtype=np.float32).ravel()
    sums = np.bincount(bins, weights=ref, minlength=_TRANSFER_BINS + 1)
    counts = np.bincount(bins, minlength=_TRANSFER_BINS + 1)
    transfer = (sums / np.maximum(counts, 1)).astype(np.float32)
    diff = np.abs(ref - transfer[bins])
    diff[bins == _TRANSFER_BINS] = 0.0
    return float(diff.sum(dtype=np.float64) / count)


def frame_motion(transform: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
    """How far a ``3 x 3`` transform moves a frame: ``(dx, dy)`` of its centre and the largest
    move of a corner, in pixels.

    >>> frame_motion(np.array([[1.0, 0, 3], [0, 1, -2], [0, 0, 1]]), 10, 8)
    (3.0, -2.0, 3.605551275463989)
    """
    w, h = width, height
    pts = np.array([[(w - 1) / 2, (h - 1) / 2], [0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]],
                   np.float64)
    q = np.hstack([pts, np.ones((5, 1))]) @ np.asarray(transform, np.float64).T
    d = q[:, :2] / q[:, 2:3] - pts
    return float(d[0, 0]), float(d[0, 1]), float(np.hypot(d[1:, 0], d[1:, 1]).max())


def check_reference(reference: object, count: int) -> int:
    """Resolve the ``reference`` argument: ``None`` -> middle frame ``count // 2``.

    Raises:
        InputError: if it is not an integer in ``0 .. count - 1``.
    """
    if reference is None:
        return count // 2
    if isinstance(reference, bool):
        raise InputError(f"reference must be a frame index, got {reference!r}")
    try:
        ref = operator.index(reference)  # type: ignore[arg-type]
    except TypeError as exc:
        raise InputError(
            f"reference must be a frame index (int), got {type(reference).__name__}"
        ) from exc
    if not 0 <= ref < count:
        raise InputError(
            f"reference is {ref} but there are {count} images: give an index from 0 to "
            f"{count - 1}, or None for the middle frame"
        )
    return ref


def frame_label(i: int, paths: Sequence[object] | None) -> str:
    """``image 3 (IMG_0042.JPG)`` for frame index 2: 1-based, as in check_stack's messages."""
    return describe(f"image {i + 1}", None if paths is None else paths[i])


def check_paths(images: object, paths: Sequence[object] | None) -> None:
    """Reject a ``paths`` list whose length differs from the number of images."""
    if paths is None:
        return
    try:
        count = len(images)  # type: ignore[arg-type]
    except TypeError:
        return  # check_stack rejects it with a better message
    if isinstance(paths, (str, bytes)) or len(paths) != count:
        got = "a single string" if isinstance(paths, (str, bytes)) else f"{len(paths)} entries"
        raise InputError(
            f"paths has {got} for {count} image(s): give one path per image or leave it out"
        )


def grey01(img: np.ndarray) -> np.ndarray:
    """Greyscale ``(H, W)`` float32 of an ``(H, W, C)`` image, code values scaled to [0, 1].

    Integer images are divided by their full range (255 or 65535); float images keep their
    values. Colour uses Ward's weights :data:`WARD_GREY` on the (display-referred) code values.
    """
    scale = np.float32(dtype_scale(img.dtype))
    if img.shape[2] == 1:
        return img[:, :, 0].astype(np.float32) * scale
    r, g, b = (np.float32(w) * scale for w in WARD_GREY)
    out = img[:, :, 0].astype(np.float32)
    out *= r
    out += img[:, :, 1].astype(np.float32) * g
    out += img[:, :, 2].astype(np.float32) * b
    return out


def largest_valid_rectangle(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Largest axis-aligned all-True rectangle of a bool mask, ``(top, bottom, left, right)``.

    Exact. When every row's True pixels form one run (always so for the masks the aligners
    make: the intersection of warped frame outlines, which are convex), it runs in
    O(H^2) vectorised steps; otherwise it falls back to the O(H W) stack algorithm in Python.

    >>> m = np.zeros((5, 6), bool); m[1:4, 1:5] = True; m[0, 0] = True
    >>> largest_valid_rectangle(m)
    (1, 4, 1, 5)
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise InputError(f"valid mask must be 2-D (H, W), got shape {m.shape}")
    h, w = m.shape
    if h == 0 or w == 0 or not m.any():
        return (0, 0, 0, 0)
    any_row = m.any(axis=1)
    left = np.where(any_row, m.argmax(axis=1), w)
    right = np.where(any_row, w - m[:, ::-1].argmax(axis=1), 0)  # exclusive
    run = np.where(any_row, right - left, 0)
    if np.array_equal(run, m.sum(axis=1)):
        return _largest_rectangle_row_runs(left, right)
    return _largest_rectangle_histogram(m)


def _largest_rectangle_row_runs(
    left: np.ndarray, right: np.ndarray
) -> tuple[int, int, int, int]:
    """Largest rectangle when row y is True exactly on ``[left[y], right[y])``."""
    h = left.size
    width_max = int((right - left).max())
    best = (0, 0, 0, 0)
    best_area = 0
    for top in range(h):
        if (h - top) * width_max <= best_area:
            break
        lo = np.maximum.accumulate(left[top:])
        hi = np.minimum.accumulate(right[top:])
        widths = np.maximum(hi - lo, 0)
        areas = widths * np.arange(1, h - top + 1)
        k = int(areas.argmax())
        if areas[k] > best_area:
            best_area = int(areas[k])
            best = (top, top + k + 1, int(lo[k]), int(hi[k]))
    return best


def _largest_rectangle_histogram(m: np.ndarray) -> tuple[int, int, int, int]:
    """Largest rectangle of an arbitrary mask: per row, the largest rectangle in a histogram."""
    h, w = m.shape
    heights = np.zeros(w, dtype=np.int64)
    best = (0, 0, 0, 0)
    best_area = 0
    for y in range(h):
        heights = np.where(m[y], heights + 1, 0)
        hs = heights.tolist() + [0]
        stack: list[int] = []  # column indices with increasing heights
        for x, hx in enumerate(hs):
            while stack and hs[stack[-1]] >= hx:
                j = stack.pop()
                height = hs[j]
                start = stack[-1] + 1 if stack else 0
                area = height * (x - start)
                if area > best_area:
                    best_area = area
                    best = (y + 1 - height, y + 1, start, x)
            stack.append(x)
    return best
