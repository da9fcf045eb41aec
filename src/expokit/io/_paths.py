"""Path checks shared by the readers: existence, folders, extensions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError

#: Radiance RGBE files.
HDR_EXTS = frozenset({".hdr", ".pic", ".rgbe"})
#: OpenEXR files.
EXR_EXTS = frozenset({".exr"})
#: Display-referred raster files read with OpenCV / Pillow / tifffile.
RASTER_EXTS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff"})
#: Camera RAW files, read through the optional ``rawpy`` dependency.
RAW_EXTS = frozenset(
    {
        ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf",
        ".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mos",
        ".mrw", ".raw", ".rwl",
    }
)  # fmt: skip
READ_EXTS = HDR_EXTS | EXR_EXTS | RASTER_EXTS | RAW_EXTS


def check_exists(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, if it names an existing file (not a folder).

    Raises:
        InputError: if nothing is there or it is a folder.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path (and the current folder)")
    if p.is_dir():
        raise InputError(f"{p} is a folder, expected an image file; give the file inside it")
    return p


def check_input_file(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` names an existing, non-empty file with a readable image extension.

    Returns:
        The path as a :class:`~pathlib.Path`.

    Raises:
        InputError: if the file is missing, a folder, empty, or has an unknown extension.
    """
    p = check_exists(path)
    ext = p.suffix.lower()
    if ext not in READ_EXTS:
        known = " ".join(sorted(HDR_EXTS | EXR_EXTS | RASTER_EXTS)) + " and camera RAW"
        raise InputError(
            f"{p.name}: unknown image extension {ext or '(none)'!r}; expokit reads {known} "
            "(rename the file if its extension is wrong)"
        )
    try:
        empty = p.stat().st_size == 0
    except OSError as exc:
        raise InputError(
            f"{p.name}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    if empty:
        raise InputError(f"{p.name}: the file is empty (0 bytes); copy or download it again")
    return p


def check_finite(img: np.ndarray, path: Path) -> None:
    """Refuse float pixels read from ``path`` that hold NaN or Inf.

    Raises:
        InputError: naming the file and the number of non-finite values.
    """
    finite = np.isfinite(img)
    if not finite.all():
        bad = int(img.size - np.count_nonzero(finite))
        raise InputError(
            f"{path.name}: holds {bad} NaN or infinite values; fix the file (or replace them "
            "with np.nan_to_num) before using it"
        )
