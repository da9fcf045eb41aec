"""Mertens exposure fusion: checked against OpenCV's MergeMertens (an independent implementation
of the same paper), against exact identities of the Laplacian pyramid, and on real brackets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import need

from expokit import InputError
from expokit.fusion import fuse_mertens
from expokit.simulate import photograph, render_scene

TIMES = (1 / 64, 1 / 8, 1.0)


@pytest.fixture(scope="module")
def bracket() -> list[np.ndarray]:
    return photograph(render_scene(240, 320, seed=3), TIMES)


def opencv_mertens(images: list[np.ndarray], wc: float, ws: float, we: float) -> np.ndarray:
    # OpenCV converts to grey with COLOR_RGB2GRAY, so handing it RGB arrays keeps its luma
    # right; the result is in the same (RGB) channel order.
    return cv2.createMergeMertens(wc, ws, we).process([np.ascontiguousarray(i) for i in images])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_matches_opencv_exactly_without_rounding_sensitive_weights(bracket):
    # With the contrast and saturation exponents at 0 the weights are well-exposedness alone,
    # which both implementations compute without cancellation: the pyramid blend (streamed
    # in strips here, whole-image in OpenCV) must then agree to float32 precision.
    ours = fuse_mertens(bracket, contrast_weight=0, saturation_weight=0, clip=False)
    ref = opencv_mertens(bracket, 0, 0, 1)
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_agrees_with_opencv_with_paper_weights(bracket):
    # With weights (1, 1, 1) OpenCV weighs areas that are flat in every exposure by float32
    # rounding noise of the Laplacian (see mertens.py); expokit treats that as zero contrast,
    # so the images differ there and only there (55 dB on this noise-free synthetic scene).
    ours = fuse_mertens(bracket)
    ref = np.clip(opencv_mertens(bracket, 1, 1, 1), 0, 1)
    assert psnr(ours, ref) > 50.0


def test_strip_size_does_not_change_the_result(bracket):
    a = fuse_mertens(bracket, strip_rows=8, threads=1)
    b = fuse_mertens(bracket, strip_rows=1024, threads=2)  # one strip: the whole image
    np.testing.assert_array_equal(a, b)


def test_odd_sizes_and_greyscale():
    frames = photograph(render_scene(101, 67, seed=1), TIMES)
    ref = opencv_mertens(frames, 0, 0, 1)
    np.testing.assert_allclose(fuse_mertens(frames, contrast_weight=0, saturation_weight=0,
                                            clip=False, strip_rows=16), ref, atol=2e-5)
    grey = [f[..., 1] for f in frames]
    out = fuse_mertens(grey, contrast_weight=0, clip=False, strip_rows=16)
    assert out.shape == (101, 67, 1)
    np.testing.assert_allclose(out[..., 0], opencv_mertens(grey, 0, 1, 1), atol=2e-5)


def test_bit_depths_map_to_the_same_result(bracket):
    # 16-bit code values are 257 x 8-bit ones; OpenCV divides both by 255 (outputs up to 257).
    ref = fuse_mertens(bracket)
    wide = fuse_mertens([b.astype(np.uint16) * 257 for b in bracket])
    as_float = fuse_mertens([b.astype(np.float32) / 255 for b in bracket])
    # float32 rounding of x/255 vs x*257/65535 moves weights slightly: 1e-4 is 1/40 code step
    np.testing.assert_allclose(wide, ref, atol=1e-4)
    np.testing.assert_allclose(as_float, ref, atol=1e-4)
    opencv16 = cv2.createMergeMertens().process([b.astype(np.uint16) * 257 for b in bracket])
    assert opencv16.max() > 100  # the defect this implementation does not have


def test_clipping_policy(bracket):
    raw = fuse_mertens(bracket, clip=False)
    assert raw.min() < 0.0 or raw.max() > 1.0  # pyramid blending overshoots at edges
    clipped = fuse_mertens(bracket)
    assert clipped.dtype == np.float32
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(clipped, np.clip(raw, 0, 1))


def test_constant_exposures_fuse_to_their_mean():
    # No contrast anywhere: every weight is the 1e-12 floor times well-exposedness; with
    # contrast exponent 1 the weights are equal, so the result is the plain mean.
    frames = [np.full((16, 24, 3), v, np.uint8) for v in (40, 128, 220)]
    out = fuse_mertens(frames)
    np.testing.assert_allclose(out, np.mean([40, 128, 220]) / 255, atol=1e-6)


def test_inputs_are_not_modified(bracket):
    copies = [b.copy() for b in bracket]
    fuse_mertens(bracket)
    for a, b in zip(bracket, copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        ([np.zeros((8, 8, 3), np.uint8)], "at least 2"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)], "share one size"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint16)], "bit depth"),
        ([np.zeros((8, 8, 3), np.float32), np.full((8, 8, 3), np.nan, np.float32)], "NaN"),
        ([np.zeros((8, 8, 3), np.float32), np.full((8, 8, 3), 2.0, np.float32)], r"\[0, 1\]"),
        ([np.zeros((8, 8, 4), np.uint8)] * 2, "alpha"),
    ],
)
def test_bad_input(images, match):
    with pytest.raises(InputError, match=match):
        fuse_mertens(images)


def test_bad_options(bracket):
    with pytest.raises(InputError, match="sigma"):
        fuse_mertens(bracket, sigma=0)
    with pytest.raises(InputError, match="levels"):
        fuse_mertens(bracket, levels=99)
    with pytest.raises(InputError, match="contrast_weight"):
        fuse_mertens(bracket, contrast_weight=-1)


def test_ma2015_agrees_with_opencv(shared_data):
    """Issue 2 target: mean PSNR >= 30 dB against clipped OpenCV MergeMertens on 17 sequences."""
    from expokit.io import read_image

    root = need(shared_data, "ma2015/source image sequences")
    scores = []
    for seq in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in seq.iterdir() if f.suffix.lower() in (".png", ".jpg", ".bmp",
                                                                         ".tif", ".jpeg"))
        frames = [read_image(f) for f in files]
        # Weights given explicitly: OpenCV 5 changed createMergeMertens' default exposure
        # weight to 0. Frames go in BGR order, as OpenCV users load them.
        ref = np.clip(cv2.createMergeMertens(1.0, 1.0, 1.0).process(
            [np.ascontiguousarray(f[..., ::-1]) for f in frames]), 0, 1)[..., ::-1]
        scores.append(psnr(fuse_mertens(frames), ref))
    assert len(scores) == 17
    assert np.mean(scores) >= 30.0, scores
