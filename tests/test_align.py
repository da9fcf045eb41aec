"""Tests of expokit.align: known shifts and homographies on synthetic brackets, real data.

Ground truth comes from construction: frames are crops (MTB) or exactly warped renderings
(homography) of one scene, so every frame's true transform to the reference is known. The
independent reference implementation for MTB is OpenCV's ``AlignMTB.calculateShift``.
"""

from __future__ import annotations

import typing

import cv2
import numpy as np
import pytest
from conftest import run_cli

from expokit import InputError
from expokit.align import (
    ALIGNERS,
    AlignMethod,
    AlignResult,
    align,
    align_homography,
    align_mtb,
    equalised_grey,
    exposure_residual,
    largest_valid_rectangle,
)
from expokit.simulate import photograph, render_scene

from .conftest import need

H, W = 480, 640
TIMES = (0.25, 1.0, 4.0)
CORNERS = np.array([[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], np.float64)


def project(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    q = np.hstack([pts, np.ones((len(pts), 1))]) @ m.T
    return q[:, :2] / q[:, 2:3]


def corner_error(estimated: np.ndarray, true: np.ndarray) -> float:
    """Largest distance (px) between the frame corners mapped by the two transforms."""
    d = project(estimated, CORNERS) - project(true, CORNERS)
    return float(np.max(np.hypot(d[:, 0], d[:, 1])))


def psnr8(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    d = a.astype(np.float64)[mask] - b.astype(np.float64)[mask]
    return float(10 * np.log10(255.0**2 / np.mean(d**2)))


def homography_about_centre(angle_deg: float, tx: float, ty: float, px: float, py: float,
                            centre: tuple[float, float]) -> np.ndarray:
    """Rotation + perspective about ``centre``, then a translation (3x3, float64)."""
    a = np.deg2rad(angle_deg)
    to_c = np.array([[1, 0, -centre[0]], [0, 1, -centre[1]], [0, 0, 1]], np.float64)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    persp = np.array([[1, 0, 0], [0, 1, 0], [px, py, 1]], np.float64)
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], np.float64)
    return shift @ np.linalg.inv(to_c) @ persp @ rot @ to_c


# ---------------------------------------------------------------------------------------------
# MTB: crops of one larger rendering at known integer offsets
# ---------------------------------------------------------------------------------------------

#: (dx, dy) of each frame's crop window; content at frame pixel p is at reference p + offset.
OFFSETS = [(7, -5), (0, 0), (-13, 21)]
MARGIN_Y, MARGIN_X = 40, 60


@pytest.fixture(scope="module")
def shifted_bracket() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(frames, full-size bracket): 3 exposures cropped at OFFSETS from a 560x760 rendering."""
    rad = render_scene(H + 2 * MARGIN_Y, W + 2 * MARGIN_X, seed=1)
    full = photograph(rad, TIMES, noise=0.002, seed=3)
    frames = [
        np.ascontiguousarray(b[MARGIN_Y + dy: MARGIN_Y + dy + H, MARGIN_X + dx: MARGIN_X + dx + W])
        for b, (dx, dy) in zip(full, OFFSETS, strict=True)
    ]
    return frames, full


def as_variant(frames: list[np.ndarray], variant: str) -> list[np.ndarray]:
    if variant == "uint8":
        return frames
    if variant == "uint16":
        return [f.astype(np.uint16) * np.uint16(257) for f in frames]
    if variant == "float32":
        return [f.astype(np.float32) / np.float32(255) for f in frames]
    if variant == "grey2d":
        return [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    raise ValueError(variant)


@pytest.mark.parametrize("variant", ["uint8", "uint16", "float32", "grey2d"])
def test_mtb_recovers_known_integer_shifts(shifted_bracket, variant):
    frames8, full = shifted_bracket
    frames = as_variant(frames8, variant)
    res = align_mtb(frames)
    assert isinstance(res, AlignResult)
    assert res.reference == 1  # the middle frame by default
    for i, (dx, dy) in enumerate(OFFSETS):
        t = res.transforms[i]
        assert t.shape == (3, 3) and t.dtype == np.float64
        # Known answer: the crop offset, exactly (integer search, real content).
        np.testing.assert_array_equal(t, [[1, 0, dx], [0, 1, dy], [0, 0, 1]])
        assert res.images[i].dtype == frames[i].dtype
        assert res.images[i].shape == frames[i].shape
    # Pixels covered by every frame: x in [7, 627), y in [21, 475) for these offsets.
    expected = np.zeros((H, W), bool)
    expected[21:475, 7:627] = True
    np.testing.assert_array_equal(res.valid, expected)
    assert res.crop_box() == (21, 475, 7, 627)
    assert all(c.shape[:2] == (454, 620) for c in res.crop())
    # Aligned content is exactly the reference window of each exposure inside `valid`
    # (integer shifts move pixels, no resampling); the border outside is 0.
    ref_window = [
        as_variant([b[MARGIN_Y: MARGIN_Y + H, MARGIN_X: MARGIN_X + W]], variant)[0] for b in full
    ]
    for aligned, truth in zip(res.images, ref_window, strict=True):
        np.testing.assert_array_equal(aligned[res.valid], truth[res.valid])
    assert not res.images[0][:, 0:7].any()  # frame 0 moved right by 7: left border uncovered
    # Residual (fraction of compared pixels whose bits differ) drops vs. the unaligned frames.
    unaligned = align_mtb(frames, max_shift=0)
    assert all(np.array_equal(t, np.eye(3)) for t in unaligned.transforms)
    assert res.residuals[1] == unaligned.residuals[1] == 0.0
    for i in (0, 2):
        assert res.residuals[i] < 0.5 * unaligned.residuals[i]
        assert 0.0 <= res.residuals[i] < 0.05


def test_mtb_matches_opencv_calculate_shift(shifted_bracket):
    """Independent implementation: OpenCV's AlignMTB on the same pairs (uint8 grey)."""
    frames, _ = shifted_bracket
    res = align_mtb(frames)
    cv_mtb = cv2.createAlignMTB(max_bits=6, exclude_range=4, cut=False)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    for i in range(3):
        cv_dx, cv_dy = cv_mtb.calculateShift(grey[1], grey[i])
        ours = res.transforms[i][:2, 2]
        assert abs(ours[0] - cv_dx) <= 1 and abs(ours[1] - cv_dy) <= 1, (i, ours, cv_dx, cv_dy)


def test_mtb_explicit_reference_and_max_shift(shifted_bracket):
    frames, _ = shifted_bracket
    res = align_mtb(frames, reference=0)
    assert res.reference == 0
    for i, (dx, dy) in enumerate(OFFSETS):
        # Shifts relative to frame 0: offset_i - offset_0, within 1 px. Measured: exact for
        # frame 2, (-20, 25) instead of (-20, 26) for frame 3, 4 stops brighter than frame 1
        # (OpenCV's calculateShift gives (-20, 26)).
        err = res.transforms[i][:2, 2] - [dx - OFFSETS[0][0], dy - OFFSETS[0][1]]
        assert np.abs(err).max() <= 1, (i, err)
    # A limit smaller than the true shift (21 px in y for frame 3) caps the search.
    capped = align_mtb(frames, max_shift=10)
    assert np.abs(capped.transforms[2][:2, 2]).max() <= 10
    assert capped.transforms[0][:2, 2].tolist() == [7, -5]  # within the limit: still exact
    # max_bits=2 reaches only 3 px: frame 3 (21 px away) cannot be found.
    short = align_mtb(frames, max_bits=2)
    assert np.abs(short.transforms[2][:2, 2]).max() <= 3


# ---------------------------------------------------------------------------------------------
# Homography
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warped_render_scene():
    """render_scene frames warped (2 deg rotation, perspective, translation) then cropped.

    Returns (frames, truths, true_transforms); truths are the same exposures rendered without
    any warp (the reference's geometry).
    """
    big_h, big_w, oy, ox = 640, 860, 80, 110
    rad = render_scene(big_h, big_w, seed=2)
    centre = (ox + W / 2, oy + H / 2)
    warps = [
        homography_about_centre(2.0, 6, -4, 2e-5, -1e-5, centre),
        np.eye(3),
        homography_about_centre(-1.5, -5, 7, -1.5e-5, 2e-5, centre),
    ]
    crop = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]], np.float64)
    frames, truths, true_t = [], [], []
    for t, g in zip(TIMES, warps, strict=True):
        warped = cv2.warpPerspective(rad, g, (big_w, big_h), flags=cv2.INTER_LINEAR)
        frames.append(photograph(warped, [t], noise=0.002, seed=5)[0][oy:oy + H, ox:ox + W])
        truths.append(photograph(rad, [t])[0][oy:oy + H, ox:ox + W])
        # frame pixel p is big-image pixel p + o of the warped rendering, i.e. g^-1 (p + o) of
        # the scene, i.e. g^-1 (p + o) - o of the reference.
        true_t.append(np.linalg.inv(crop) @ np.linalg.inv(g) @ crop)
    return frames, truths, true_t


