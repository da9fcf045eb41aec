"""expokit.io: reading, writing, atomic writes and image_info.

References are independent readers and writers of the same files: OpenCV (``cv2.imread``),
Pillow, tifffile and the OpenEXR package. Radiance .hdr has its own file, test_io_rgbe.py;
EXIF has test_io_exif.py.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import types
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest
import tifffile
from conftest import need
from PIL import Image

from expokit.errors import InputError, MissingResourceError
from expokit.io import (
    atomic_path,
    check_output_path,
    image_info,
    read_image,
    to_code_values,
    write_image,
)

RNG = np.random.default_rng(20240601)


def _rgb8(h: int = 24, w: int = 36) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _cv2_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"OpenCV could not read {path}"
    return img[..., ::-1] if img.ndim == 3 else img[..., None]


def _write_exr(path: Path, channels: dict[str, np.ndarray]) -> Path:
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))
    return path


# --------------------------------------------------------------------------- real data


def test_16bit_png_stays_16bit(shared_data: Path) -> None:
    # Pillow silently reads this 16-bit PNG as 8-bit; OpenCV IMREAD_UNCHANGED is the reference.
    path = need(shared_data, "hdr_cc0/hdr_room.png")
    img = read_image(path)
    assert img.dtype == np.uint16 and img.shape == (449, 676, 3)
    assert img.max() > 255
    np.testing.assert_array_equal(img, _cv2_rgb(path))
    info = image_info(path)
    assert (info.format, info.width, info.height, info.channels) == ("png", 676, 449, 3)
    assert (info.dtype, info.bit_depth) == ("uint16", 16)


def test_memorial_png_matches_pillow_and_opencv(shared_data: Path) -> None:
    path = need(shared_data, "memorial/memorial0066.png")
    img = read_image(path)
    assert img.dtype == np.uint8 and img.shape == (768, 512, 3)
    with Image.open(path) as im:
        np.testing.assert_array_equal(img, np.asarray(im.convert("RGB")))
    np.testing.assert_array_equal(img, _cv2_rgb(path))


@pytest.mark.parametrize("name", ["city", "night", "studio"])
def test_real_exr_matches_openexr_and_opencv(shared_data: Path, name: str) -> None:
    path = need(shared_data, f"hdr_cc0/{name}.exr")
    img = read_image(path)
    assert img.dtype == np.float32 and img.shape == (512, 1024, 3)
    # The OpenEXR package's own packed read (a different code path from ours), with the
    # negative codec noise set to 0 as the conventions say.
    ref = np.maximum(OpenEXR.File(str(path)).channels()["RGB"].pixels, 0)
    np.testing.assert_array_equal(img, ref)
    cv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if cv is not None:  # OpenCV builds without OpenEXR return None
        np.testing.assert_array_equal(img, np.maximum(cv[..., ::-1], 0))
    info = image_info(path)
    assert (info.format, info.width, info.height, info.channels, info.bit_depth) == (
        "exr",
        1024,
        512,
        3,
        32,
    )


def test_real_exr_negatives_clipped_with_a_warning(
    shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # DWAB compression leaves small negative values near black: by default they are set to 0
    # with one warning that counts them (the count and minimum from the OpenEXR package).
    path = need(shared_data, "hdr_cc0/city.exr")
    ref = OpenEXR.File(str(path)).channels()["RGB"].pixels
    count, low = int(np.count_nonzero(ref < 0)), float(ref.min())
    assert count > 0
    with caplog.at_level(logging.WARNING, logger="expokit"):
        img = read_image(path)
    assert img.min() == 0 and np.isfinite(img).all()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"city.exr: {count} negative value(s) set to 0 (minimum {low:.4g})"]
    with pytest.raises(InputError, match=rf"city\.exr: {count} negative .*--negative clip"):
        read_image(path, negative="error")


# --------------------------------------------------------------------------- PNG / JPEG


@pytest.mark.parametrize(
    ("mode", "channels"), [("RGB", 3), ("RGBA", 3), ("L", 1), ("LA", 1), ("P", 3), ("1", 1)]
)
def test_png_modes(tmp_path: Path, mode: str, channels: int) -> None:
    rgb = _rgb8()
    im = Image.fromarray(rgb).convert(mode)
    path = tmp_path / f"m_{mode}.png"
    im.save(path)
    img = read_image(path)
    assert img.dtype == np.uint8 and img.shape == (24, 36, channels)
    # Reference: Pillow's own conversion of the file to RGB or L.
    with Image.open(path) as back:
        ref = np.asarray(back.convert("RGB" if channels == 3 else "L"))
    np.testing.assert_array_equal(img.reshape(ref.shape), ref)
    info = image_info(path)
    assert (info.channels, info.dtype) == (channels, "uint8")


def test_grey_16bit_png(tmp_path: Path) -> None:
    grey = RNG.integers(0, 65536, size=(10, 12), dtype=np.uint16)
    path = tmp_path / "g16.png"
    assert cv2.imwrite(str(path), grey)
    img = read_image(path)
    assert img.shape == (10, 12, 1) and img.dtype == np.uint16
    np.testing.assert_array_equal(img[..., 0], grey)


def test_jpeg_matches_opencv(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.fromarray(_rgb8()).save(path, quality=90)
    img = read_image(path)
    assert img.dtype == np.uint8 and img.shape == (24, 36, 3)
    np.testing.assert_array_equal(img, _cv2_rgb(path))


def test_jpeg_named_png_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "really_a_jpeg.png"
    Image.fromarray(_rgb8()).save(path, format="JPEG")
    assert read_image(path).shape == (24, 36, 3)


# --------------------------------------------------------------------------- TIFF


@pytest.mark.parametrize(
    ("dtype", "shape", "kwargs"),
    [
        (np.uint8, (20, 30, 3), {"photometric": "rgb"}),
        (np.uint16, (20, 30, 3), {"photometric": "rgb"}),
        (np.float32, (20, 30, 3), {"photometric": "rgb"}),
        (np.uint16, (20, 30), {"photometric": "minisblack"}),
        (np.uint8, (3, 20, 30), {"photometric": "rgb", "planarconfig": "separate"}),
        (np.float16, (20, 30, 3), {"photometric": "rgb"}),
        (np.float64, (20, 30, 3), {"photometric": "rgb"}),
    ],
)
def test_tiff_written_by_tifffile(tmp_path: Path, dtype: type, shape: tuple, kwargs: dict) -> None:
    if np.dtype(dtype).kind == "f":
        data = RNG.random(shape).astype(dtype)
    else:
        data = RNG.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, data, **kwargs)
    img = read_image(path)
    expected = np.moveaxis(data, 0, -1) if kwargs.get("planarconfig") else data
    if expected.ndim == 2:
        expected = expected[..., None]
    if expected.dtype.kind == "f":
        expected = expected.astype(np.float32)
    np.testing.assert_array_equal(img, expected)
    info = image_info(path)
    assert (info.height, info.width, info.channels, info.dtype) == (
        *img.shape,
        img.dtype.name,
    )


def test_tiff_alpha_dropped(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, size=(8, 9, 4), dtype=np.uint8)
    path = tmp_path / "rgba.tiff"
    tifffile.imwrite(path, rgba, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(read_image(path), rgba[..., :3])


@pytest.mark.parametrize("dtype", [np.int16, np.uint32])
def test_tiff_unsupported_bit_depth(tmp_path: Path, dtype: type) -> None:
    path = tmp_path / f"deep_{np.dtype(dtype).name}.tif"
    tifffile.imwrite(path, np.ones((8, 8, 3), dtype=dtype), photometric="rgb")
    with pytest.raises(InputError, match=rf"deep_{np.dtype(dtype).name}\.tif.*unsupported"):
        read_image(path)
    with pytest.raises(InputError, match=rf"deep_{np.dtype(dtype).name}\.tif.*unsupported"):
        image_info(path)


def test_palette_and_bilevel_tiff(tmp_path: Path) -> None:
    # Pillow writes both; its own conversion to RGB / L is the reference.
    rgb = _rgb8()
    for mode, channels in (("P", 3), ("1", 1)):
        path = tmp_path / f"{mode}.tif"
        Image.fromarray(rgb).convert(mode).save(path)
        img = read_image(path)
        with Image.open(path) as im:
            ref = np.asarray(im.convert("RGB" if channels == 3 else "L"))
        assert img.dtype == np.uint8 and img.shape == (24, 36, channels)
        np.testing.assert_array_equal(img.reshape(ref.shape), ref)
        info = image_info(path)
        assert (info.channels, info.dtype) == (channels, "uint8")


def test_float_tiff_with_nan_raises(tmp_path: Path) -> None:
    data = np.ones((8, 8, 3), dtype=np.float32)
    data[0, 0, 0] = np.nan
    data[1, 1] = np.inf
    path = tmp_path / "nan.tif"
    tifffile.imwrite(path, data, photometric="rgb")
    with pytest.raises(InputError, match=r"nan\.tif.* 4 NaN or infinite"):
        read_image(path)


# --------------------------------------------------------------------------- OpenEXR


def test_exr_channel_layouts(tmp_path: Path) -> None:
    r = RNG.random((6, 7)).astype(np.float32)
    g, b = r * 2, r * 3
    rgb = np.stack([r, g, b], axis=-1)
    cases = {
        "half": ({"R": r.astype(np.float16), "G": g.astype(np.float16), "B": b.astype(np.float16)},
                 rgb.astype(np.float16).astype(np.float32)),
        "rgba": ({"R": r, "G": g, "B": b, "A": np.ones_like(r)}, rgb),
        "mixed": ({"R": r.astype(np.float16), "G": g, "B": b},
                  np.stack([r.astype(np.float16).astype(np.float32), g, b], axis=-1)),
        "packed": ({"RGB": rgb}, rgb),
        "grey": ({"Y": r}, r[..., None]),
        "uint": ({"R": np.full((6, 7), 7, np.uint32), "G": np.zeros((6, 7), np.uint32),
                  "B": np.zeros((6, 7), np.uint32)},
                 np.stack([np.full((6, 7), 7.0), np.zeros((6, 7)), np.zeros((6, 7))], -1)),
        "layer": ({"beauty.R": r, "beauty.G": g, "beauty.B": b}, rgb),
        "single": ({"Z": r}, r[..., None]),
    }  # fmt: skip
    for name, (channels, expected) in cases.items():
        path = _write_exr(tmp_path / f"{name}.exr", channels)
        img = read_image(path)
        assert img.dtype == np.float32, name
        np.testing.assert_array_equal(img, expected.astype(np.float32), err_msg=name)
        info = image_info(path)
        assert (info.height, info.width, info.channels) == img.shape, name
        assert info.bit_depth == (16 if name == "half" else 32), name


def test_exr_without_colour_channels(tmp_path: Path) -> None:
    z = np.zeros((4, 4), np.float32)
    path = _write_exr(tmp_path / "depth.exr", {"Z": z, "depth.V": z})
    with pytest.raises(InputError, match=r"depth\.exr.*no R, G, B or Y"):
        read_image(path)


def test_exr_nan_inf_raises_with_count(tmp_path: Path) -> None:
    data = np.ones((5, 5), np.float32)
    bad = data.copy()
    bad[0, :3] = np.nan
    bad[4, 4] = -np.inf
    path = _write_exr(tmp_path / "broken_render.exr", {"R": bad, "G": data, "B": data})
    with pytest.raises(InputError, match=r"broken_render\.exr.* 4 NaN or infinite"):
        read_image(path)


def test_truncated_exr(shared_data: Path, tmp_path: Path) -> None:
    src = need(shared_data, "hdr_cc0/studio.exr")
    data = src.read_bytes()
    path = tmp_path / "half_studio.exr"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"half_studio\.exr"):
        read_image(path)


# Luma weights from the primaries, published values: ITU-R BT.709-6 (Y = 0.2126 R + 0.7152 G
# + 0.0722 B) and ITU-R BT.2020-2 (Y = 0.2627 R + 0.6780 G + 0.0593 B).
REC709 = ((0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290), (0.2126, 0.7152, 0.0722))
REC2020 = ((0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290), (0.2627, 0.6780, 0.0593))


def _yca(rgb: np.ndarray, weights: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    """OpenEXR's luminance/chroma encoding (ImfRgbaYca RGBtoYCA): Y, (R - Y) / Y, (B - Y) / Y."""
    lum = rgb @ np.asarray(weights, dtype=np.float64)
    return lum, (rgb[..., 0] - lum) / lum, (rgb[..., 2] - lum) / lum


