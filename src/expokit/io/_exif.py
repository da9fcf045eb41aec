"""EXIF metadata: exposure time, aperture, ISO, capture time, camera.

Read with Pillow's lazy ``Image.open`` (no pixel decoding) for JPEG, PNG (``eXIf`` chunk),
TIFF and WebP, and with tifffile for TIFF-based camera RAW files (CR2, NEF, ARW, DNG, PEF,
ORF, ...), whose EXIF sits in the same IFD structure as a TIFF's.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# EXIF tag numbers (EXIF 2.32, CIPA DC-008).
TAG_MAKE = 271
TAG_MODEL = 272
TAG_EXIF_IFD = 0x8769
TAG_EXPOSURE_TIME = 33434
TAG_F_NUMBER = 33437
TAG_ISO = 34855  # ISOSpeedRatings, renamed PhotographicSensitivity in EXIF 2.3
TAG_DATETIME_ORIGINAL = 36867
TAG_SHUTTER_SPEED = 37377  # APEX Tv: t = 2**-Tv
TAG_APERTURE = 37378  # APEX Av: N = sqrt(2)**Av
TAG_SUBSEC_ORIGINAL = 37521

_TIFF_NAMES = {
    "ExposureTime": TAG_EXPOSURE_TIME,
    "FNumber": TAG_F_NUMBER,
    "ISOSpeedRatings": TAG_ISO,
    "PhotographicSensitivity": TAG_ISO,
    "DateTimeOriginal": TAG_DATETIME_ORIGINAL,
    "ShutterSpeedValue": TAG_SHUTTER_SPEED,
    "ApertureValue": TAG_APERTURE,
    "SubsecTimeOriginal": TAG_SUBSEC_ORIGINAL,
    "SubSecTimeOriginal": TAG_SUBSEC_ORIGINAL,
}


@dataclass(frozen=True)
class ExifData:
    """The EXIF fields expokit uses; every field is None when the file does not have it.

    Attributes:
        exposure_time: shutter time in seconds (``ExposureTime``, else the APEX
            ``ShutterSpeedValue``).
        f_number: aperture f-number (``FNumber``, else the APEX ``ApertureValue``).
        iso: ISO speed (``ISOSpeedRatings`` / ``PhotographicSensitivity``).
        datetime_original: capture time (``DateTimeOriginal`` plus ``SubSecTimeOriginal``),
            naive local camera time.
        make: camera maker.
        model: camera model.
        exif_bytes: the EXIF block (``Exif\\0\\0`` + TIFF structure) to embed in an output with
            ``write_image(..., exif=...)``; None for RAW files and files without EXIF.
    """

    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    datetime_original: _dt.datetime | None = None
    make: str | None = None
    model: str | None = None
    exif_bytes: bytes | None = None


def _number(value: object, *, pairs_are_rationals: bool = True) -> float | None:
    """A positive finite float from an EXIF rational, number or tuple, else None.

    tifffile gives RATIONAL values as ``(numerator, denominator)`` tuples; Pillow gives
    ``IFDRational``. Other tuples (ISO may list several values) give their first element.
    """
    if isinstance(value, (tuple, list)):
        if not value:
            return None
        if pairs_are_rationals and len(value) == 2 and all(isinstance(v, int) for v in value):
            num, den = value
            value = num / den if den else math.nan
        else:
            value = value[0]
    try:
        x = float(value)  # type: ignore[arg-type]  # IFDRational, int, float, str
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def _signed(value: object) -> float | None:
    """A finite float (any sign) from an EXIF SRATIONAL or number, else None."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        value = value[0] / value[1] if value[1] else math.nan
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return x if math.isfinite(x) else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _datetime(value: object, subsec: object) -> _dt.datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        stamp = _dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        logger.debug("unparsable DateTimeOriginal %r", text)
        return None
    digits = _text(subsec)
    if digits and digits.isdigit():
        stamp = stamp.replace(microsecond=int((digits + "000000")[:6]))
    return stamp


