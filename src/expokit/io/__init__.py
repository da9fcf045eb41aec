"""Image input/output: PNG, JPEG, TIFF, OpenEXR, Radiance .hdr and camera RAW; EXIF; atomic writes.

Arrays are ``(H, W, C)`` in RGB order (C = 3, or 1 for grey files); see ``docs/conventions.md``.

* :func:`read_image` returns the file's own type: uint8/uint16 code values for PNG/JPEG/TIFF,
  float32 linear values for EXR, Radiance ``.hdr`` and RAW.
* :func:`write_image` picks the format from the extension and writes atomically.
* :func:`read_exif` gives exposure time, aperture, ISO and capture time.
* :func:`image_info` describes a file cheaply (header only where possible).
* :func:`atomic_path` lets other writers (CSV, JSON) use the same temp-file-and-rename scheme.
"""

from __future__ import annotations

from ._atomic import atomic_path, check_not_input, copy_file
from ._exif import ExifData, read_exif
from ._info import ImageInfo, image_info, jpeg_quality
from ._paths import READ_EXTS
from ._read import read_image
from ._write import (
    WRITE_FORMATS,
    check_new_output,
    check_output_path,
    output_paths,
    to_code_values,
    write_image,
)

__all__ = [
    "READ_EXTS",
    "WRITE_FORMATS",
    "ExifData",
    "ImageInfo",
    "atomic_path",
    "check_new_output",
    "check_not_input",
    "check_output_path",
    "copy_file",
    "image_info",
    "jpeg_quality",
    "output_paths",
    "read_exif",
    "read_image",
    "to_code_values",
    "write_image",
]