def _write_yca(path: Path, lum: np.ndarray, ry: np.ndarray, by: np.ndarray, sampling: int,
               chromaticities: tuple[float, ...] | None = None) -> Path:
    """Write Y, RY, BY float channels, RY/BY subsampled ``sampling`` x ``sampling``."""
    h, w = lum.shape
    channels = {"Y": OpenEXR.Channel(lum.astype(np.float32))}
    for name, plane in (("RY", ry), ("BY", by)):
        small = np.ascontiguousarray(plane[::sampling, ::sampling], dtype=np.float32)
        if sampling == 1:
            channels[name] = OpenEXR.Channel(small)
            continue
        # The OpenEXR package (3.3-3.5) wants a full-size array for a subsampled channel and
        # stores its first (h / s) * (w / s) values; what was stored is checked below.
        buf = np.zeros((h, w), np.float32)
        buf.reshape(-1)[: small.size] = small.reshape(-1)
        channels[name] = OpenEXR.Channel(buf, sampling, sampling)
    header: dict[str, object] = {"compression": OpenEXR.ZIP_COMPRESSION,
                                 "type": OpenEXR.scanlineimage}
    if chromaticities is not None:
        header["chromaticities"] = chromaticities
    OpenEXR.File(header, channels).write(str(path))
    stored = OpenEXR.File(str(path), separate_channels=True).channels()
    for name, plane in (("RY", ry), ("BY", by)):
        expected = plane[::sampling, ::sampling].astype(np.float32)
        if not np.array_equal(stored[name].pixels, expected):
            pytest.skip(f"this OpenEXR package cannot write {sampling}x{sampling} chroma")
    return path


