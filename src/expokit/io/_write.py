"""``write_image``: atomic writing of PNG, JPEG, TIFF, OpenEXR and Radiance .hdr files."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .._checks import check_image, to_float32
from ..errors import InputError
from ._atomic import atomic_path, check_not_input
from ._exif import ExifData
from ._exr import write_exr
from ._rgbe import encode_rgbe_file

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

#: Output formats by extension.
WRITE_FORMATS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".exr": "exr",
    ".hdr": "hdr",
    ".pic": "hdr",
}
#: Bit depths each format can store; the first one is the default for float input.
_DEPTHS = {
    "png": (8, 16),
    "jpeg": (8,),
    "tiff": (8, 16, 32),
    "exr": (32, 16),
    "hdr": (32,),
}
_HALF_MAX = 65504.0


def check_output_path(path: PathLike, *, inputs: Sequence[PathLike] = ()) -> Path:
    """Check an output path before any work is done: known extension, not a folder, not an input.

    Args:
        path: where the image will be written.
        inputs: the files it is computed from; the output may not be one of them.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: if the extension is not one expokit writes, the path is a folder, or it
            is the same file as one of ``inputs``.
    """
    out = Path(path)
    if out.suffix.lower() not in WRITE_FORMATS:
        raise InputError(
            f"output {out.name}: unknown extension {out.suffix or '(none)'!r}; expokit writes "
            + " ".join(sorted(WRITE_FORMATS))
        )
    if out.is_dir():
        raise InputError(f"output {out} is a folder; give a file name inside it")
    return check_not_input(out, inputs)


def check_new_output(path: PathLike, *, inputs: Sequence[PathLike] = (),
                     overwrite: bool = False) -> Path:
    """:func:`check_output_path`, and refuse an output that exists unless ``overwrite``.

    Args:
        path: where the image will be written.
        inputs: the files it is computed from; the output may not be one of them.
        overwrite: allow replacing an existing file (never an input).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: as :func:`check_output_path`, or when the file exists and not ``overwrite``.
    """
    out = check_output_path(path, inputs=inputs)
    if not overwrite and out.exists():
        raise InputError(f"{out} exists: pass overwrite=True to replace it, or choose another "
                         "path")
    return out


def output_paths(inputs: Sequence[PathLike], output: PathLike | None, *, several: bool,
                 suffix: str = "_corrected") -> list[Path]:
    """Where to write one result per input: beside each input, into a folder, or one file.

    Args:
        inputs: the input files.
        output: ``None`` (write ``NAME{suffix}.EXT`` beside each input), a folder (existing,
            or a new name without an extension: one file per input, same name), or a file
            (only when there is one input).
        several: whether the user gave several inputs or a folder, so that ``output`` must be
            a folder.
        suffix: added to each input's stem when ``output`` is ``None``.

    Returns:
        One output path per input.

    Raises:
        InputError: when ``output`` is a file but ``several`` is true.

    >>> [p.as_posix() for p in output_paths(["a/x.png"], None, several=False)]
    ['a/x_corrected.png']
    >>> [p.as_posix() for p in output_paths(["x.png", "y.jpg"], "out", several=True)]
    ['out/x.png', 'out/y.jpg']
    """
    paths = [Path(p) for p in inputs]
    if output is None:
        return [p.with_name(f"{p.stem}{suffix}{p.suffix}") for p in paths]
    out = Path(output)
    if out.is_dir() or (not out.exists() and not out.suffix):
        return [out / p.name for p in paths]
    if several:
        kind = "a file" if out.exists() else "a file name"
        raise InputError(f"output {out} is {kind} but a folder or several images were given: "
                         "give a folder as the output (it is created if missing)")
    return [out]


def _resolve_depth(fmt: str, bit_depth: int | None, img: np.ndarray, name: str) -> int:
    allowed = _DEPTHS[fmt]
    if bit_depth is None:
        if img.dtype == np.uint16 and 16 in allowed and fmt in ("png", "tiff"):
            return 16
        return allowed[0]
    if bit_depth not in allowed:
        raise InputError(
            f"bit_depth={bit_depth} is not possible for {name} ({fmt.upper()}): choose one of "
            f"{sorted(allowed)}"
        )
    return bit_depth


def to_code_values(img: np.ndarray, bits: int) -> np.ndarray:
    """Quantise an image to ``bits`` (8 or 16) bit unsigned code values.

    Floats are taken as display-referred [0, 1]: clipped to it, scaled by 255 or 65535 and
    rounded to nearest. uint8 and uint16 are rescaled exactly (x 257, or / 257 rounded).

    >>> to_code_values(np.array([0.0, 0.5, 1.2]), 8).tolist()
    [0, 128, 255]
    >>> to_code_values(np.array([255], dtype=np.uint8), 16).tolist()
    [65535]
    """
    dtype = np.uint8 if bits == 8 else np.uint16
    if img.dtype.kind == "f":
        peak = 255.0 if bits == 8 else 65535.0
        return np.rint(np.clip(img, 0.0, 1.0) * peak).astype(dtype)
    if img.dtype == dtype:
        return img
    if img.dtype == np.uint8:  # -> 16 bit
        return img.astype(np.uint16) * np.uint16(257)
    return np.rint(img / 257.0).astype(np.uint8)  # uint16 -> 8 bit


#: Float images for PNG/JPEG/8-16-bit TIFF are display-referred [0, 1]; a maximum above this
#: is not filter overshoot (which is clipped with a warning) but 0..255 code values or linear
#: radiance, and is refused.
DISPLAY_FLOAT_MAX = 1.5


def _check_display_floats(img: np.ndarray, bits: int, name: str, fmt: str) -> None:
    """Refuse floats that are not display-referred [0, 1]; warn about small overshoot."""
    if img.dtype.kind != "f":
        return
    top = float(img.max(initial=0.0))
    if top > DISPLAY_FLOAT_MAX:
        raise InputError(
            f"{name}: float image with values up to {top:.4g}, but {fmt.upper()} output takes "
            f"display-referred floats in [0, 1] (up to {DISPLAY_FLOAT_MAX:g} is clipped): for "
            "0..255 code values divide by 255 or pass uint8 (img.astype(np.uint8)); for linear "
            "radiance tone-map it first or write .exr/.hdr"
        )
    half_step = 0.5 / (255.0 if bits == 8 else 65535.0)
    outside = int(np.count_nonzero((img < -half_step) | (img > 1.0 + half_step)))
    if outside:
        logger.warning(
            "%s: %d values outside [0, 1] clipped (linear radiance? tone-map it first, or "
            "write .exr/.hdr)",
            name,
            outside,
        )


def _exif_blob(exif: bytes | ExifData | None) -> bytes | None:
    if exif is None:
        return None
    if isinstance(exif, ExifData):
        return exif.exif_bytes
    if not isinstance(exif, (bytes, bytearray)):
        raise InputError(
            f"exif must be bytes or ExifData (from expokit.io.read_exif), got {type(exif).__name__}"
        )
    blob = bytes(exif)
    if not blob:
        return None
    if not blob.startswith(b"Exif\x00\x00"):
        blob = b"Exif\x00\x00" + blob
    if blob[6:10] not in (b"II*\x00", b"MM\x00*"):
        raise InputError(
            "exif bytes are not an EXIF block (expected 'Exif\\0\\0' and a TIFF header); "
            "pass ExifData.exif_bytes from expokit.io.read_exif"
        )
    return blob


def _png_with_exif(png: bytes, blob: bytes) -> bytes:
    """Insert an ``eXIf`` chunk (PNG 1.5 / PNG 3rd edition) right after IHDR."""
    payload = blob[6:]  # the chunk holds the TIFF structure without the "Exif\0\0" prefix
    chunk = (
        struct.pack(">I", len(payload))
        + b"eXIf"
        + payload
        + struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    )
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def _bgr(img: np.ndarray) -> np.ndarray:
    return img[:, :, 0] if img.shape[2] == 1 else np.ascontiguousarray(img[:, :, ::-1])


def _write_png(tmp: Path, img: np.ndarray, blob: bytes | None) -> None:
    ok, buf = cv2.imencode(".png", _bgr(img), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise InputError(f"OpenCV could not encode a {img.dtype} image as PNG")
    data = buf.tobytes()
    tmp.write_bytes(_png_with_exif(data, blob) if blob else data)


def _write_jpeg(tmp: Path, img: np.ndarray, blob: bytes | None, quality: int) -> None:
    from PIL import Image

    pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    options: dict[str, object] = {"quality": quality}
    if quality >= 90:
        options["subsampling"] = 0  # 4:4:4: no chroma blur at high quality settings
    if blob:
        options["exif"] = blob
    pil.save(tmp, format="JPEG", **options)


def _write_tiff(tmp: Path, img: np.ndarray, blob: bytes | None, name: str) -> None:
    if blob and img.dtype == np.uint8:
        from PIL import Image

        pil = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
        # Uncompressed: Pillow's libtiff-based compressed writer cannot store the Exif IFD.
        pil.save(tmp, format="TIFF", exif=blob)
        return
    if blob:
        logger.warning("%s: EXIF is not embedded in %s TIFF files", name, img.dtype)
    import tifffile

    grey = img.shape[2] == 1
    tifffile.imwrite(
        tmp,
        img[:, :, 0] if grey else img,
        photometric="minisblack" if grey else "rgb",
        compression="zlib",
        metadata=None,
    )


def write_image(
    path: PathLike,
    img: np.ndarray,
    *,
    bit_depth: int | None = None,
    exif: bytes | ExifData | None = None,
    quality: int = 95,
    inputs: Sequence[PathLike] = (),
) -> Path:
    """Write an image atomically; the format comes from the extension.

    Args:
        path: output file: ``.png``, ``.jpg``/``.jpeg``, ``.tif``/``.tiff``, ``.exr`` or
            ``.hdr``. Missing parent folders are created.
        img: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` RGB; uint8, uint16 or float. For
            PNG/JPEG/TIFF a float image is display-referred [0, 1]: values outside are
            clipped (with a logged warning) and rounded to nearest code value, but a maximum
            above 1.5 (0..255 code values or radiance) is refused; uint8/uint16 are
            written as they are, or rescaled exactly (x 257, / 257) to another ``bit_depth``.
            For EXR/HDR a float image is linear radiance (uint input is mapped to [0, 1]).
        bit_depth: PNG 8 or 16; JPEG 8; TIFF 8, 16 or 32 (float32, values not clipped); EXR
            32 (float) or 16 (half); HDR 32 (RGBE). Default: the input's depth for uint16
            PNG/TIFF, else 8 for PNG/JPEG/TIFF and 32 for EXR/HDR.
        exif: EXIF to embed (``ExifData`` or its ``exif_bytes``): kept in JPEG, PNG (``eXIf``
            chunk, any depth) and 8-bit TIFF (then written uncompressed); not stored in
            16/32-bit TIFF, EXR or HDR (a warning is logged).
        quality: JPEG quality 1..100 (4:4:4 chroma from 90 up).
        inputs: files the image was computed from; writing over one of them is refused.

    Returns:
        The output path.

    Raises:
        InputError: for an unknown extension, an impossible ``bit_depth`` or ``quality``, an
            image that is not an image (shape, dtype, NaN/Inf), an output that is also an input
            or a folder, floats above 1.5 for PNG/JPEG/8-16-bit TIFF, half-float overflow, or
            a file system error. On any error nothing is written and an existing file at
            ``path`` is left unchanged.

    Example::

        write_image("out/fused.jpg", fused, exif=read_exif(paths[0]), inputs=paths)
    """
    out = check_output_path(path, inputs=inputs)
    fmt = WRITE_FORMATS[out.suffix.lower()]
    arr = check_image(img, name=f"image for {out.name}")
    depth = _resolve_depth(fmt, bit_depth, arr, out.name)
    if fmt == "jpeg" and (
        isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100
    ):
        raise InputError(f"quality={quality!r} for {out.name}: give an integer from 1 to 100")
    blob = _exif_blob(exif)
    if blob and fmt in ("exr", "hdr"):
        logger.warning("%s: EXIF is not stored in %s files", out.name, fmt.upper())

    if fmt in ("png", "jpeg") or (fmt == "tiff" and depth != 32):
        _check_display_floats(arr, depth, out.name, fmt)
        data = to_code_values(arr, depth)
    elif fmt == "tiff":  # 32-bit float TIFF: values as given
        data = to_float32(arr)
    else:
        data = to_float32(arr)
        if fmt == "exr" and depth == 16 and np.abs(data).max(initial=0.0) > _HALF_MAX:
            raise InputError(
                f"{out.name}: values up to {float(np.abs(data).max()):.4g} overflow half floats "
                f"(max {_HALF_MAX:g}); write 32-bit EXR (bit_depth=32) or scale the image"
            )
        if fmt == "hdr":
            negative = int(np.count_nonzero(data < 0))
            if negative:
                logger.warning("%s: %d negative values stored as 0 (RGBE)", out.name, negative)
            if data.shape[2] == 1:
                data = np.repeat(data, 3, axis=2)

    try:
        with atomic_path(out) as tmp:
            if fmt == "png":
                _write_png(tmp, data, blob)
            elif fmt == "jpeg":
                _write_jpeg(tmp, data, blob, quality)
            elif fmt == "tiff":
                _write_tiff(tmp, data, blob, out.name)
            elif fmt == "exr":
                write_exr(tmp, data, half=depth == 16)
            else:
                tmp.write_bytes(encode_rgbe_file(data))
    except (OSError, RuntimeError) as exc:  # OpenEXR reports write failures as RuntimeError
        text = getattr(exc, "strerror", None) or exc
        raise InputError(f"cannot write {out} ({text}); check free space and permissions") from None
    logger.debug("wrote %s (%s, %d bit)", out, fmt, depth)
    return out
