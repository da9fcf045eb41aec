"""``image_info``: size, type and capture settings of an image file, from its header."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExpokitError, InputError
from ._exif import read_exif
from ._exr import exr_header
from ._paths import EXR_EXTS, HDR_EXTS, RAW_EXTS, check_input_file
from ._raw import raw_size
from ._read import read_image, sniff
from ._rgbe import parse_rgbe_header

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageInfo:
    """What an image file holds, without decoding its pixels where the format allows.

    Attributes:
        path: the file.
        format: ``"png"``, ``"jpeg"``, ``"tiff"``, ``"exr"``, ``"hdr"`` or ``"raw"``.
        width: pixels per row of the array :func:`read_image` returns.
        height: rows of that array.
        channels: its channels (3 or 1).
        dtype: its NumPy dtype name (``"uint8"``, ``"uint16"``, ``"float32"``).
        bit_depth: bits per sample in the file: 1..16 for PNG, 8 for JPEG, 8/16/32 for TIFF,
            16 (half) or 32 for EXR, 32 for Radiance RGBE pixels, 16 for RAW (LibRaw output).
        exposure_time: EXIF exposure time in seconds, None if unknown.
        iso: EXIF ISO speed, None if unknown.
        f_number: EXIF f-number, None if unknown.
    """

    path: Path
    format: str
    width: int
    height: int
    channels: int
    dtype: str
    bit_depth: int
    exposure_time: float | None = None
    iso: int | None = None
    f_number: float | None = None


def _png(data: bytes) -> tuple[int, int, int, str, int]:
    if len(data) < 26 or data[12:16] != b"IHDR":
        raise ValueError("no IHDR chunk")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    bits, color = data[24], data[25]
    channels = 1 if color in (0, 4) else 3
    return height, width, channels, "uint16" if bits == 16 else "uint8", bits


def _jpeg(path: Path) -> tuple[int, int, int, str, int]:
    from PIL import Image

    with Image.open(path) as im:
        width, height = im.size
        channels = 1 if im.mode in ("L", "1") else 3
    return height, width, channels, "uint8", 8


def _tiff(path: Path) -> tuple[int, int, int, str, int]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        height, width = int(page.imagelength), int(page.imagewidth)
        samples = int(page.samplesperpixel)
        photometric = int(page.photometric)
        bits = int(page.bitspersample)
        kind = page.dtype.kind if page.dtype is not None else "u"
    channels = 3 if photometric == 3 or samples >= 3 else 1
    if kind in "ic" or (kind == "u" and bits > 16):
        raise InputError(
            f"{path.name}: unsupported TIFF sample type ({bits}-bit "
            f"{'signed int' if kind == 'i' else kind}); expokit reads 8- or 16-bit unsigned or "
            "float TIFFs"
        )
    if kind == "f":
        dtype = "float32"
    elif bits <= 8:
        dtype = "uint8"
    else:
        dtype = "uint16"
    return height, width, channels, dtype, bits


def _header_fields(path: Path, fmt: str) -> tuple[int, int, int, str, int]:
    if fmt == "hdr":
        header = parse_rgbe_header(path)
        sizes = {header.major[0]: header.major[2], header.minor[0]: header.minor[2]}
        return sizes["Y"], sizes["X"], 3, "float32", 32
    if fmt == "exr":
        height, width, channels, bits = exr_header(path)
        return height, width, channels, "float32", bits
    if fmt == "raw":
        height, width = raw_size(path)
        return height, width, 3, "float32", 16
    if fmt == "png":
        with open(path, "rb") as fh:
            return _png(fh.read(32))
    if fmt == "jpeg":
        return _jpeg(path)
    return _tiff(path)


def image_info(path: str | os.PathLike[str]) -> ImageInfo:
    """Describe an image file: format, size, channels, type and EXIF exposure settings.

    The header is parsed where possible (PNG IHDR, Pillow for JPEG, tifffile for TIFF, EXR and
    Radiance headers, LibRaw for RAW), so the pixels are neither decoded nor verified; when a
    header cannot be parsed the file is read with :func:`read_image`.

    Args:
        path: any file :func:`read_image` accepts.

    Returns:
        The file's :class:`ImageInfo`; width, height, channels and dtype describe the array
        :func:`read_image` returns.

    Raises:
        InputError: if the file is missing, a folder, of an unknown type or unreadable.
        MissingResourceError: for a RAW file when rawpy is not installed.
    """
    p = check_input_file(path)
    ext = p.suffix.lower()
    if ext in HDR_EXTS:
        fmt = "hdr"
    elif ext in EXR_EXTS:
        fmt = "exr"
    elif ext in RAW_EXTS:
        fmt = "raw"
    else:
        try:
            with open(p, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise InputError(
                f"{p.name}: cannot be read ({exc.strerror}); check its permissions"
            ) from None
        found = sniff(head)
        if found is None:
            raise InputError(
                f"{p.name}: not a {ext[1:].upper()} image (the file starts with {head[:8]!r}); "
                "check that it is the right file"
            )
        fmt = found
    try:
        height, width, channels, dtype, bits = _header_fields(p, fmt)
    except ExpokitError:
        raise
    except Exception as exc:  # header parsers raise many types on damaged files
        logger.debug("%s: header not parsed (%s); reading the pixels", p.name, exc)
        img = read_image(p)
        height, width, channels = img.shape
        dtype = img.dtype.name
        bits = img.dtype.itemsize * 8
    exif = read_exif(p)
    return ImageInfo(
        path=p,
        format=fmt,
        width=width,
        height=height,
        channels=channels,
        dtype=dtype,
        bit_depth=bits,
        exposure_time=exif.exposure_time,
        iso=exif.iso,
        f_number=exif.f_number,
    )


#: The JPEG standard's example luminance quantisation table (ITU-T T.81 Annex K, Table K.1),
#: which libjpeg scales for its quality setting.
_JPEG_LUMA_TABLE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


def jpeg_quality(path: str | os.PathLike[str]) -> int | None:
    """The libjpeg quality (1-100) whose luminance table is closest to the file's.

    Cameras use their own tables: this is the equivalent setting, e.g. to re-encode a JPEG at
    its own quality.

    Returns:
        The quality, or None when the file is not a JPEG (or cannot be opened).
    """
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as im:
            tables = getattr(im, "quantization", None) or {}
    except OSError:
        return None
    if 0 not in tables:
        return None
    target = sum(tables[0])
    base = np.array(_JPEG_LUMA_TABLE, np.int64)

    def total(q: int) -> int:
        scale = 5000 // q if q < 50 else 200 - 2 * q
        return int(np.clip((base * scale + 50) // 100, 1, 255).sum())

    return min(range(1, 101), key=lambda q: (abs(total(q) - target), -q))