def test_exr_luminance_chroma_read_as_rgb(tmp_path: Path) -> None:
    # Y/RY/BY files (OpenEXR's RGBA interface, e.g. its sample images) are colour, converted
    # with the luminance weights of the file's chromaticities (Rec. 709 by default).
    rgb = (RNG.random((12, 18, 3)) * 4 + 0.05).astype(np.float64)
    for chroma, weights in (REC709, REC2020):
        given = None if chroma is REC709[0] else chroma
        path = _write_yca(tmp_path / f"yca_{weights[0]}.exr", *_yca(rgb, weights), 1,
                          chromaticities=given)
        img = read_image(path)
        assert img.shape == (12, 18, 3) and img.dtype == np.float32
        # float32 channels; the published weights are rounded to 4 digits
        np.testing.assert_allclose(img, rgb, rtol=2e-3, atol=0)
        info = image_info(path)
        assert (info.height, info.width, info.channels, info.bit_depth) == (12, 18, 3, 32)
    # With the Rec. 709 default the weights are those of BT.709 to rounding, so the
    # reconstruction is as close as float32 channels allow.
    path = _write_yca(tmp_path / "tight.exr", *_yca(rgb, (0.21263901, 0.71516868, 0.07219232)),
                      1)
    np.testing.assert_allclose(read_image(path), rgb, rtol=1e-5)