def _from_tags(
    ifd0: Mapping[int, object], exif: Mapping[int, object], blob: bytes | None
) -> ExifData:
    exposure = _number(exif.get(TAG_EXPOSURE_TIME))
    if exposure is None and exif.get(TAG_SHUTTER_SPEED) is not None:
        tv = _signed(exif[TAG_SHUTTER_SPEED])  # APEX, negative for exposures over 1 s
        with contextlib.suppress(OverflowError):
            exposure = _number(2.0**-tv) if tv is not None else None
    f_number = _number(exif.get(TAG_F_NUMBER))
    if f_number is None:
        av = _signed(exif.get(TAG_APERTURE))
        if av is not None and av >= 0:
            f_number = math.sqrt(2.0) ** av
    iso_value = _number(exif.get(TAG_ISO), pairs_are_rationals=False)
    return ExifData(
        exposure_time=exposure,
        f_number=f_number,
        iso=None if iso_value is None else round(iso_value),
        datetime_original=_datetime(exif.get(TAG_DATETIME_ORIGINAL), exif.get(TAG_SUBSEC_ORIGINAL)),
        make=_text(ifd0.get(TAG_MAKE)),
        model=_text(ifd0.get(TAG_MODEL)),
        exif_bytes=blob,
    )


#: IFD0 tags kept when a TIFF's metadata is turned into an EXIF block for another file; the
#: image-structure tags (size, strips, compression, ...) describe the source file only.
_PORTABLE_IFD0 = (270, 271, 272, 274, 305, 306, 315, 33432)


def _read_pillow(path: Path) -> ExifData | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif()
            if not len(exif):
                return ExifData()
            sub = dict(exif.get_ifd(TAG_EXIF_IFD))
            blob = im.info.get("exif")
            if im.format == "TIFF" or not isinstance(blob, bytes) or not blob:
                clean = Image.Exif()
                for tag in _PORTABLE_IFD0:
                    if tag in exif:
                        clean[tag] = exif[tag]
                if sub:
                    clean.get_ifd(TAG_EXIF_IFD).update(sub)
                blob = clean.tobytes() if len(clean) or sub else None
            if blob is not None and not blob.startswith(b"Exif\x00\x00"):
                blob = b"Exif\x00\x00" + blob
            return _from_tags(dict(exif), sub, blob)
    except Exception as exc:  # Pillow raises many types on unknown or malformed files
        logger.debug("%s: Pillow cannot read EXIF (%s)", path.name, exc)
        return None


def _read_tifffile(path: Path) -> ExifData | None:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            tags = page.tags
            ifd0 = {t.code: t.value for t in tags.values() if t.code in (TAG_MAKE, TAG_MODEL)}
            exif_tag = tags.get(TAG_EXIF_IFD)
            exif: dict[int, object] = {}
            if exif_tag is not None and isinstance(exif_tag.value, dict):
                for name, value in exif_tag.value.items():
                    code = _TIFF_NAMES.get(name)
                    if code is not None:
                        exif[code] = value
    except Exception as exc:  # tifffile raises many types on non-TIFF or damaged files
        logger.debug("%s: tifffile cannot read EXIF (%s)", path.name, exc)
        return None
    return _from_tags(ifd0, exif, None)


def read_exif(path: str | os.PathLike[str]) -> ExifData:
    """Read the capture metadata expokit uses (exposure time first of all).

    Args:
        path: a JPEG, PNG, TIFF, WebP or camera RAW file.

    Returns:
        The fields found; all None for files without EXIF, with unreadable EXIF, or formats
        without EXIF (OpenEXR, Radiance .hdr). Never raises for a file that exists.

    Raises:
        InputError: if the file is missing or is a folder.

    >>> read_exif("missing.jpg")
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: missing.jpg: no such file; check the path (and the current folder)
    """
    from ._paths import RAW_EXTS, check_exists

    p = check_exists(path)

    ext = p.suffix.lower()
    if ext in (".exr", ".hdr", ".pic", ".rgbe"):
        return ExifData()
    if ext in RAW_EXTS:
        found = _read_tifffile(p)
    else:
        found = _read_pillow(p)
        if found is None and ext in (".tif", ".tiff"):
            found = _read_tifffile(p)
    if found is None:
        logger.info("%s: no readable EXIF; exposure time etc. unknown", p.name)
        return ExifData()
    return found
