"""``read_image``: one entry point for every image format expokit reads."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from .._checks import NEGATIVE_POLICIES, Negative, check_negative
from ..errors import InputError
from ._exr import read_exr
from ._paths import EXR_EXTS, HDR_EXTS, RAW_EXTS, check_finite, check_input_file
from ._raw import read_raw
from ._rgbe import read_rgbe

logger = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

# Keep depth (8/16 bit) and grey/colour, drop alpha, and do not apply EXIF orientation: pixels
# stay as stored, so that re-embedding the source EXIF (Orientation tag included) in an output
# shows it the way the camera meant.
_CV2_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION


def sniff(data: bytes) -> str | None:
    """The raster format of a file from its first bytes: "png", "jpeg", "tiff" or None."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data[:4] in TIFF_MAGICS:
        return "tiff"
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"{path.name}: cannot be read ({exc.strerror}); check its permissions"
        ) from None


def _png_complete(data: bytes) -> bool:
    """Walk the PNG chunks: complete when an IEND chunk is reached inside the file."""
    pos = len(PNG_MAGIC)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if pos > len(data):
            return False
        if kind == b"IEND":
            return True
    return False


def _jpeg_complete(data: bytes) -> bool:
    """Walk the JPEG markers: complete when the EOI marker of the image is reached.

    Marker segments carry their length; entropy-coded data after a start-of-scan holds 0xFF
    only as 0xFF00 (stuffing) or 0xFFD0-D7 (restart markers), so the next marker is the first
    0xFF followed by anything else. Bytes after EOI (MPO frames, maker trailers, motion-photo
    videos) are ignored.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    n = len(data)
    pos = 2  # after SOI
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            return False  # not at a marker: corrupt structure
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # stand-alone markers
            pos += 2
            continue
        if pos + 4 > n:
            return False
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker != 0xDA:  # not SOS: the segment is done
            continue
        # Entropy-coded data: find the next real marker.
        ff = np.flatnonzero(buf[pos : n - 1] == 0xFF)
        nxt = buf[pos + ff + 1]
        real = ff[(nxt != 0x00) & (nxt != 0xFF) & ((nxt < 0xD0) | (nxt > 0xD7))]
        if real.size == 0:
            return False
        pos += int(real[0])
    return False


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                       0xCF})


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the first start-of-frame marker of a JPEG, None if not found."""
    pos, n = 2, len(data)
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            pos += 2
            continue
        if marker == 0xDA:
            return None  # start of scan before any frame header
        if marker in _JPEG_SOF and pos + 9 <= n:
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def _check_complete(data: bytes, fmt: str, path: Path) -> None:
    """Detect truncated PNG/JPEG files, which some decoder versions pad silently."""
    if fmt == "png":
        complete = _png_complete(data)
    elif fmt == "jpeg":
        complete = _jpeg_complete(data)
    else:
        return
    if not complete:
        raise InputError(
            f"{path.name}: the {fmt.upper()} file is truncated (its end is missing); "
            "copy or download it again"
        )


#: OpenCV's default limit on the pixels of an image it decodes (``CV_IO_MAX_IMAGE_PIXELS``,
#: 2**30, about 1.07 gigapixels); the environment variable ``OPENCV_IO_MAX_IMAGE_PIXELS``
#: raises it for OpenCV and for this check alike.
MAX_IMAGE_PIXELS = 1 << 30


def max_image_pixels() -> int:
    """The pixel limit for PNG/JPEG decoding: ``$OPENCV_IO_MAX_IMAGE_PIXELS`` or 2**30."""
    env = os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", "")
    try:
        return max(1, int(env)) if env.strip() else MAX_IMAGE_PIXELS
    except ValueError:
        return MAX_IMAGE_PIXELS


def _check_size(width: int, height: int, fmt: str, path: Path) -> None:
    """Refuse, before decoding, an image whose header claims more pixels than OpenCV decodes."""
    limit = max_image_pixels()
    if width * height > limit:
        raise InputError(
            f"{path.name}: the {fmt.upper()} header claims {width}x{height} pixels "
            f"({width * height / 1e9:.3g} gigapixels), over the limit of {limit} pixels "
            f"(OpenCV's CV_IO_MAX_IMAGE_PIXELS); the file is probably damaged (if the image is "
            "genuine, raise the limit with the environment variable OPENCV_IO_MAX_IMAGE_PIXELS)"
        )