def test_homography_recovers_known_warp(warped_render_scene):
    frames, truths, true_t = warped_render_scene
    res = align_homography(frames)
    assert res.reference == 1
    np.testing.assert_array_equal(res.transforms[1], np.eye(3))
    np.testing.assert_array_equal(res.images[1], frames[1])
    for i in (0, 2):
        # Measured: ~0.35 and ~0.23 px corner error, residuals ~1.1 and ~0.5 px.
        assert corner_error(res.transforms[i], true_t[i]) < 1.5
        assert 0.0 < res.residuals[i] < 1.5
        assert res.images[i].dtype == np.uint8 and res.images[i].shape == (H, W, 3)
    # Rotated frames leave uncovered wedges at the borders: marked invalid and black.
    assert 0.8 < res.valid.mean() < 0.99
    assert not res.images[0][~res.valid].all()
    top, bottom, left, right = res.crop_box()
    assert res.valid[top:bottom, left:right].all()
    inner = np.zeros((H, W), bool)
    inner[top:bottom, left:right] = True
    # Aligned frames match the same exposure rendered without warp far better than the
    # unaligned ones (measured ~29 and ~31 dB aligned vs ~13 and ~16 dB unaligned).
    for i in (0, 2):
        aligned = psnr8(res.images[i], truths[i], inner)
        unaligned = psnr8(frames[i], truths[i], inner)
        assert aligned > 25.0 and aligned > unaligned + 10.0, (i, aligned, unaligned)


