"""Feature-based alignment of hand-held brackets with one homography per frame.

A hand-held bracket moves by more than a translation: the camera turns a little between
shots, which rotates the frame and adds perspective. For a (nearly) distant scene or a
camera turning about its centre one homography per frame models that exactly.

Exposure differences defeat naive descriptor matching (a dark and a light shot of the same
corner look different), so each frame's greyscale is first *histogram-equalised*: a monotone
re-mapping of its code values that gives every frame the same (flat) histogram. Any camera
response and exposure time is monotone, so a point of the scene ends up with nearly the same
normalised value in every frame, apart from clipped highlights and shadows. Features (SIFT or
ORB) are detected on that normalised greyscale, on a downscaled copy when the image is large,
matched to the reference frame with Lowe's ratio test, and a homography is fitted with
RANSAC; optionally the fit is refined with ECC image registration.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from .._checks import check_image, check_stack
from ..color import srgb_to_linear
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

__all__ = ["FeatureKind", "align_homography", "equalised_grey"]

#: Feature detectors :func:`align_homography` can use.
FeatureKind = Literal["sift", "orb"]
_FEATURES = ("sift", "orb")

#: At most this many features per frame (the strongest); enough for a 2-3 MP detection copy.
_MAX_FEATURES = 5000

#: Bins of the histogram used for equalisation (fine enough for 16-bit and float frames).
_HIST_BINS = 4096

#: A transform that scales the frame's area by more than this (or less than 1/this) is refused.
_MAX_AREA_RATIO = 4.0

#: ECC may move a corner by at most this many RANSAC thresholds, else its result is dropped.
_ECC_MAX_CORNER_MOVE = 2.0


def equalised_grey(img: np.ndarray, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """Exposure-normalised greyscale: the histogram-equalised luma of one frame, uint8.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` display-referred uint8, uint16 or float image.
        size: ``(width, height)`` to downscale to first (area averaging), or ``None``.

    Returns:
        uint8 ``(height, width)`` greyscale whose histogram is (as nearly as ties allow) flat:
        the value of a pixel is its brightness rank in the frame, scaled to 0..255.

    Raises:
        InputError: if ``img`` is not an image (see :func:`expokit._checks.check_image`).

    >>> g = equalised_grey(np.array([[0.1, 0.2], [0.3, 0.4]]))
    >>> g.tolist()
    [[64, 128], [191, 255]]
    """
    grey = grey01(check_image(img, name="img"))
    if size is not None and size != (grey.shape[1], grey.shape[0]):
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    lo, hi = float(grey.min()), float(grey.max())
    if hi <= lo:
        return np.zeros(grey.shape, np.uint8)
    bins = np.minimum(((grey - lo) * np.float32(_HIST_BINS / (hi - lo))).astype(np.int32),
                      _HIST_BINS - 1)
    cdf = np.cumsum(np.bincount(bins.ravel(), minlength=_HIST_BINS)).astype(np.float64)
    lut = np.round(cdf / cdf[-1] * 255.0).astype(np.uint8)
    return lut[bins]


def _detector(features: str) -> cv2.Feature2D:
    if features == "sift":
        return cv2.SIFT_create(nfeatures=_MAX_FEATURES)
    return cv2.ORB_create(nfeatures=_MAX_FEATURES)


def _detect(
    detector: cv2.Feature2D, grey: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Keypoint coordinates ``(N, 2)`` float32 and descriptors of one greyscale image."""
    kps, desc = detector.detectAndCompute(grey, None)
    pts = np.array([kp.pt for kp in kps], dtype=np.float32).reshape(-1, 2)
    return pts, desc


def _ratio_matches(
    desc: np.ndarray, desc_ref: np.ndarray, features: str, ratio: float
) -> np.ndarray:
    """Index pairs ``(K, 2)`` (frame, reference) that pass Lowe's ratio test."""
    norm = cv2.NORM_L2 if features == "sift" else cv2.NORM_HAMMING
    if len(desc_ref) < 2 or len(desc) < 1:
        return np.zeros((0, 2), np.int64)
    knn = cv2.BFMatcher(norm).knnMatch(desc, desc_ref, k=2)
    pairs = [(m[0].queryIdx, m[0].trainIdx) for m in knn
             if len(m) == 2 and m[0].distance < ratio * m[1].distance]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _project(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3x3 homography to ``(N, 2)`` points."""
    p = np.hstack([pts.astype(np.float64), np.ones((len(pts), 1))]) @ h.T
    return p[:, :2] / p[:, 2:3]


def _corners(w: int, h: int) -> np.ndarray:
    return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)


def _plausible(h_mat: np.ndarray, w: int, h: int) -> tuple[bool, float]:
    """Whether the transform keeps the frame a convex, similarly sized, unflipped quad."""
    c = np.hstack([_corners(w, h), np.ones((4, 1))]) @ h_mat.T
    if not np.all(np.isfinite(c)) or np.any(c[:, 2] <= 0):
        return False, float("nan")
    q = c[:, :2] / c[:, 2:3]
    edges = np.roll(q, -1, axis=0) - q
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(
        edges, -1, axis=0)[:, 0]
    area = 0.5 * float(np.sum(q[:, 0] * np.roll(q[:, 1], -1) - np.roll(q[:, 0], -1) * q[:, 1]))
    ratio = area / float((w - 1) * (h - 1))
    ok = bool(np.all(cross > 0)) and 1.0 / _MAX_AREA_RATIO <= ratio <= _MAX_AREA_RATIO
    return ok, ratio


def _small_grey(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Greyscale code values in [0, 1] (float32), downscaled to ``size`` = (width, height)."""
    grey = grey01(img)
    if size != (grey.shape[1], grey.shape[0]):
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def _refine_ecc(
    h_full: np.ndarray,
    grey: np.ndarray,
    grey_ref: np.ndarray,
    to_small: np.ndarray,
) -> np.ndarray | None:
    """ECC refinement (Evangelidis & Psarakis 2008) on the detection-scale greyscale.

    ECC is invariant to gain and offset but not to clipping or a non-linear response, and
    the steps of histogram equalisation bias it, so it gets its own normalisation: both
    greys are decoded to linear light (sRGB), the frame is scaled by its median gain to the
    reference (measured through the RANSAC warp), both are clipped to the range neither one
    clips in, and re-encoded with a 1/2.4 power.

    Args:
        h_full: the RANSAC homography (frame -> reference, full-resolution pixels).
        grey: the frame's greyscale code values in [0, 1] at detection scale.
        grey_ref: the reference's, at detection scale.
        to_small: the 3x3 map from full-resolution to detection-scale pixel coordinates.

    Returns:
        The refined full-resolution homography, or ``None`` when ECC fails.
    """
    h_small = to_small @ h_full @ np.linalg.inv(to_small)
    size = (grey.shape[1], grey.shape[0])
    lin = srgb_to_linear(np.clip(grey, 0.0, 1.0))
    lin_ref = srgb_to_linear(np.clip(grey_ref, 0.0, 1.0))
    warped = cv2.warpPerspective(lin, h_small, size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
    both = (warped > 0.01) & (warped < 0.9) & (lin_ref > 0.01) & (lin_ref < 0.9)
    if np.count_nonzero(both) < 100:
        logger.debug("ECC refinement skipped: too few well-exposed pixels in both frames")
        return None
    gain = float(np.median(lin_ref[both] / warped[both]))
    ceiling = min(1.0, gain)  # the frame clips at `gain` in reference units, the reference at 1
    floor = 0.002 * max(1.0, gain)
    template = np.clip(lin_ref, floor, ceiling) ** np.float32(1 / 2.4)
    moving = np.clip(lin * np.float32(gain), floor, ceiling) ** np.float32(1 / 2.4)
    # ECC's warp maps template (reference) coordinates to input (frame) coordinates.
    warp = np.linalg.inv(h_small)
    warp = (warp / warp[2, 2]).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-6)
    try:
        _, warp = cv2.findTransformECC(
            template.astype(np.float32), moving.astype(np.float32), warp,
            cv2.MOTION_HOMOGRAPHY, criteria, None, 5,
        )
    except cv2.error as exc:
        logger.debug("ECC refinement failed: %s", exc)
        return None
    h_new = np.linalg.inv(to_small) @ np.linalg.inv(warp.astype(np.float64)) @ to_small
    return h_new / h_new[2, 2]


def align_homography(
    images: Sequence[np.ndarray],
    *,
    reference: int | None = None,
    features: FeatureKind = "sift",
    ratio: float = 0.75,
    ransac_threshold: float = 3.0,
    min_inliers: int = 20,
    refine: bool = False,
    detect_size: int = 1600,
    edges: EdgeMode = "zero",
    paths: Sequence[object] | None = None,
) -> AlignResult:
    """Align a hand-held bracket with one homography per frame (features + RANSAC).

    Each frame is matched to the reference on exposure-normalised greyscale
    (:func:`equalised_grey`), a homography is fitted with RANSAC to the matches that pass
    Lowe's ratio test, and the frame is warped onto the reference with bilinear
    interpolation; ``edges`` says what fills the area the warped frame does not reach.

    Args:
        images: the bracket, ``(H, W)`` or ``(H, W, C)``, display-referred uint8, uint16 or
            float in [0, 1]; one size and dtype.
        reference: index of the frame to align the others to; ``None`` takes the middle one
            (``len(images) // 2``), best when the frames are sorted by exposure.
        features: ``"sift"`` (accurate, default) or ``"orb"`` (faster, binary descriptors).
        ratio: Lowe's ratio test: keep a match when its descriptor distance is below
            ``ratio`` times the second-best one; lower is stricter.
        ransac_threshold: largest reprojection error, in full-resolution pixels, for a match
            to count as an inlier.
        min_inliers: fewest RANSAC inliers accepted per frame (at least 4).
        refine: refine each homography with ECC registration (Evangelidis & Psarakis 2008)
            on gain-matched greyscale at detection scale (linearised as sRGB, clipped to
            the range both frames hold); kept only when it converges and moves no corner by
            more than twice ``ransac_threshold``. Sub-pixel on consistent data (corner error
            0.02 px vs 0.5-1.6 px for ORB alone in the tests); about 0.5 s more per frame at the
            default ``detect_size``.
        detect_size: features are detected on a copy downscaled so that its longer side is at
            most this many pixels (keypoints are scaled back); larger is slower but finer.
        edges: what fills the pixels the warped frame does not reach: ``"zero"`` (black) or
            ``"replicate"`` (the frame's nearest border pixel, repeated).
        paths: file names, one per image, used only in error messages.

    Returns:
        AlignResult; ``residuals`` are :func:`~expokit.align.exposure_residual` of each warped
        frame, the same unit as :func:`align_mtb`'s (the RMS reprojection error of the RANSAC
        inliers, in pixels, is logged at debug level). Pixels that the warped frame does not
        cover (or only partly, at its edge) are filled as ``edges`` says and are False in
        ``valid``. The reference is an exact copy of its input.

    Raises:
        InputError: fewer than 2 images, mixed sizes or dtypes, bad reference or options; a
            frame (or the reference) without enough features, or whose matches do not agree
            with one plausible homography (frames that do not overlap, blurred or blank).

    References:
        D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV 60(2),
        2004 (SIFT, ratio test Sec. 7.1). M. A. Fischler and R. C. Bolles, "Random sample
        consensus", CACM 24(6), 1981. G. D. Evangelidis and E. Z. Psarakis, "Parametric image
        alignment using enhanced correlation coefficient maximization", IEEE TPAMI 30(10), 2008.

    >>> rng = np.random.default_rng(0)
    >>> big = cv2.resize(rng.random((40, 40), np.float32), (320, 320))
    >>> res = align_homography([big[10:250, 4:244], big[16:256, 12:252] * 0.5], reference=0)
    >>> np.round(res.transforms[1][:2, 2]).tolist()  # content moves 8 px right, 6 down
    [8.0, 6.0]
    """
    check_paths(images, paths)
    stack = check_stack(images, paths=paths)
    n = len(stack)
    ref = check_reference(reference, n)
    if features not in _FEATURES:
        raise InputError(f"features must be one of {list(_FEATURES)}, got {features!r}")
    if not isinstance(ratio, (int, float, np.number)) or not 0 < float(ratio) <= 1:
        raise InputError(f"ratio must be in (0, 1] (Lowe suggests 0.7-0.8), got {ratio!r}")
    if not isinstance(ransac_threshold, (int, float, np.number)) or not (
        0 < float(ransac_threshold) < float("inf")
    ):
        raise InputError(f"ransac_threshold must be > 0 pixels, got {ransac_threshold!r}")
    if isinstance(min_inliers, bool) or not isinstance(min_inliers, (int, np.integer)) or (
        min_inliers < 4
    ):
        raise InputError(
            f"min_inliers must be an integer >= 4 (a homography needs 4 points), got "
            f"{min_inliers!r}"
        )
    if isinstance(detect_size, bool) or not isinstance(detect_size, (int, np.integer)) or (
        detect_size < 64
    ):
        raise InputError(f"detect_size must be an integer >= 64 pixels, got {detect_size!r}")
    check_edges(edges)
    border = cv2.BORDER_REPLICATE if edges == "replicate" else cv2.BORDER_CONSTANT

    h, w = stack[0].shape[:2]
    scale = min(1.0, detect_size / max(h, w))
    small = (max(1, round(w * scale)), max(1, round(h * scale)))
    sx, sy = small[0] / w, small[1] / h
    # Pixel centres: a detection-copy coordinate u is (x + 0.5) * s - 0.5 at full resolution.
    to_small = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
    to_full = np.linalg.inv(to_small)

    detector = _detector(features)
    greys = [equalised_grey(im, size=small) for im in stack]
    detections = []
    for g in greys:
        pts, desc = _detect(detector, g)
        detections.append((_project(to_full, pts) if len(pts) else pts.astype(np.float64), desc))
    ref_pts, ref_desc = detections[ref]
    hint = "the frames may not overlap or be too blurry — try --method mtb"
    if ref_desc is None or len(ref_pts) < min_inliers:
        raise InputError(
            f"{frame_label(ref, paths)} (the reference): only {len(ref_pts)} features found "
            f"(need {min_inliers}); the frame may be blank, featureless or too blurry — try "
            "another reference or --method mtb"
        )

    valid = np.ones((h, w), dtype=bool)
    ones = np.full((h, w), 255, np.uint8)
    grey_ref = grey01(stack[ref])
    out: list[np.ndarray] = []
    transforms: list[np.ndarray] = []
    residuals: list[float] = []
    for i, im in enumerate(stack):
        orig_shape = np.shape(images[i])
        label = frame_label(i, paths)
        if i == ref:
            out.append(im.copy().reshape(orig_shape))
            transforms.append(np.eye(3, dtype=np.float64))
            residuals.append(0.0)
            continue
        pts, desc = detections[i]
        pairs = (
            _ratio_matches(desc, ref_desc, features, float(ratio))
            if desc is not None else np.zeros((0, 2), np.int64)
        )
        if len(pairs) < min_inliers:
            raise InputError(
                f"{label}: only {len(pairs)} feature matches with the reference pass the "
                f"ratio test ({len(pts)} features found; need {min_inliers}); {hint}"
            )
        src, dst = pts[pairs[:, 0]], ref_pts[pairs[:, 1]]
        h_mat, inl = cv2.findHomography(
            src, dst, cv2.RANSAC, float(ransac_threshold), maxIters=5000, confidence=0.999
        )
        n_in = 0 if inl is None else int(inl.sum())
        if h_mat is None or n_in < min_inliers:
            raise InputError(
                f"{label}: only {n_in} feature matches agree with one homography "
                f"(need {min_inliers}); {hint}"
            )
        h_mat = h_mat / h_mat[2, 2]
        inliers = inl.ravel().astype(bool)
        if refine:
            h_ecc = _refine_ecc(
                h_mat, _small_grey(im, small), _small_grey(stack[ref], small), to_small
            )
            if h_ecc is not None:
                move = np.abs(_project(h_ecc, _corners(w, h)) - _project(h_mat, _corners(w, h)))
                if np.max(move) <= _ECC_MAX_CORNER_MOVE * float(ransac_threshold):
                    h_mat = h_ecc
                else:
                    logger.debug("%s: ECC moved a corner by %.1f px; kept RANSAC", label,
                                 float(np.max(move)))
        ok, area_ratio = _plausible(h_mat, w, h)
        if not ok:
            raise InputError(
                f"{label}: the best homography folds the frame or scales its area by "
                f"{area_ratio:.2g} (expected about 1); the frames may not show the same scene "
                "— try --method mtb"
            )
        err = _project(h_mat, src[inliers]) - dst[inliers]
        reprojection = float(np.sqrt(np.mean(np.sum(err**2, axis=1))))
        warped = cv2.warpPerspective(
            np.ascontiguousarray(im), h_mat, (w, h), flags=cv2.INTER_LINEAR,
            borderMode=border, borderValue=0,
        )
        cover = cv2.warpPerspective(
            ones, h_mat, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        ) == 255
        valid &= cover
        residual = exposure_residual(grey_ref, grey01(warped.reshape(h, w, -1)), cover)
        out.append(warped.reshape(orig_shape))
        transforms.append(h_mat.astype(np.float64))
        residuals.append(residual)
        logger.debug("%s: %d matches, %d inliers, reprojection error %.3f px, residual %.4f",
                     label, len(pairs), n_in, reprojection, residual)
    return AlignResult(images=out, transforms=transforms, residuals=residuals, reference=ref,
                       valid=valid)