def _png_color_type(data: bytes) -> int:
    """PNG colour type from the IHDR chunk (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA)."""
    return data[25] if len(data) > 25 else -1


def _decode_cv2(data: bytes, fmt: str, path: Path) -> np.ndarray:
    _check_complete(data, fmt, path)
    if fmt == "png" and len(data) >= 24 and data[12:16] == b"IHDR":
        _check_size(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"),
                    fmt, path)
    elif fmt == "jpeg" and (size := _jpeg_size(data)) is not None:
        _check_size(*size, fmt, path)
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _CV2_FLAGS)
    except cv2.error as exc:  # OpenCV asserts on what it refuses (size limits, ...)
        text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path.name}: OpenCV refuses this {fmt.upper()} file ({text}); the file is "
            f"probably damaged (OpenCV decodes at most {max_image_pixels()} pixels)"
        ) from None
    if img is None:
        raise InputError(
            f"{path.name}: OpenCV cannot decode this {fmt.upper()} file (corrupt or truncated); "
            "copy or download it again"
        )
    if img.ndim == 2:
        img = img[:, :, None]
    elif fmt == "png" and _png_color_type(data) == 4 and img.shape[2] == 3:
        img = np.ascontiguousarray(img[:, :, :1])  # grey + alpha: OpenCV expanded it to BGR
    else:
        img = np.ascontiguousarray(img[:, :, 2::-1])  # BGR(A) -> RGB
    return img