def test_exr_luminance_chroma_subsampled(tmp_path: Path) -> None:
    # Chroma stored at half resolution (sample (i, j) at pixel (2i, 2j)) is upsampled
    # bilinearly: exact where the chroma varies linearly, except the last row and column
    # (past the last sample, where the edge sample is repeated).
    h, w = 16, 24
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    lum = 0.5 + RNG.random((h, w)) * 3  # textured luminance at full resolution
    ry, by = 0.4 * xx / w - 0.2 + 0.1 * yy / h, 0.3 - 0.5 * yy / h
    wr, wg, wb = REC709[1]
    red, blue = (ry + 1) * lum, (by + 1) * lum
    rgb = np.stack([red, (lum - wr * red - wb * blue) / wg, blue], axis=-1)
    np.testing.assert_allclose(_yca(rgb, REC709[1])[1], ry, atol=1e-12)  # RGB is what we think
    path = _write_yca(tmp_path / "sub.exr", *_yca(rgb, REC709[1]), 2)
    img = read_image(path)
    assert img.shape == (h, w, 3)
    # Interior: bilinear reconstructs the linear chroma; the luma weights differ from the
    # exact ones by < 5e-5.
    np.testing.assert_allclose(img[:-1, :-1], rgb[:-1, :-1], rtol=1e-3)
    # Last row/column: the chroma is off by at most half a step of its ramp.
    step = 0.5 * max(0.4 / w * 2, 0.1 / h * 2, 0.5 / h * 2) * lum.max()
    assert np.abs(img - rgb).max() <= step * 1.5
    # Nearest-neighbour upsampling, or samples taken as block centres, would miss by about
    # half a ramp step everywhere; the interior check above rules that out.
    info = image_info(path)
    assert (info.height, info.width, info.channels) == (h, w, 3)


def test_exr_luminance_only_stays_grey(tmp_path: Path) -> None:
    lum = RNG.random((6, 7)).astype(np.float32)
    path = _write_exr(tmp_path / "y.exr", {"Y": lum, "BY": lum})  # no RY: not colour
    np.testing.assert_array_equal(read_image(path), lum[..., None])
    assert image_info(path).channels == 1


def test_exr_negative_values_policy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The report's file: -5.0 in 50 rows of a bright image, which used to be clamped silently.
    data = np.full((60, 10), 100.0, np.float32)
    data[:50, 0] = -5.0
    path = _write_exr(tmp_path / "offset.exr", {"R": data, "G": data, "B": data})
    with caplog.at_level(logging.WARNING, logger="expokit"):
        img = read_image(path)
    assert img.min() == 0 and (img[:50, 0] == 0).all() and (img[:, 1:] == 100).all()
    assert "offset.exr: 150 negative value(s) set to 0 (minimum -5)" in caplog.text
    with pytest.raises(InputError, match=r"offset\.exr: 150 negative value\(s\), down to -5\b"):
        read_image(path, negative="error")
    with pytest.raises(InputError, match="negative must be 'clip'.*'error'"):
        read_image(path, negative="keep")


def test_float_tiff_negative_values_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = np.full((8, 9, 3), 0.5, np.float32)
    data[0, :7, 1] = -0.047
    path = tmp_path / "neg.tif"
    tifffile.imwrite(path, data, photometric="rgb")
    with caplog.at_level(logging.WARNING, logger="expokit"):
        img = read_image(path)
    assert img.min() == 0 and "neg.tif: 7 negative value(s) set to 0 (minimum -0.047)" in (
        caplog.text)
    with pytest.raises(InputError, match=r"neg\.tif: 7 negative .*-0\.047.*--negative clip"):
        read_image(path, negative="error")


# --------------------------------------------------------------------------- RAW


def test_raw_without_rawpy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rawpy", None)  # makes `import rawpy` fail
    path = tmp_path / "IMG_0001.CR2"
    path.write_bytes(b"II*\x00fake raw")
    with pytest.raises(MissingResourceError, match=r'IMG_0001\.CR2.*pip install "expokit\[raw\]"'):
        read_image(path)


def test_raw_through_rawpy_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in rawpy records how LibRaw is asked to develop the file.
    calls: dict[str, object] = {}
    out16 = RNG.integers(0, 65536, size=(4, 6, 3), dtype=np.uint16)

    class FakeRaw:
        def __enter__(self) -> FakeRaw:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def postprocess(self, **kwargs: object) -> np.ndarray:
            calls.update(kwargs)
            return out16

    fake = types.ModuleType("rawpy")
    fake.imread = lambda path: FakeRaw()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rawpy", fake)
    path = tmp_path / "shot.nef"
    path.write_bytes(b"MM\x00*fake")
    img = read_image(path)
    assert calls == {
        "use_camera_wb": True,
        "gamma": (1, 1),
        "no_auto_bright": True,
        "output_bps": 16,
    }
    assert img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    np.testing.assert_allclose(img, out16 / 65535.0, rtol=1e-6)


