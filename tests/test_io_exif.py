"""EXIF reading (expokit.io.read_exif) and EXIF embedding by write_image.

The EXIF blocks are built here with Pillow (``Image.Exif`` with tags in the Exif IFD 0x8769),
so the expected values are the ones written.
"""

from __future__ import annotations

import datetime as dt
import logging
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from expokit.errors import InputError
from expokit.io import ExifData, image_info, read_exif, write_image

STAMP = dt.datetime(2024, 5, 6, 7, 8, 9, 250000)


def _exif(
    exposure: tuple[int, int] | None = (1, 250),
    *,
    apex_tv: float | None = None,
    apex_av: float | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[271] = "Canon"
    exif[272] = "Canon EOS 5D Mark IV\x00"
    ifd = exif.get_ifd(0x8769)
    if exposure is not None:
        ifd[33434] = TiffImagePlugin.IFDRational(*exposure)
        ifd[33437] = TiffImagePlugin.IFDRational(28, 10)
    if apex_tv is not None:
        ifd[37377] = TiffImagePlugin.IFDRational(round(apex_tv * 1000), 1000)
    if apex_av is not None:
        ifd[37378] = TiffImagePlugin.IFDRational(round(apex_av * 1000), 1000)
    ifd[34855] = 400
    ifd[36867] = "2024:05:06 07:08:09"
    ifd[37521] = "25"
    return exif


def _image() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, size=(16, 24, 3), dtype=np.uint8)


def _camera_jpeg(path: Path, exif: Image.Exif | None = None) -> Path:
    Image.fromarray(_image()).save(path, quality=90, exif=(exif or _exif()).tobytes())
    return path


def _check_fields(found: ExifData) -> None:
    assert found.exposure_time == pytest.approx(1 / 250)
    assert found.f_number == pytest.approx(2.8)
    assert found.iso == 400
    assert found.datetime_original == STAMP
    assert (found.make, found.model) == ("Canon", "Canon EOS 5D Mark IV")


def test_read_exif_from_camera_like_jpeg(tmp_path: Path) -> None:
    path = _camera_jpeg(tmp_path / "IMG_0001.JPG")
    found = read_exif(path)
    _check_fields(found)
    assert found.exif_bytes is not None and found.exif_bytes.startswith(b"Exif\x00\x00")
    info = image_info(path)
    assert info.exposure_time == pytest.approx(0.004)
    assert (info.iso, info.f_number) == (400, pytest.approx(2.8))


def test_apex_fallbacks(tmp_path: Path) -> None:
    # No ExposureTime/FNumber: ShutterSpeedValue Tv = 5 -> 1/32 s, ApertureValue Av = 4 -> f/4.
    path = _camera_jpeg(tmp_path / "apex.jpg", _exif(None, apex_tv=5.0, apex_av=4.0))
    found = read_exif(path)
    assert found.exposure_time == pytest.approx(1 / 32)
    assert found.f_number == pytest.approx(4.0)


def test_long_exposure_apex_and_iso_list(tmp_path: Path) -> None:
    # Tv = -1 -> 2 s; an ISO tag holding two values gives the first.
    exif = _exif(None, apex_tv=-1.0)
    exif.get_ifd(0x8769)[34855] = (800, 1600)
    found = read_exif(_camera_jpeg(tmp_path / "night.jpg", exif))
    assert found.exposure_time == pytest.approx(2.0)
    assert found.iso == 800


def test_zero_exposure_is_unknown(tmp_path: Path) -> None:
    path = _camera_jpeg(tmp_path / "zero.jpg", _exif((0, 1)))
    assert read_exif(path).exposure_time is None


def test_files_without_exif(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    Image.fromarray(_image()).save(plain)
    assert read_exif(plain) == ExifData()
    exr = write_image(tmp_path / "r.exr", np.ones((4, 4, 3), np.float32))
    assert read_exif(exr) == ExifData()
    hdr = write_image(tmp_path / "r.hdr", np.ones((4, 4, 3), np.float32))
    assert read_exif(hdr) == ExifData()
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage")
    assert read_exif(junk) == ExifData()  # never raises for an existing file


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"gone\.jpg: no such file"):
        read_exif(tmp_path / "gone.jpg")
    with pytest.raises(InputError, match=r"folder\.jpg is a folder"):
        (tmp_path / "folder.jpg").mkdir()
        read_exif(tmp_path / "folder.jpg")


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("out.jpg", {}),
        ("out.png", {}),
        ("out16.png", {"bit_depth": 16}),
        ("out.tif", {}),
    ],
)
def test_exif_survives_write(tmp_path: Path, name: str, kwargs: dict) -> None:
    src = read_exif(_camera_jpeg(tmp_path / "src.jpg"))
    out = write_image(tmp_path / name, _image(), exif=src, **kwargs)
    _check_fields(read_exif(out))
    # Passing the raw bytes works the same.
    out2 = write_image(tmp_path / ("b_" + name), _image(), exif=src.exif_bytes, **kwargs)
    _check_fields(read_exif(out2))


def test_png_exif_chunk_precedes_image_data(tmp_path: Path) -> None:
    src = read_exif(_camera_jpeg(tmp_path / "src.jpg"))
    out = write_image(tmp_path / "o.png", _image(), exif=src, bit_depth=16)
    data = out.read_bytes()
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    assert chunks.index(b"eXIf") < chunks.index(b"IDAT")
    with Image.open(out) as im:  # Pillow checks the chunk CRCs while reading
        im.load()
        assert im.mode.startswith("I") or im.mode == "RGB"


def test_exif_not_kept_in_16bit_tiff(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = read_exif(_camera_jpeg(tmp_path / "src.jpg"))
    with caplog.at_level(logging.WARNING, logger="expokit.io"):
        out = write_image(tmp_path / "o16.tif", _image(), exif=src, bit_depth=16)
    assert "EXIF is not embedded" in caplog.text
    assert read_exif(out).exposure_time is None


def test_tiff_exif_blob_is_portable(tmp_path: Path) -> None:
    # A TIFF's IFD0 holds strip offsets etc.; only portable tags go into exif_bytes.
    tif = tmp_path / "scan.tif"
    Image.fromarray(_image()).save(tif, exif=_exif().tobytes())
    found = read_exif(tif)
    _check_fields(found)
    assert found.exif_bytes is not None
    reread = Image.Exif()
    reread.load(found.exif_bytes)
    assert 273 not in reread and 256 not in reread  # no StripOffsets / ImageWidth
    out = write_image(tmp_path / "from_tif.jpg", _image(), exif=found)
    _check_fields(read_exif(out))


def test_tiff_based_raw_exif(tmp_path: Path) -> None:
    # DNG, CR2, NEF, ARW... are TIFF structures: read with tifffile, no rawpy needed.
    raw = tmp_path / "IMG_0002.dng"
    Image.fromarray(_image()).save(raw, format="TIFF", exif=_exif().tobytes())
    found = read_exif(raw)
    _check_fields(found)
    assert found.exif_bytes is None


def test_bad_exif_argument(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an EXIF block"):
        write_image(tmp_path / "x.jpg", _image(), exif=b"Exif\x00\x00nonsense")
    assert not (tmp_path / "x.jpg").exists()