@pytest.fixture(scope="module")
def smooth_field_bracket():
    """A band-limited textured HDR field (~12 stops) point-sampled at exactly known warps.

    Every frame, the reference included, samples one smooth radiance function, so the data
    are consistent to interpolation accuracy: a fair test of sub-pixel refinement.
    """
    rng = np.random.default_rng(7)
    margin = 80
    bh, bw = H + 2 * margin, W + 2 * margin
    log_rad = np.zeros((bh, bw), np.float32)
    for cells, amp in ((6, 2.0), (24, 1.0), (80, 0.6), (200, 0.4)):
        grid = rng.standard_normal((max(2, cells * bh // bw), cells)).astype(np.float32)
        log_rad += amp * cv2.resize(grid, (bw, bh), interpolation=cv2.INTER_CUBIC)
    rad = np.exp2(log_rad - np.median(log_rad) - 3.0)
    base = np.stack([rad, 0.9 * rad, 0.8 * rad], axis=-1).astype(np.float32)
    centre = (W / 2, H / 2)
    true_t = [
        homography_about_centre(2.0, 6, -4, 4e-5, -3e-5, centre),
        np.eye(3),
        homography_about_centre(-1.5, -5, 7, -3e-5, 4e-5, centre),
    ]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    pix = np.stack([xx.ravel(), yy.ravel()], axis=1)
    frames = []
    for t_mat, t in zip(true_t, TIMES, strict=True):
        q = project(t_mat, pix) + margin  # frame pixel -> reference pixel -> base pixel
        mx = q[:, 0].reshape(H, W).astype(np.float32)
        my = q[:, 1].reshape(H, W).astype(np.float32)
        sampled = cv2.remap(base, mx, my, cv2.INTER_CUBIC)
        frames.append(photograph(sampled, [t], noise=0.002, seed=int(4 * t))[0])
    return frames, true_t


def test_homography_orb_and_ecc_refinement(smooth_field_bracket):
    frames, true_t = smooth_field_bracket
    plain = align_homography(frames, features="orb")
    refined = align_homography(frames, features="orb", refine=True)
    sift = align_homography(frames, features="sift")
    for i in (0, 2):
        # Measured corner errors: ORB 0.55 / 1.58 px, SIFT 0.03 / 0.06 px, ORB + ECC 0.02 px;
        # residuals: ORB 1.15 / 1.30 px, SIFT 0.27 / 0.36 px.
        assert corner_error(plain.transforms[i], true_t[i]) < 2.5
        assert corner_error(sift.transforms[i], true_t[i]) < 0.2
        assert corner_error(refined.transforms[i], true_t[i]) < 0.1
        assert plain.residuals[i] < 1.5 and sift.residuals[i] < 0.5


def test_equalised_grey_is_exposure_invariant():
    """Two exposures of one scene give nearly the same normalised greyscale."""
    rng = np.random.default_rng(0)
    rad = np.exp2(rng.uniform(-6, 0, (60, 80))).astype(np.float32)
    dark, light = photograph(np.repeat(rad[..., None], 3, axis=2), [1.0, 2.0], bit_depth=16)
    gd, gl = equalised_grey(dark), equalised_grey(light)
    assert gd.dtype == np.uint8 and gd.shape == (60, 80)
    # Only ties and the highlights clipped in the light frame can differ.
    unclipped = light[..., 1] < 65535
    assert np.abs(gd.astype(int) - gl.astype(int))[unclipped].max() <= 1


# ---------------------------------------------------------------------------------------------
# Real data: the Memorial church stack (Debevec & Malik 1997), registered by hand
# ---------------------------------------------------------------------------------------------


def read_memorial(root) -> list[np.ndarray]:
    paths = [need(root, f"memorial/memorial{n:04d}.png") for n in range(61, 77)]
    return [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in paths]


def test_memorial_mtb_adjacent_frames_barely_move(shared_data):
    frames = read_memorial(shared_data)  # longest exposure (32 s) first, 1/1024 s last
    for i in range(len(frames) - 1):
        res = align_mtb(frames[i: i + 2], reference=0)
        dx, dy = res.transforms[1][:2, 2]
        # Measured: (0, 0) for all 15 pairs (OpenCV's AlignMTB returns (-63, -63) on the
        # darkest pairs, where its bitmaps compare no pixels and ties pick (-1, -1)).
        assert abs(dx) <= 2 and abs(dy) <= 2, (i, dx, dy)


def test_memorial_homography_bright_pairs_near_identity(shared_data):
    frames = read_memorial(shared_data)[:6]  # the darker frames are too noisy for features
    h, w = frames[0].shape[:2]
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float64)
    for i in range(len(frames) - 1):
        res = align_homography(frames[i: i + 2], reference=0)
        move = np.hypot(*(project(res.transforms[1], corners) - corners).T).max()
        # Measured: largest corner move 0.61, 0.31, 0.77, 0.71, 2.71 px; residuals 0.26-0.43
        # px. (Pairs 65/66 and 66/67 move one corner by ~6 px in opposite directions, with or
        # without ECC: frame 66 seems slightly misregistered, which MTB cannot see.)
        assert move < 4.0 and res.residuals[1] < 1.0, (i, move, res.residuals[1])


def test_memorial_residuals_agree_across_methods(shared_data):
    """On real adjacent exposures both methods report residuals of one size, in one unit."""
    frames = read_memorial(shared_data)[:6]
    for i in range(len(frames) - 1):
        mtb = align_mtb(frames[i: i + 2], reference=0)
        hom = align_homography(frames[i: i + 2], reference=0)
        # Measured: MTB (no shift found) 0.0108-0.0169, homography 0.0092-0.0146 (sub-pixel
        # corrections, and bilinear resampling smooths some noise), i.e. 0.73-0.94 x MTB's.
        assert 0.0 < mtb.residuals[1] < 0.03 and 0.0 < hom.residuals[1] < 0.03
        assert 0.5 < hom.residuals[1] / mtb.residuals[1] < 1.2, (i, mtb.residuals, hom.residuals)


# ---------------------------------------------------------------------------------------------
# Dispatcher, crop rectangle, bad input, no modification of inputs
# ---------------------------------------------------------------------------------------------


def test_dispatcher_names_match_literal_and_functions(shifted_bracket):
    frames, _ = shifted_bracket
    assert set(ALIGNERS) == set(typing.get_args(AlignMethod)) == {"mtb", "homography"}
    via = align(frames, "mtb", max_shift=30)
    direct = align_mtb(frames, max_shift=30)
    for a, b in zip(via.transforms, direct.transforms, strict=True):
        np.testing.assert_array_equal(a, b)
    hom = align(frames, method="homography", reference=0, ratio=0.7)
    assert hom.reference == 0
    assert corner_error(hom.transforms[2], np.array([[1, 0, -20], [0, 1, 26], [0, 0, 1]])) < 1.5


def brute_force_rectangle_area(m: np.ndarray) -> int:
    h, w = m.shape
    best = 0
    for t in range(h):
        for b in range(t + 1, h + 1):
            cols = m[t:b].all(axis=0)
            run = 0
            for c in cols:
                run = run + 1 if c else 0
                best = max(best, run * (b - t))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_largest_valid_rectangle_is_exact(seed):
    rng = np.random.default_rng(seed)
    # Random masks (general path) and convex quads (row-run path).
    general = rng.random((9, 11)) < 0.7
    quad = np.zeros((40, 50), np.uint8)
    pts = np.array([[3, 2], [45, 5], [48, 37], [1, 33]]) + rng.integers(-2, 3, (4, 2))
    cv2.fillConvexPoly(quad, pts.astype(np.int32), 1)
    for m in (general, quad.astype(bool)):
        top, bottom, left, right = largest_valid_rectangle(m)
        assert m[top:bottom, left:right].all()
        assert (bottom - top) * (right - left) == brute_force_rectangle_area(m)
    assert largest_valid_rectangle(np.zeros((4, 4), bool)) == (0, 0, 0, 0)


@pytest.mark.parametrize("fn", [align_mtb, align_homography])
def test_bad_input_raises_input_error(fn, shifted_bracket):
    frames, _ = shifted_bracket
    with pytest.raises(InputError, match="at least 2"):
        fn(frames[:1])
    with pytest.raises(InputError, match=r"image 2 \(b.png\) is 600x480 .* one size"):
        fn([frames[0], frames[1][:, :600]], paths=["a.png", "b.png"])
    with pytest.raises(InputError, match="reference is 3 but there are 3 images"):
        fn(frames, reference=3)
    with pytest.raises(InputError, match="reference is -1"):
        fn(frames, reference=-1)
    with pytest.raises(InputError, match="reference must be a frame index"):
        fn(frames, reference=True)
    with pytest.raises(InputError, match="paths has 2 entries for 3"):
        fn(frames, paths=["a", "b"])


def test_bad_options_raise_input_error(shifted_bracket):
    frames, _ = shifted_bracket
    with pytest.raises(InputError, match="unknown alignment method 'ecc'.*'mtb', 'homography'"):
        align(frames, "ecc")  # type: ignore[arg-type]
    # One message for every family (expokit._methods.check_options).
    with pytest.raises(InputError, match="has no option.*max_shfit.*max_shift"):
        align(frames, "mtb", max_shfit=3)
    with pytest.raises(InputError, match="max_bits"):
        align_mtb(frames, max_bits=0)
    with pytest.raises(InputError, match="max_shift"):
        align_mtb(frames, max_shift=-1)
    with pytest.raises(InputError, match="exclude_range"):
        align_mtb(frames, exclude_range=-1)
    with pytest.raises(InputError, match="features must be one of"):
        align_homography(frames, features="surf")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_inliers"):
        align_homography(frames, min_inliers=3)
    with pytest.raises(InputError, match="ratio"):
        align_homography(frames, ratio=1.5)


def test_homography_featureless_frames_are_refused():
    flat = [np.full((120, 160, 3), v, np.uint8) for v in (40, 120, 200)]
    with pytest.raises(InputError, match=r"image 2 \(mid.png\) \(the reference\): only 0 features"):
        align_homography(flat, paths=["lo.png", "mid.png", "hi.png"])
    # A textured reference but a blank frame: that frame is named, with the advice to use MTB.
    rng = np.random.default_rng(0)
    tex = cv2.resize(rng.random((30, 40), np.float32), (160, 120))
    with pytest.raises(InputError, match=r"image 1: only 0 feature matches.*try --method mtb"):
        align_homography([np.zeros((120, 160), np.float32), tex])


def test_unrelated_frames_are_refused():
    rng = np.random.default_rng(1)
    a = cv2.resize(rng.random((40, 50), np.float32), (320, 240))
    b = cv2.resize(rng.random((40, 50), np.float32), (320, 240))
    with pytest.raises(InputError, match="image 2: only .* (pass the ratio test|agree with one)"):
        align_homography([a, b], reference=0)


@pytest.mark.parametrize("method", ["mtb", "homography"])
def test_inputs_are_not_modified(shifted_bracket, method):
    frames, _ = shifted_bracket
    copies = [f.copy() for f in frames]
    res = align(frames, method)
    for f, c in zip(frames, copies, strict=True):
        np.testing.assert_array_equal(f, c)
    for out, f in zip(res.images, frames, strict=True):
        assert not np.shares_memory(out, f)


# ---------------------------------------------------------------------------------------------
# Residuals: one unit for every method (issue 9)
# ---------------------------------------------------------------------------------------------


def test_exposure_residual_known_values():
    """Hand-computable cases of the residual (mean |grey difference| after exposure matching)."""
    everywhere = np.ones((200, 200), bool)
    ramp = np.linspace(0.1, 0.9, 40_000, dtype=np.float32).reshape(200, 200)
    # Same content, same exposure: exactly 0 (each 8-bit code has a bin of its own).
    codes = np.round(ramp * 255) / 255
    assert exposure_residual(codes, codes, everywhere) == 0.0
    # Same content under another monotone tone curve (a different exposure): ~0.
    assert exposure_residual(ramp, ramp**2.2, everywhere) < 0.002
    # Unrelated content: the best the transfer can do is the mean of the reference, which
    # leaves the mean absolute deviation of a uniform spread of width 0.8: 0.8 / 4 = 0.2.
    shuffled = np.random.default_rng(1).permutation(ramp.ravel()).reshape(200, 200)
    assert exposure_residual(ramp, shuffled, everywhere) == pytest.approx(0.2, abs=0.01)
    # Only covered pixels count: uncovered garbage changes nothing.
    covered = np.zeros((200, 200), bool)
    covered[:, :100] = True
    assert exposure_residual(codes, np.where(covered, codes, shuffled), covered) == 0.0
    # Nothing well exposed in both frames (the frame is clipped white): undefined.
    assert np.isnan(exposure_residual(ramp, np.ones_like(ramp), everywhere))


def test_residuals_share_one_unit_across_methods(shifted_bracket):
    """MTB and homography report the same number for the same (correct) alignment.

    Independent reference: the residual of the exact answer, i.e. of each exposure's
    reference window cut from the full rendering (no alignment error at all).
    """
    frames, full = shifted_bracket
    mtb = align_mtb(frames)
    hom = align_homography(frames)
    unaligned = align_mtb(frames, max_shift=0)
    exact = align_mtb([b[MARGIN_Y: MARGIN_Y + H, MARGIN_X: MARGIN_X + W] for b in full],
                      max_shift=0)
    for res in (mtb, hom, unaligned, exact):
        assert res.residuals[1] == 0.0  # the reference itself
    for i in (0, 2):
        # Measured: MTB 0.0107 / 0.0038, homography 0.0107 / 0.0039, exact 0.0106 / 0.0038
        # (noise and 8-bit quantisation of the darker frame), unaligned 0.043 / 0.055.
        assert mtb.residuals[i] == pytest.approx(exact.residuals[i], rel=0.1)
        assert hom.residuals[i] == pytest.approx(exact.residuals[i], rel=0.25)
        assert mtb.residuals[i] == pytest.approx(hom.residuals[i], rel=0.25)
        assert unaligned.residuals[i] > 3 * exact.residuals[i]
        assert exact.residuals[i] < 0.02


def test_residual_grows_with_misalignment(shifted_bracket):
    """A frame left k pixels off gives a residual that rises with k, for both methods' unit."""
    _, full = shifted_bracket
    ref = full[1][MARGIN_Y: MARGIN_Y + H, MARGIN_X: MARGIN_X + W]
    values = []
    for k in (0, 1, 2, 4, 8):
        off = full[2][MARGIN_Y: MARGIN_Y + H, MARGIN_X + k: MARGIN_X + k + W]
        values.append(align_mtb([off, ref], reference=1, max_shift=0).residuals[0])
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values


# ---------------------------------------------------------------------------------------------
# Edges: what fills the border a moved frame leaves uncovered (issue 9)
# ---------------------------------------------------------------------------------------------


def test_mtb_edges_replicate_repeats_the_nearest_pixel(shifted_bracket):
    frames, _ = shifted_bracket
    res = align_mtb(frames, edges="replicate")
    zero = align_mtb(frames)
    moved = res.images[0]  # content moved 7 px right and 5 px up
    # Left border: copies of the first covered column; bottom border: of the last covered row.
    np.testing.assert_array_equal(moved[:, :7], np.repeat(moved[:, 7:8], 7, axis=1))
    np.testing.assert_array_equal(moved[H - 5:], np.repeat(moved[H - 6: H - 5], 5, axis=0))
    # Inside the covered area both modes give the same pixels; `valid` is the same.
    np.testing.assert_array_equal(res.valid, zero.valid)
    np.testing.assert_array_equal(moved[:H - 5, 7:], zero.images[0][:H - 5, 7:])
    # The reference (no shift) is an exact copy of its input in both modes.
    np.testing.assert_array_equal(res.images[1], frames[1])


def test_homography_edges_replicate_leaves_no_black_wedge(warped_render_scene):
    frames, _, _ = warped_render_scene
    zero = align_homography(frames)
    rep = align_homography(frames, edges="replicate")
    ones = np.full((H, W), 255, np.uint8)
    for i in (0, 2):
        # Pixels the warped frame does not reach at all (not even partly).
        outside = cv2.warpPerspective(ones, rep.transforms[i], (W, H)) == 0
        assert outside.mean() > 0.01
        black_zero = np.mean(np.all(zero.images[i][outside] == 0, axis=-1))
        black_rep = np.mean(np.all(rep.images[i][outside] == 0, axis=-1))
        assert black_zero > 0.9 and black_rep < 0.01, (i, black_zero, black_rep)
        # Inside the valid area both modes interpolate the same pixels; OpenCV versions differ
        # by a code value on a handful of pixels next to the border.
        diff = np.abs(rep.images[i][zero.valid].astype(int) - zero.images[i][zero.valid])
        assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3


def test_bad_edges_option_raises_input_error(shifted_bracket):
    frames, _ = shifted_bracket
    for fn in (align_mtb, align_homography):
        with pytest.raises(InputError, match="edges must be one of.*'zero', 'replicate'"):
            fn(frames, edges="black")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# The `expokit align` command (issue 9): copies, crops, no black edges, one residual unit
# ---------------------------------------------------------------------------------------------

CLI_H, CLI_W, CLI_MARGIN = 240, 320, 24
#: Integer offsets of the CLI bracket's frames; content at frame pixel p is at reference p + o.
CLI_OFFSETS = [(3, -2), (0, 0), (-4, 5)]


@pytest.fixture(scope="module")
def jpeg_bracket(tmp_path_factory):
    """(paths, truth): a 3-shot JPEG bracket with EXIF, frames cut at CLI_OFFSETS.

    ``truth[i]`` is exposure i rendered over the whole scene (margins included), so the exact
    content of any output pixel is known.
    """
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    folder = tmp_path_factory.mktemp("jpeg_bracket")
    m = CLI_MARGIN
    rad = render_scene(CLI_H + 2 * m, CLI_W + 2 * m, seed=4)
    truth = photograph(rad, TIMES, noise=0.002, seed=2)
    paths = []
    for i, (b, (dx, dy), t) in enumerate(zip(truth, CLI_OFFSETS, TIMES, strict=True)):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[33434] = IFDRational(int(t * 4), 4)  # ExposureTime
        paths.append(folder / f"shot{i}.jpg")
        # 4:2:0 chroma at quality 90, like a camera: expokit's own encoder would write 4:4:4.
        Image.fromarray(b[m + dy: m + dy + CLI_H, m + dx: m + dx + CLI_W]).save(
            paths[-1], exif=exif, quality=90, subsampling=2)
    return paths, truth


def read_rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def exposure_time(path) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return float(im.getexif().get_ifd(0x8769)[33434])


def test_cli_align_replicate_copies_reference_and_fills_edges(jpeg_bracket, tmp_path):
    paths, truth = jpeg_bracket
    out_dir = tmp_path / "aligned"
    proc = run_cli("align", *paths, "-d", out_dir, "--edges", "replicate")
    assert proc.returncode == 0, proc.stderr
    # The shifts found are the construction's offsets (MTB is exact on this scene).
    for p, (dx, dy) in zip(paths, CLI_OFFSETS, strict=True):
        row = next(ln for ln in proc.stdout.splitlines() if f"│ {p.name}" in ln)
        assert f"{dx:+.2f}" in row and f"{dy:+.2f}" in row, row
    text = " ".join(proc.stdout.split())
    assert "copied" in text and "repeating its nearest pixel" in text
    # The reference did not move: its output is the input file, byte for byte (EXIF kept).
    assert (out_dir / paths[1].name).read_bytes() == paths[1].read_bytes()
    for i in (0, 2):
        target = out_dir / paths[i].name
        assert target.read_bytes()[:3] == b"\xff\xd8\xff"  # still a JPEG
        assert exposure_time(target) == exposure_time(paths[i])
        img = read_rgb(target)
        assert img.shape == (CLI_H, CLI_W, 3)
        # No black edge: every border row and column holds scene content. Uncovered pixels
        # repeat the nearest covered one, so they are compared with the true content there.
        dx, dy = CLI_OFFSETS[i]
        m = CLI_MARGIN
        window = truth[i][m: m + CLI_H, m: m + CLI_W].astype(float)
        for edge in (img[:, 0], img[:, -1], img[0], img[-1]):
            assert edge.mean() > 10, "black edge"
        covered_x = slice(max(dx, 0), CLI_W + min(dx, 0))
        covered_y = slice(max(dy, 0), CLI_H + min(dy, 0))
        diff = np.abs(img[covered_y, covered_x].astype(float) - window[covered_y, covered_x])
        assert diff.mean() < 2.0  # JPEG re-encoding only
        col = 0 if dx > 0 else CLI_W - 1  # an uncovered column: the nearest covered one
        near = max(dx, 0) if dx > 0 else CLI_W + dx - 1
        assert np.abs(img[covered_y, col].astype(float)
                      - window[covered_y, near]).mean() < 3.0
    assert not list(out_dir.glob(".*"))  # no temporary files left


def luma_table(path) -> list[int]:
    from PIL import Image

    with Image.open(path) as im:
        return list(im.quantization[0])


def test_cli_align_reencodes_jpeg_at_its_own_quality(jpeg_bracket, tmp_path):
    """A moved JPEG frame is re-encoded with the quantisation of its source's quality (90
    here: the table libjpeg writes for quality 90), or at --quality when given."""
    from PIL import Image

    paths, _ = jpeg_bracket
    blank = Image.new("RGB", (16, 16))
    for q in (90, 70):
        blank.save(tmp_path / f"q{q}.jpg", quality=q)
    proc = run_cli("align", *paths, "-d", tmp_path / "auto")
    assert proc.returncode == 0, proc.stderr
    assert luma_table(tmp_path / "auto" / paths[0].name) == luma_table(tmp_path / "q90.jpg")
    proc = run_cli("align", *paths, "-d", tmp_path / "q70", "--quality", "70")
    assert proc.returncode == 0, proc.stderr
    assert luma_table(tmp_path / "q70" / paths[0].name) == luma_table(tmp_path / "q70.jpg")


def test_cli_align_crop_is_the_default(jpeg_bracket, tmp_path):
    paths, truth = jpeg_bracket
    out_dir = tmp_path / "aligned"
    proc = run_cli("align", *paths, "-d", out_dir)
    assert proc.returncode == 0, proc.stderr
    # Common area of the offsets: x in [3, W - 4), y in [5, H - 2).
    left, right, top, bottom = 3, CLI_W - 4, 5, CLI_H - 2
    assert f"{right - left}x{bottom - top} from x={left}, y={top}" in " ".join(proc.stdout.split())
    m = CLI_MARGIN
    for i, p in enumerate(paths):
        img = read_rgb(out_dir / p.name)
        assert img.shape == (bottom - top, right - left, 3)  # all frames one size
        # Content, edges included, is the reference's view of exposure i.
        window = truth[i][m + top: m + bottom, m + left: m + right].astype(float)
        for got, want in ((img[:, 0], window[:, 0]), (img[:, -1], window[:, -1]),
                          (img[0], window[0]), (img[-1], window[-1]), (img, window)):
            assert np.abs(got.astype(float) - want).mean() < 3.0
        assert exposure_time(out_dir / p.name) == exposure_time(p)


def test_cli_align_unmoved_bracket_is_copied(tmp_path):
    """Frames that need no shift (and no crop) are byte copies, whatever --edges says."""
    frames = photograph(render_scene(120, 160, seed=5), TIMES)
    paths = []
    for i, f in enumerate(frames):
        paths.append(tmp_path / f"f{i}.jpg")
        cv2.imwrite(str(paths[-1]), f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    out_dir = tmp_path / "out"
    proc = run_cli("align", *paths, "-d", out_dir)
    assert proc.returncode == 0, proc.stderr
    assert "no frame moved" in " ".join(proc.stdout.split())
    for p in paths:
        assert (out_dir / p.name).read_bytes() == p.read_bytes()


def test_cli_align_residuals_one_unit(jpeg_bracket, tmp_path):
    """Both methods print residuals in the same unit and of the same size."""
    paths, _ = jpeg_bracket
    values = {}
    for method in ("mtb", "homography"):
        proc = run_cli("align", *paths, "-d", tmp_path / method, "--method", method)
        assert proc.returncode == 0, proc.stderr
        assert "fraction of full scale" in " ".join(proc.stdout.split())
        rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("│")]
        values[method] = [float(r.split("│")[5]) for r in rows if "ref" not in r.split("│")[5]]
    for a, b in zip(values["mtb"], values["homography"], strict=True):
        assert 0 < a < 0.03 and a == pytest.approx(b, rel=0.3), values


def test_cli_align_bad_edges(jpeg_bracket, tmp_path):
    paths, _ = jpeg_bracket
    proc = run_cli("align", *paths, "-d", tmp_path / "x", "--edges", "black")
    assert proc.returncode == 2 and "--edges 'black': choose crop or replicate" in proc.stderr
    proc = run_cli("align", *paths, "-d", tmp_path / "x", "--quality", "0")
    assert proc.returncode == 2 and "--quality 0: give a JPEG quality from 1 to 100" in proc.stderr
    assert not (tmp_path / "x").exists()