def test_raw_decoder_error_is_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("rawpy")

    def imread(path: str) -> None:
        raise OSError("LibRawFileUnsupportedError")

    fake.imread = imread  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rawpy", fake)
    path = tmp_path / "odd.arw"
    path.write_bytes(b"nope")
    with pytest.raises(InputError, match=r"odd\.arw.*LibRaw"):
        read_image(path)


# --------------------------------------------------------------------------- read errors


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_rgb8(64, 64)).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_rgb8(64, 64)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "match"),
    [
        ("half.png", lambda: _png_bytes()[: len(_png_bytes()) // 2], "truncated|cannot decode"),
        ("no_iend.png", lambda: _png_bytes()[:-12], "truncated"),
        ("half.jpg", lambda: _jpeg_bytes()[: len(_jpeg_bytes()) // 2], "truncated"),
        ("no_eoi.jpg", lambda: _jpeg_bytes()[:-2], "truncated"),
        ("notes.png", lambda: b"this is a text file, not a picture\n", "not a PNG"),
        ("empty.jpg", lambda: b"", "empty"),
        ("empty.exr", lambda: b"", "empty"),
        ("text.tif", lambda: b"hello", "not a TIF"),
        ("garbage.exr", lambda: b"not an exr file at all", "not a readable OpenEXR"),
    ],
)
def test_bad_files_raise_input_error(
    tmp_path: Path, name: str, make: Callable[[], bytes], match: str
) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(InputError, match=rf"{re.escape(name)}.*({match})"):
        read_image(path)


def test_corrupt_png_data(tmp_path: Path) -> None:
    data = bytearray(_png_bytes())
    data[len(data) // 2] ^= 0xFF  # breaks the zlib stream / CRC, keeps IEND
    path = tmp_path / "bitflip.png"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bitflip\.png.*cannot decode"):
        read_image(path)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (len(payload).to_bytes(4, "big") + kind + payload
            + (zlib.crc32(kind + payload) & 0xFFFFFFFF).to_bytes(4, "big"))


def _huge_png(width: int, height: int) -> bytes:
    """A small, well-formed PNG (valid CRCs, IEND) whose IHDR claims ``width`` x ``height``."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" + b"\x00" * 3 * 16)  # one row's worth of data
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def test_huge_png_header_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_huge_png(100_000, 100_000))
    with pytest.raises(Image.DecompressionBombError, match="10000000000 pixels"):
        Image.open(path)  # Pillow reads the 100000x100000 header we made (and refuses it)
    with pytest.raises(InputError, match=r"bomb\.png: .*100000x100000.*1073741824 pixels"):
        read_image(path)


def test_huge_jpeg_header_is_bad_input(tmp_path: Path) -> None:
    data = bytearray(_jpeg_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (65000).to_bytes(2, "big") * 2  # height, width
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bomb\.jpg: .*65000x65000.*1073741824 pixels"):
        read_image(path)


def test_truncated_tiff(tmp_path: Path) -> None:
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, _rgb8(64, 64), photometric="rgb")
    data = path.read_bytes()
    # tifffile puts the IFD first and the pixels after it: cutting loses pixel data only.
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(InputError, match=r"cut\.tif.*truncated"):
        read_image(path)


def test_missing_file_folder_and_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.png: no such file"):
        read_image(tmp_path / "nowhere.png")
    folder = tmp_path / "shots.png"
    folder.mkdir()
    with pytest.raises(InputError, match=r"shots\.png is a folder"):
        read_image(folder)
    odd = tmp_path / "picture.gif"
    odd.write_bytes(b"GIF89a")
    with pytest.raises(InputError, match=r"picture\.gif: unknown image extension '\.gif'"):
        read_image(odd)
    with pytest.raises(InputError, match=r"nowhere\.exr: no such file"):
        image_info(tmp_path / "nowhere.exr")


# --------------------------------------------------------------------------- writing


def _float_image(h: int = 20, w: int = 33, c: int = 3) -> np.ndarray:
    img = RNG.random((h, w, c)).astype(np.float32)
    img[0, 0] = 0.0
    img[0, 1] = 1.0
    return img


def test_quantisation_rounds_and_clips() -> None:
    # Hand values: 0.5 * 255 = 127.5 -> 128 (round half to even), 1/255 -> 1, 0.6/255 -> 1.
    x = np.array([-0.2, 0.0, 0.6 / 255, 1 / 255, 0.5, 1.0, 1.7])
    assert to_code_values(x, 8).tolist() == [0, 0, 1, 1, 128, 255, 255]
    assert to_code_values(x, 16).tolist() == [0, 0, 154, 257, 32768, 65535, 65535]
    u8 = np.array([0, 1, 128, 255], np.uint8)
    assert to_code_values(u8, 16).tolist() == [0, 257, 32896, 65535]
    u16 = np.array([0, 128, 129, 257, 32896, 65535], np.uint16)
    assert to_code_values(u16, 8).tolist() == [0, 0, 1, 1, 128, 255]


@pytest.mark.parametrize(
    ("name", "bit_depth", "dtype"),
    [
        ("o.png", None, np.uint8),
        ("o16.png", 16, np.uint16),
        ("o.tif", None, np.uint8),
        ("o16.tiff", 16, np.uint16),
    ],
)
def test_integer_formats_round_trip_exactly(
    tmp_path: Path, name: str, bit_depth: int | None, dtype: type
) -> None:
    img = _float_image()
    path = write_image(tmp_path / name, img, bit_depth=bit_depth)
    expected = to_code_values(img, np.iinfo(dtype).bits)
    got = read_image(path)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)
    # Independent readers.
    if name.endswith(".png"):
        np.testing.assert_array_equal(_cv2_rgb(path), expected)
    else:
        np.testing.assert_array_equal(tifffile.imread(path), expected)
    # Exactly float -> code value: within half a step of the input.
    step = 1.0 / np.iinfo(dtype).max
    assert np.abs(got / np.iinfo(dtype).max - img).max() <= step / 2 + 1e-7


def test_integer_input_written_as_is(tmp_path: Path) -> None:
    u16 = RNG.integers(0, 65536, size=(9, 10, 3), dtype=np.uint16)
    u8 = _rgb8(9, 10)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.png", u16)), u16)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.tif", u16)), u16)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "b.png", u8)), u8)
    up = read_image(write_image(tmp_path / "up.png", u8, bit_depth=16))
    np.testing.assert_array_equal(up, u8.astype(np.uint16) * 257)
    down = read_image(write_image(tmp_path / "down.png", u16, bit_depth=8))
    np.testing.assert_array_equal(down, np.rint(u16 / 257.0).astype(np.uint8))
    jpg = read_image(write_image(tmp_path / "from16.jpg", u16))
    assert jpg.dtype == np.uint8


def test_grey_round_trips(tmp_path: Path) -> None:
    grey = _float_image(c=1)
    for name in ("g.png", "g.tif", "g.exr"):
        got = read_image(write_image(tmp_path / name, grey[..., 0]))
        assert got.shape == (20, 33, 1), name
    got = read_image(write_image(tmp_path / "g.jpg", grey, quality=100))
    assert got.shape == (20, 33, 1)
    assert np.abs(got / 255.0 - grey).max() < 3 / 255
    hdr = read_image(write_image(tmp_path / "g.hdr", grey))
    assert hdr.shape == (20, 33, 3)  # RGBE has no grey: replicated


def test_jpeg_quality(tmp_path: Path) -> None:
    img = _float_image(64, 64)
    hi = write_image(tmp_path / "hi.jpg", img, quality=98)
    lo = write_image(tmp_path / "lo.jpg", img, quality=20)
    assert hi.stat().st_size > lo.stat().st_size
    err_hi = np.abs(read_image(hi) / 255.0 - img).mean()
    err_lo = np.abs(read_image(lo) / 255.0 - img).mean()
    assert err_hi < err_lo
    np.testing.assert_array_equal(read_image(hi), _cv2_rgb(hi))


def test_jpeg_quality_is_recovered_from_the_tables(tmp_path: Path) -> None:
    from PIL import Image

    from expokit.io import jpeg_quality

    img = Image.fromarray((_float_image(32, 32) * 255).astype(np.uint8))
    for q in (10, 50, 75, 90, 98):  # libjpeg (through Pillow) writes the table of quality q
        img.save(tmp_path / f"q{q}.jpg", quality=q)
        assert jpeg_quality(tmp_path / f"q{q}.jpg") == q
    img.save(tmp_path / "x.png")
    assert jpeg_quality(tmp_path / "x.png") is None


def test_float_tiff_exr_hdr_round_trips(tmp_path: Path) -> None:
    radiance = (RNG.random((16, 40, 3)) ** 3 * 5000).astype(np.float32)
    radiance[0, 0] = [-0.25, 0.0, 1e-3]  # negatives are written as given, read back as 0
    clipped = np.maximum(radiance, 0)
    tif = write_image(tmp_path / "r.tif", radiance, bit_depth=32)
    np.testing.assert_array_equal(read_image(tif), clipped)
    np.testing.assert_array_equal(tifffile.imread(tif), radiance)
    exr = write_image(tmp_path / "r.exr", radiance)
    np.testing.assert_array_equal(read_image(exr), clipped)
    ref = OpenEXR.File(str(exr), separate_channels=True).channels()
    np.testing.assert_array_equal(ref["R"].pixels, radiance[..., 0])
    half = write_image(tmp_path / "h.exr", radiance, bit_depth=16)
    np.testing.assert_array_equal(read_image(half), clipped.astype(np.float16).astype(np.float32))
    assert image_info(half).bit_depth == 16
    hdr = write_image(tmp_path / "r.hdr", np.maximum(radiance, 0))
    got = read_image(hdr)
    peak = radiance.max(axis=2, keepdims=True)
    assert np.all(np.abs(got - np.maximum(radiance, 0)) <= peak / 256)
    cv = _cv2_rgb(hdr)
    assert np.all(np.abs(cv - np.maximum(radiance, 0)) <= peak / 128)


def test_half_exr_overflow_refused(tmp_path: Path) -> None:
    img = np.full((4, 4, 3), 1e5, np.float32)
    with pytest.raises(InputError, match=r"bright\.exr.*overflow half"):
        write_image(tmp_path / "bright.exr", img, bit_depth=16)
    assert not (tmp_path / "bright.exr").exists()


def test_out_of_range_values_clipped_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    img = _float_image()
    img[2, 2] = [1.5, -0.5, 0.5]
    with caplog.at_level(logging.WARNING, logger="expokit.io"):
        got = read_image(write_image(tmp_path / "clip.png", img))
    assert got[2, 2].tolist() == [255, 0, 128]
    assert "2 values outside [0, 1] clipped" in caplog.text


@pytest.mark.parametrize("name", ["code.png", "code.jpg", "code.tif"])
def test_floats_in_0_255_refused(tmp_path: Path, name: str) -> None:
    # A float image of 0..255 code values used to be clipped to white with a warning.
    img = _float_image() * 255
    with pytest.raises(InputError, match=rf"{re.escape(name)}: .*up to 2\d\d.*divide by 255"):
        write_image(tmp_path / name, img)
    assert list(tmp_path.iterdir()) == []
    # Radiance formats take any non-negative float; uint8 code values are written as they are.
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "r.exr", img)), img)
    np.testing.assert_array_equal(
        read_image(write_image(tmp_path / "r.tif", img, bit_depth=32)), img)
    np.testing.assert_array_equal(
        read_image(write_image(tmp_path / "u.png", np.rint(img).astype(np.uint8))),
        np.rint(img).astype(np.uint8))


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("x.jpg", {"bit_depth": 16}, r"bit_depth=16 .*x\.jpg"),
        ("x.png", {"bit_depth": 32}, r"bit_depth=32 .*x\.png"),
        ("x.hdr", {"bit_depth": 8}, r"bit_depth=8 .*x\.hdr"),
        ("x.jpg", {"quality": 0}, r"quality=0 .*x\.jpg"),
        ("x.gif", {}, r"x\.gif: unknown extension"),
        ("x", {}, r"output x: unknown extension"),
    ],
)
def test_write_argument_errors(tmp_path: Path, name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        write_image(tmp_path / name, _float_image(), **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_write_bad_images(tmp_path: Path) -> None:
    nan = _float_image()
    nan[1, 1, 1] = np.nan
    with pytest.raises(InputError, match=r"out\.png.*1 NaN"):
        write_image(tmp_path / "out.png", nan)
    with pytest.raises(InputError, match=r"out\.png.*shape"):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 4)))
    with pytest.raises(InputError, match="exif must be bytes"):
        write_image(tmp_path / "out.jpg", _float_image(), exif="Exif")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_parent_folders_created(tmp_path: Path) -> None:
    out = write_image(tmp_path / "a" / "b" / "c.png", _float_image())
    assert out.is_file()


def test_output_folder_refused(tmp_path: Path) -> None:
    folder = tmp_path / "result.png"
    folder.mkdir()
    with pytest.raises(InputError, match=r"result\.png is a folder"):
        write_image(folder, _float_image())


# --------------------------------------------------------------------------- inputs protected


def test_output_equal_to_input_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_image(tmp_path / "a.png", _float_image())
    b = write_image(tmp_path / "b.png", _float_image())
    before = b.read_bytes()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for spelling in (b, Path("b.png"), tmp_path / "sub" / ".." / "b.png"):
        with pytest.raises(InputError, match=r"output .*b\.png is also input 2 \(b\.png\)"):
            write_image(spelling, _float_image(), inputs=[a, b])
    link = tmp_path / "link.png"
    link.symlink_to(b)
    with pytest.raises(InputError, match=r"link\.png is also input 1.*never overwritten"):
        write_image(link, _float_image(), inputs=[str(b)])
    hard = tmp_path / "hard.png"
    os.link(b, hard)
    with pytest.raises(InputError, match=r"hard\.png is also input 1"):
        write_image(hard, _float_image(), inputs=[b])
    assert b.read_bytes() == before
    check_output_path(tmp_path / "c.png", inputs=[a, b])  # a new name is fine


# --------------------------------------------------------------------------- atomic writes


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_failed_write_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write_image(tmp_path / "keep.png", _float_image())
    before = out.read_bytes()

    def broken(tmp: Path, img: np.ndarray, blob: bytes | None) -> None:
        tmp.write_bytes(b"\x89PNG half written")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("expokit.io._write._write_png", broken)
    with pytest.raises(InputError, match=r"cannot write .*keep\.png.*disk on fire"):
        write_image(out, np.zeros((8, 8, 3)))
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []
    with pytest.raises(InputError):
        write_image(tmp_path / "new.png", np.zeros((8, 8, 3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def test_atomic_path(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "scores.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".scores.csv.")
        assert not target.exists()
        tmp.write_text("a,b\n")
    assert target.read_text() == "a,b\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(KeyError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise KeyError("interrupted")
    assert target.read_text() == "a,b\n"
    assert _leftovers(target.parent) == []


def test_atomic_path_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "plain"
    blocker.write_text("x")
    with (
        pytest.raises(InputError, match=r"cannot create folder .*plain"),
        atomic_path(blocker / "out.png"),
    ):
        pass


# --------------------------------------------------------------------------- image_info


def test_image_info_matches_read_image(tmp_path: Path) -> None:
    img = _float_image()
    files = [
        write_image(tmp_path / "i.png", img),
        write_image(tmp_path / "i16.png", img, bit_depth=16),
        write_image(tmp_path / "i.jpg", img),
        write_image(tmp_path / "i.tif", img),
        write_image(tmp_path / "i16.tif", img, bit_depth=16),
        write_image(tmp_path / "i32.tif", img, bit_depth=32),
        write_image(tmp_path / "g.png", img[..., :1]),
        write_image(tmp_path / "i.exr", img),
        write_image(tmp_path / "i.hdr", img),
    ]
    bits = [8, 16, 8, 8, 16, 32, 8, 32, 32]
    formats = ["png", "png", "jpeg", "tiff", "tiff", "tiff", "png", "exr", "hdr"]
    for path, nbits, fmt in zip(files, bits, formats, strict=True):
        info = image_info(path)
        pixels = read_image(path)
        assert (info.height, info.width, info.channels) == pixels.shape, path.name
        assert info.dtype == pixels.dtype.name, path.name
        assert (info.bit_depth, info.format, info.path) == (nbits, fmt, path), path.name
        assert info.exposure_time is None and info.iso is None, path.name


# --------------------------------------------------------------------------- command line


def _cli(*args: object) -> tuple[int, list[str]]:
    """Run ``expokit ARGS`` (in-process): exit code and the non-empty stderr lines."""
    from conftest import run_cli

    proc = run_cli(*args)
    return proc.returncode, [ln for ln in proc.stderr.splitlines() if ln.strip()]


def test_cli_negative_option(tmp_path: Path) -> None:
    # The report's sample: 35 values down to -0.047 in a dim image (-2.3 % of its maximum).
    red = np.full((40, 30), 2.0, np.float32)
    red[:35, 3] = -0.047
    grey = np.ones_like(red)
    exr = _write_exr(tmp_path / "sample.exr", {"R": red, "G": grey, "B": grey})
    code, lines = _cli("tonemap", exr, "-o", tmp_path / "out.png")
    assert code == 0, lines
    assert "warning: sample.exr: 35 negative value(s) set to 0 (minimum -0.047)" in lines
    assert (tmp_path / "out.png").exists()
    code, lines = _cli("tonemap", exr, "-o", tmp_path / "strict.png", "--negative", "error")
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: sample.exr: 35 negative value(s), down to -0.047")
    assert "--negative clip" in lines[0] and not (tmp_path / "strict.png").exists()
    code, lines = _cli("score", exr, "--reference", exr, "-m", "psnr_l", "--negative", "error")
    assert code == 2 and "sample.exr: 35 negative" in lines[0], lines
    code, lines = _cli("tonemap", exr, "-o", tmp_path / "x.png", "--negative", "keep")
    assert code == 2 and lines == ["error: --negative 'keep': choose clip (set negative values "
                                   "to 0, with a warning) or error (refuse the file)"], lines


def test_cli_huge_png_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_huge_png(100_000, 100_000))
    code, lines = _cli("tonemap", path, "-o", tmp_path / "out.png")
    assert code == 2 and len(lines) == 1, lines
    assert "100000x100000" in lines[0] and "1073741824 pixels" in lines[0]


def test_cli_negative_option_for_brackets(tmp_path: Path) -> None:
    # Float TIFF frames (display-referred [0, 1]) with small negatives: fuse and merge follow
    # the same policy and take the same option.
    frames = []
    for i, level in enumerate((0.1, 0.4, 0.8)):
        img = np.clip(_float_image(24, 32) * 0.2 + level, 0, 1)
        img[0, :4, 0] = -0.01
        frames.append(tmp_path / f"f{i}.tif")
        tifffile.imwrite(frames[-1], img, photometric="rgb")
    for args in (("fuse", *frames), ("merge", *frames, "--times", "1/64,1/8,1",
                                     "--calibrate", "linear")):
        ext = ".png" if args[0] == "fuse" else ".exr"
        code, lines = _cli(*args, "-o", tmp_path / f"ok{ext}")
        assert code == 0
        assert "warning: f2.tif: 4 negative value(s) set to 0 (minimum -0.01)" in lines
        code, lines = _cli(*args, "-o", tmp_path / f"strict{ext}", "--negative", "error")
        assert code == 2 and lines[-1].startswith("error: f0.tif: 4 negative value(s)"), lines