def _read_tiff(raw: bytes, path: Path, negative: Negative) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(raw), name=path.name) as tif:
            page = tif.pages.first
            size = len(raw)
            ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)]
            if ends and max(ends) > size:
                raise InputError(
                    f"{path.name}: the TIFF file is truncated (image data runs {max(ends) - size}"
                    " bytes past its end); copy or download it again"
                )
            photometric = int(page.photometric)
            axes = page.axes
            data = page.asarray()
            colormap = page.colormap
    except InputError:
        raise
    except Exception as exc:  # tifffile raises TiffFileError, ValueError, ... on bad files
        raise InputError(
            f"{path.name}: tifffile cannot decode this TIFF ({type(exc).__name__}: {exc}); "
            "re-export it as an ordinary RGB or greyscale TIFF"
        ) from None
    # Arrange to (Y, X, S).
    if "S" in axes and axes.index("S") < axes.index("Y"):
        data = np.moveaxis(data, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    if axes not in ("YX", "YXS"):
        raise InputError(
            f"{path.name}: TIFF page has axes {axes!r}; expokit reads single 2-D images "
            "(split multi-page or volume files first)"
        )
    if data.ndim == 2:
        data = data[:, :, None]
    if photometric == 3 and colormap is not None:  # palette: look up RGB in the colour map
        cmap = np.asarray(colormap)  # (3, 2**bits) 16-bit entries
        if data.dtype == np.uint8 and cmap.dtype == np.uint16:
            # 8-bit colours are stored as value * 257 (libtiff) or value * 256 (Pillow): the
            # high byte is the value in both cases.
            cmap = (cmap >> 8).astype(np.uint8)
        data = np.moveaxis(np.take(cmap, data[:, :, 0], axis=1, mode="clip"), 0, -1)
    elif photometric == 0:  # MINISWHITE: 0 is white
        if data.dtype.kind != "u":
            raise InputError(f"{path.name}: inverted (min-is-white) float TIFF is not supported")
        data = np.iinfo(data.dtype).max - data
    elif photometric not in (1, 2):
        raise InputError(
            f"{path.name}: TIFF colour space (photometric {photometric}) is not RGB or grey; "
            "convert it to RGB first"
        )
    if data.shape[2] == 2:
        data = data[:, :, :1]  # grey + alpha
    elif data.shape[2] >= 4:
        data = data[:, :, :3]  # drop alpha / extra samples
    if data.dtype == np.bool_:
        data = data.astype(np.uint8) * np.uint8(255)
    elif data.dtype in (np.float16, np.float64):
        data = data.astype(np.float32)
    if data.dtype not in (np.uint8, np.uint16, np.float32):
        raise InputError(
            f"{path.name}: unsupported TIFF sample type {data.dtype} ({page_bits(data)}); "
            "expokit reads 8- or 16-bit unsigned or float TIFFs"
        )
    if data.dtype == np.float32:
        check_finite(data, path)
        data = check_negative(data, negative=negative, name=path.name)
    return np.ascontiguousarray(data)


def page_bits(data: np.ndarray) -> str:
    """``"32-bit int"``-style description of a sample type, for error messages."""
    kind = {"i": "signed int", "u": "unsigned int", "f": "float", "c": "complex"}
    return f"{data.dtype.itemsize * 8}-bit {kind.get(data.dtype.kind, data.dtype.kind)}"


def read_image(path: str | os.PathLike[str], *, negative: Negative = "clip") -> np.ndarray:
    """Read an image file into an ``(H, W, C)`` RGB array (C = 3, or 1 for grey files).

    The format comes from the extension; for PNG/JPEG/TIFF the file's first bytes decide
    (a JPEG named ``.png`` is read as a JPEG). Alpha channels are dropped. Pixels are returned
    as stored: EXIF orientation is not applied.

    Args:
        path: a ``.png``, ``.jpg``/``.jpeg``, ``.tif``/``.tiff``, ``.exr``, Radiance
            ``.hdr``/``.pic`` or camera RAW file (``.cr2 .nef .arw .dng .raf .orf .rw2`` ...).
        negative: what to do with negative values in float files (EXR, float TIFF; lossy
            EXR codecs leave small ones near black): ``"clip"`` (default) sets them to 0 and
            logs one warning with their count and minimum; ``"error"`` raises InputError.

    Returns:
        The pixels in the file's own type:

        * PNG, JPEG, TIFF: display-referred code values, uint8 for 8-bit files, uint16 for
          16-bit files (convert with :func:`expokit._checks.to_float32`); float TIFFs give
          float32 as stored (negative values handled as ``negative`` says).
        * OpenEXR: float32 linear values (half and uint channels converted; luminance/chroma
          Y, RY, BY files converted to RGB; negative values handled as ``negative`` says).
        * Radiance ``.hdr``: float32 linear radiance >= 0 (``(m + 0.5)`` decoding, header
          ``EXPOSURE=`` divided out; see :mod:`expokit.io._rgbe`).
        * RAW: float32 linear RGB (sRGB primaries, camera white balance) in [0, 1]; needs
          ``pip install "expokit[raw]"``.

    Raises:
        InputError: if the file is missing, a folder, has an unknown extension, is not an
            image of its kind, is truncated, claims more pixels than OpenCV decodes
            (:data:`MAX_IMAGE_PIXELS`), has an unsupported bit depth, holds NaN/Inf, or holds
            negative values with ``negative="error"``; the message names the file.
        MissingResourceError: for a RAW file when rawpy is not installed.

    >>> read_image("no_such_file.png")
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: no_such_file.png: no such file; ...
    """
    if negative not in NEGATIVE_POLICIES:
        raise InputError(
            f"negative must be 'clip' (set negative values to 0 with a warning) or 'error' "
            f"(refuse them), got {negative!r}"
        )
    p = check_input_file(path)
    ext = p.suffix.lower()
    if ext in HDR_EXTS:
        return read_rgbe(p)  # RGBE cannot store negative values
    if ext in EXR_EXTS:
        return read_exr(p, negative=negative)
    if ext in RAW_EXTS:
        return read_raw(p)
    data = _read_bytes(p)
    fmt = sniff(data)
    if fmt is None:
        raise InputError(
            f"{p.name}: not a {ext[1:].upper()} image (the file starts with {data[:8]!r}); "
            "check that it is the right file"
        )
    expected = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}
    if expected.get(ext) != fmt:
        logger.info("%s: the file is a %s image despite its extension", p.name, fmt.upper())
    img = _read_tiff(data, p, negative) if fmt == "tiff" else _decode_cv2(data, fmt, p)
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise InputError(
            f"{p.name}: unsupported bit depth ({page_bits(img)}); convert it to 8- or 16-bit"
        )
    logger.debug("read %s: %s %s", p.name, img.shape, img.dtype)
    return img
