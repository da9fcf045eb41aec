"""Radiance RGBE (.hdr) reading and writing.

Independent references: OpenCV's RGBE codec (``cv2.imread``/``cv2.imwrite``, Walter's rgbe.c,
which decodes ``m * 2**(e - 136)`` without Radiance's +0.5) and files built byte by byte here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import need

from expokit.errors import InputError
from expokit.io import read_image
from expokit.io._rgbe import encode_rgbe_file, float_to_rgbe, read_rgbe_bytes, rgbe_to_float


def _cv2_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"OpenCV could not read {path}"
    return img[..., ::-1]


def _flat_file(path: Path, rgbe_rows: np.ndarray, res: str, header: str = "") -> Path:
    """A Radiance file with flat (uncompressed) scanlines stored in the given order."""
    head = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n" + header + "\n" + res + "\n"
    path.write_bytes(head.encode() + np.ascontiguousarray(rgbe_rows, dtype=np.uint8).tobytes())
    return path


def _random_rgbe(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    rgbe = rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)
    rgbe[..., 3] = rng.integers(120, 140, size=(h, w))
    rgbe[..., :3] = np.where(rgbe[..., :3] == 1, 7, rgbe[..., :3])  # no old-style repeat marks
    return rgbe


def test_memorial_matches_opencv_on_stripped_copy(shared_data: Path, tmp_path: Path) -> None:
    # memorial.hdr starts with a VIEW= line before the '#?RADIANCE' magic, which OpenCV
    # refuses; a copy starting at the magic is the same image for OpenCV.
    src = need(shared_data, "memorial/memorial.hdr")
    data = src.read_bytes()
    assert cv2.imread(str(src), cv2.IMREAD_UNCHANGED) is None
    copy = tmp_path / "memorial_stripped.hdr"
    copy.write_bytes(data[data.index(b"#?") :])
    ref = _cv2_rgb(copy)

    start = time.perf_counter()
    img = read_image(src)
    elapsed = time.perf_counter() - start
    assert img.shape == (768, 512, 3) and img.dtype == np.float32
    assert elapsed < 1.0, f"reading memorial.hdr took {elapsed:.2f} s"
    # Same RGBE bytes: OpenCV's convention (offset 0) reproduces its floats bit for bit.
    rgbe, header = read_rgbe_bytes(src)
    assert header.major == ("Y", "-", 768) and header.minor == ("X", "+", 512)
    np.testing.assert_array_equal(rgbe_to_float(rgbe, 0.0), ref)
    # read_image uses Radiance's (m + 0.5): above OpenCV by exactly half a mantissa step.
    step = np.ldexp(np.float32(1.0), rgbe[..., 3].astype(np.int32) - 136)[..., None]
    np.testing.assert_array_equal(img, np.where(rgbe[..., 3:] == 0, 0.0, ref + 0.5 * step))
    assert np.isfinite(img).all() and img.min() >= 0


def test_reads_opencv_written_file(tmp_path: Path) -> None:
    # cv2.imwrite writes new-style RLE with OpenCV's own encoder.
    rng = np.random.default_rng(0)
    radiance = (rng.random((37, 45, 3)) ** 4 * 50).astype(np.float32)
    radiance[5:9, :] = 3.0  # long runs
    path = tmp_path / "cv.hdr"
    assert cv2.imwrite(str(path), np.ascontiguousarray(radiance[..., ::-1]))
    ref = _cv2_rgb(path)
    rgbe, _ = read_rgbe_bytes(path)
    np.testing.assert_array_equal(rgbe_to_float(rgbe, 0.0), ref)
    img = read_image(path)
    peak = radiance.max(axis=2, keepdims=True)
    assert np.all(np.abs(img - radiance) <= peak / 128 + 1e-30)


@pytest.mark.parametrize("width", [3, 8, 45, 300])
def test_own_encoder_read_by_opencv_and_by_us(tmp_path: Path, width: int) -> None:
    rng = np.random.default_rng(width)
    radiance = (rng.random((20, width, 3)) ** 3 * 1000).astype(np.float32)
    radiance[2, :] = 0.0  # black runs
    radiance[3, : width // 2] = [1.0, 2.0, 3.0]
    radiance[4] = rng.integers(0, 3, size=(width, 1)).astype(np.float32)  # short runs
    path = tmp_path / "own.hdr"
    path.write_bytes(encode_rgbe_file(radiance))
    expected = float_to_rgbe(radiance)
    rgbe, _ = read_rgbe_bytes(path)
    np.testing.assert_array_equal(rgbe, expected)
    np.testing.assert_array_equal(_cv2_rgb(path), rgbe_to_float(expected, 0.0))
    img = read_image(path)
    peak = radiance.max(axis=2, keepdims=True)
    # Truncating encoder + mid-bin decoder: error at most half a step of the peak channel.
    assert np.all(np.abs(img - radiance) <= peak / 256 + 1e-30)


def test_float_to_rgbe_hand_values() -> None:
    # 1.0 = 0.5 * 2**1 -> mantissa 128, exponent 1 + 128; 0.25 of that -> 32.
    rgbe = float_to_rgbe(np.array([[1.0, 0.25, 0.0], [0.0, 0.0, 0.0], [-1.0, 2.0, 0.0]]))
    assert rgbe.tolist() == [[128, 32, 0, 129], [0, 0, 0, 0], [0, 128, 0, 130]]


@pytest.mark.parametrize(
    ("res", "transform"),
    [
        ("-Y {h} +X {w}", lambda a: a),
        ("-Y {h} -X {w}", lambda a: a[:, ::-1]),
        ("+Y {h} +X {w}", lambda a: a[::-1]),
        ("+Y {h} -X {w}", lambda a: a[::-1, ::-1]),
        ("+X {w} -Y {h}", lambda a: a.transpose(1, 0, 2)),
        ("-X {w} -Y {h}", lambda a: a.transpose(1, 0, 2)[::-1]),
        ("+X {w} +Y {h}", lambda a: a[::-1].transpose(1, 0, 2)),
        ("-X {w} +Y {h}", lambda a: a[::-1].transpose(1, 0, 2)[::-1]),
    ],
)
def test_orientations(
    tmp_path: Path, res: str, transform: Callable[[np.ndarray], np.ndarray]
) -> None:
    # The image: top-left pixel brightest in red, values rising along rows and columns.
    # Each resolution string stores the same image in another scanline order; ``transform``
    # maps the image (rows top-down, columns left-right) to that storage order.
    h, w = 3, 5
    rgbe = np.zeros((h, w, 4), dtype=np.uint8)
    rgbe[..., 0] = 128 + np.arange(h * w).reshape(h, w)
    rgbe[..., 3] = 129
    stored = transform(rgbe)
    path = _flat_file(tmp_path / "o.hdr", stored, res.format(h=h, w=w))
    got, _ = read_rgbe_bytes(path)
    np.testing.assert_array_equal(got, rgbe)


def test_old_style_rle_and_exposure(tmp_path: Path) -> None:
    # Width 4 < 8: Radiance never uses new-style RLE; old-style repeat records (1, 1, 1, n)
    # repeat the previous pixel n << shift times.
    px = [200, 100, 50, 130]
    line1 = px + [1, 1, 1, 3]  # 1 + 3 pixels
    line2 = [130, 0, 0, 129] + [140, 0, 0, 129] * 2 + [1, 1, 1, 1]
    head = b"VIEW= -vtv\n#?RGBE\nEXPOSURE=2\nEXPOSURE=4\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 4\n"
    path = tmp_path / "old.hdr"
    path.write_bytes(head + bytes(line1 + line2))
    rgbe, header = read_rgbe_bytes(path)
    assert header.exposure == 8.0
    assert rgbe[0].tolist() == [px] * 4
    assert rgbe[1].tolist() == [[130, 0, 0, 129]] + [[140, 0, 0, 129]] * 3
    img = read_image(path)
    np.testing.assert_allclose(img[0, 0], (np.array([200, 100, 50]) + 0.5) / 64 / 8, rtol=1e-6)


def test_long_old_style_repeat_uses_shift(tmp_path: Path) -> None:
    # Two consecutive repeat records: 2 + (1 << 8) = 258 repeats after one literal pixel.
    w = 259
    body = bytes([10, 20, 30, 128, 1, 1, 1, 2, 1, 1, 1, 1])
    path = tmp_path / "shift.hdr"
    path.write_bytes(b"#?RADIANCE\n\n-Y 1 +X %d\n" % w + body)
    rgbe, _ = read_rgbe_bytes(path)
    assert (rgbe[0] == [10, 20, 30, 128]).all()


def test_colorcorr_divided_out(tmp_path: Path) -> None:
    rgbe = np.array([[[128, 128, 128, 129]] * 2] * 2, dtype=np.uint8)
    path = _flat_file(tmp_path / "c.hdr", rgbe, "-Y 2 +X 2", "COLORCORR= 1 2 4\n")
    img = read_image(path)
    np.testing.assert_allclose(img[0, 0], np.array([1, 0.5, 0.25]) * 128.5 / 128, rtol=1e-6)


def test_flat_wide_file(tmp_path: Path) -> None:
    rgbe = _random_rgbe(np.random.default_rng(3), 4, 40)
    path = _flat_file(tmp_path / "flat.hdr", rgbe, "-Y 4 +X 40")
    got, _ = read_rgbe_bytes(path)
    np.testing.assert_array_equal(got, rgbe)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("nomagic.hdr", b"hello\n\n-Y 2 +X 2\n" + bytes(16), "magic"),
        ("xyze.hdr", b"#?RADIANCE\nFORMAT=32-bit_rle_xyze\n\n-Y 1 +X 1\n" + bytes(4), "XYZE"),
        ("badres.hdr", b"#?RADIANCE\n\n-Y 2 -Y 2\n" + bytes(16), "resolution"),
        ("noend.hdr", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n", "header"),
        ("short.hdr", b"#?RADIANCE\n\n-Y 2 +X 2\n" + bytes(9), "truncated"),
        ("text.hdr", b"just some text, not an image", "header"),
        ("exposure.hdr", b"#?RADIANCE\nEXPOSURE=-1\n\n-Y 1 +X 1\n" + bytes(4), "EXPOSURE"),
    ],
)
def test_bad_files_raise_input_error(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=rf"{name}.*{match}"):
        read_image(path)


def test_truncated_rle_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = encode_rgbe_file((rng.random((16, 32, 3)) * 5).astype(np.float32))
    for cut in (len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.hdr"
        path.write_bytes(data[:cut])
        with pytest.raises(InputError, match=rf"cut{cut}\.hdr.*truncated"):
            read_image(path)


def test_corrupt_rle_run_raises(tmp_path: Path) -> None:
    # A run that claims more pixels than the scanline holds.
    body = bytes([2, 2, 0, 8]) + bytes([128 + 9, 5])
    path = tmp_path / "overrun.hdr"
    path.write_bytes(b"#?RADIANCE\n\n-Y 1 +X 8\n" + body)
    with pytest.raises(InputError, match=r"overrun\.hdr.*overflows"):
        read_image(path)


def test_mixed_scanline_styles_in_small_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New-style RLE, flat and old-style scanlines in one file (Radiance allows any mix per
    # scanline), decoded with tiny gather blocks so that several blocks are flushed.
    monkeypatch.setattr("expokit.io._rgbe._BLOCK_BYTES", 100)
    rng = np.random.default_rng(7)
    w = 12
    radiance = (rng.random((6, w, 3)) * 9).astype(np.float32)
    radiance[1] = 2.0
    expected = float_to_rgbe(radiance)
    body = encode_rgbe_file(radiance).split(b"+X 12\n", 1)[1]
    # Split the new-style body into its 6 scanlines by re-encoding each row alone.
    rows = [encode_rgbe_file(radiance[i : i + 1]).split(b"+X 12\n", 1)[1] for i in range(6)]
    assert b"".join(rows) == body
    rows[2] = expected[2].tobytes()  # flat
    rows[4] = expected[4, :1].tobytes() + bytes([1, 1, 1, w - 1])  # old-style repeat
    expected[4] = expected[4, 0]
    path = tmp_path / "mixed.hdr"
    path.write_bytes(b"#?RADIANCE\n\n-Y 6 +X 12\n" + b"".join(rows))
    got, _ = read_rgbe_bytes(path)
    np.testing.assert_array_equal(got, expected)


def test_encoder_blocks_match_single_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    radiance = (np.random.default_rng(8).random((9, 20, 3)) * 3).astype(np.float32)
    whole = encode_rgbe_file(radiance)
    monkeypatch.setattr("expokit.io._rgbe._BLOCK_BYTES", 200)  # 2 scanlines per block
    assert encode_rgbe_file(radiance) == whole
