"""Input checks shared by every public entry point.

They turn malformed input into an :class:`~expokit.errors.InputError` that names the argument
and says how to fix it, instead of letting a shape or dtype error surface from deep inside
NumPy or OpenCV.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from .errors import InputError

_log = logging.getLogger(__name__)

#: dtypes accepted for images; integer images are display-referred code values.
IMAGE_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def describe(name: str, path: object | None = None) -> str:
    """Name an image for an error message: ``image 2 (IMG_0042.JPG)`` or ``image 2``."""
    if path is None:
        return name
    from pathlib import Path

    return f"{name} ({Path(str(path)).name})"


def check_image(img: object, *, name: str = "image", allow_nonfinite: bool = False) -> np.ndarray:
    """Check one image and return it as an ``(H, W, C)`` array (a view, never a copy).

    Args:
        img: array of shape ``(H, W)`` or ``(H, W, C)`` with C in {1, 3}; uint8, uint16,
            float32 or float64.
        name: how to call the image in an error message.
        allow_nonfinite: accept NaN/Inf (only for code that masks them itself).

    Raises:
        InputError: if the array is not an image expokit can work with.
    """
    if not isinstance(img, np.ndarray):
        raise InputError(
            f"{name} is a {type(img).__name__}, expected a NumPy array of shape (H, W, 3); "
            "read files with expokit.io.read_image"
        )
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise InputError(
            f"{name} has shape {img.shape}, expected (H, W), (H, W, 1) or (H, W, 3); "
            "drop alpha channels with img[..., :3]"
        )
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise InputError(f"{name} is {img.shape[1]}x{img.shape[0]} pixels, too small to process")
    if img.dtype.type not in IMAGE_DTYPES:
        raise InputError(
            f"{name} has dtype {img.dtype}, expected uint8, uint16, float32 or float64"
        )
    if not allow_nonfinite and img.dtype.kind == "f" and not np.isfinite(img).all():
        bad = int(np.count_nonzero(~np.isfinite(img)))
        raise InputError(
            f"{name} contains {bad} NaN or infinite values; replace them (np.nan_to_num) "
            "or mask them before processing"
        )
    return img


def check_stack(
    images: Sequence[object],
    *,
    name: str = "images",
    paths: Sequence[object] | None = None,
    min_count: int = 2,
    same_dtype: bool = True,
) -> list[np.ndarray]:
    """Check a bracket of images: at least ``min_count``, one size, one dtype.

    Returns:
        The images as ``(H, W, C)`` arrays (views of the inputs).

    Raises:
        InputError: naming the first offending image and its file when ``paths`` is given.
    """
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
        raise InputError(f"{name} must be a list of images, got {type(images).__name__}")
    if len(images) < min_count:
        raise InputError(
            f"{name} holds {len(images)} image(s), expected at least {min_count}: a bracket "
            "needs several exposures of the same scene"
        )

    if paths is not None and len(paths) != len(images):
        raise InputError(
            f"paths has {len(paths)} entries for {len(images)} images: give one path per image"
        )

    def label(i: int) -> str:
        return describe(f"image {i + 1}", None if paths is None else paths[i])

    out = [check_image(im, name=label(i)) for i, im in enumerate(images)]
    ref = out[0]
    for i, im in enumerate(out[1:], start=1):
        if im.shape[:2] != ref.shape[:2]:
            raise InputError(
                f"{label(i)} is {im.shape[1]}x{im.shape[0]} but {label(0)} is "
                f"{ref.shape[1]}x{ref.shape[0]}: all exposures must share one size "
                "(crop them or run `expokit align`)"
            )
        if im.shape[2] != ref.shape[2]:
            raise InputError(
                f"{label(i)} has {im.shape[2]} channel(s) but {label(0)} has {ref.shape[2]}: "
                "do not mix greyscale and colour shots"
            )
        if same_dtype and im.dtype != ref.dtype:
            raise InputError(
                f"{label(i)} is {im.dtype} but {label(0)} is {ref.dtype}: all exposures must "
                "share one bit depth (convert them first)"
            )
    return out


def check_distinct_paths(paths: Sequence[object]) -> None:
    """Refuse one file given twice (also through another spelling of its path).

    Raises:
        InputError: naming both places the file was given.

    >>> check_distinct_paths(["a.png", "./b.png", "a.png"])
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: image 3 (a.png) is given twice (as image 1 (a.png) too): ...
    """
    from pathlib import Path

    seen: dict[str, int] = {}
    for i, p in enumerate(paths):
        if p is None:
            continue
        key = os.path.normcase(str(Path(str(p)).resolve()))
        if key in seen:
            raise InputError(f"{describe(f'image {i + 1}', p)} is given twice (as "
                             f"{describe(f'image {seen[key] + 1}', paths[seen[key]])} too): "
                             "give each exposure once")
        seen[key] = i


def check_distinct_frames(images: Sequence[np.ndarray], *,
                          paths: Sequence[object] | None = None) -> None:
    """Refuse a bracket that holds one frame twice: the same file, or identical pixels.

    Fusion would silently weigh that exposure double, and an HDR merge that is told two
    different exposure times for one picture writes a wrong radiance map.

    Raises:
        InputError: naming both frames (their files when ``paths`` is given).

    >>> a = np.zeros((2, 2, 3), np.uint8)
    >>> check_distinct_frames([a, a + 1])
    >>> check_distinct_frames([a, a.copy()], paths=["x.png", "y.png"])
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: image 2 (y.png) has exactly the pixels of image 1 (x.png): ...
    """
    import hashlib

    names = [describe(f"image {i + 1}", None if paths is None else paths[i])
             for i in range(len(images))]
    if paths is not None:
        check_distinct_paths(paths)
    seen: dict[tuple[str, tuple[int, ...], str], int] = {}
    for i, im in enumerate(images):
        arr = np.ascontiguousarray(im)
        key = (arr.dtype.str, arr.shape, hashlib.blake2b(arr.data, digest_size=16).hexdigest())
        if key in seen:
            raise InputError(f"{names[i]} has exactly the pixels of {names[seen[key]]}: a "
                             "bracket needs different exposures (remove the copy)")
        seen[key] = i


def check_unit_range(images: Sequence[np.ndarray], *, paths: Sequence[object] | None = None,
                     what: str = "this function") -> None:
    """Refuse float images with values outside [0, 1] (integer images pass unchecked).

    Display-referred float images are code values in [0, 1]; floats in 0..255 (``img.astype
    (np.float32)`` without ``/ 255``) or radiance would otherwise give silently wrong results.

    Args:
        images: checked ``(H, W, C)`` arrays (from :func:`check_stack`).
        paths: file names for the message.
        what: what takes display-referred images and how to get them, for the message.

    Raises:
        InputError: naming the first image out of range, its range and the fix.
    """
    for i, im in enumerate(images):
        if im.dtype.kind != "f":
            continue
        lo, hi = float(im.min()), float(im.max())
        if lo < 0.0 or hi > 1.0:
            where = f"image {i + 1}" if paths is None else f"image {i + 1} ({paths[i]})"
            raise InputError(
                f"{where} has float values in [{lo:.3g}, {hi:.3g}], expected [0, 1]: {what}"
            )


def check_exposure_times(times: object, count: int, *, name: str = "exposure_times") -> np.ndarray:
    """Check exposure times in seconds: one per image, finite, > 0 and all different.

    Returns:
        float64 array of the times.
    """
    try:
        t = np.asarray(times, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers (seconds), got {times!r}") from exc
    if t.size != count:
        raise InputError(f"{name} has {t.size} value(s) for {count} image(s): give one per image")
    if not np.isfinite(t).all() or (t <= 0).any():
        raise InputError(
            f"{name} must be finite and > 0 seconds, got {t.tolist()}; "
            "read them from EXIF (expokit info) or give them explicitly"
        )
    uniq, counts = np.unique(t, return_counts=True)
    if (counts > 1).any():
        raise InputError(
            f"{name} has duplicate value(s) {uniq[counts > 1].tolist()}: each exposure of a "
            "bracket needs its own time (are two files the same shot?)"
        )
    return t


def to_float32(img: np.ndarray) -> np.ndarray:
    """Convert code values to float32 in [0, 1] (uint8 / 255, uint16 / 65535); floats pass.

    Float images are returned as float32 without rescaling: their range is the caller's.
    """
    if img.dtype == np.uint8:
        return img.astype(np.float32) * np.float32(1.0 / 255.0)
    if img.dtype == np.uint16:
        return img.astype(np.float32) * np.float32(1.0 / 65535.0)
    return img.astype(np.float32, copy=False)


def dtype_scale(dtype: np.dtype) -> float:
    """The factor that maps code values of ``dtype`` to [0, 1]: 1/255, 1/65535 or 1."""
    if dtype == np.uint8:
        return 1.0 / 255.0
    if dtype == np.uint16:
        return 1.0 / 65535.0
    return 1.0


def resolve_threads(threads: int | None) -> int:
    """Worker threads: the argument, else ``$EXPOKIT_THREADS``, else the CPU count (at most 8).

    Raises:
        InputError: ``threads`` < 1 or a non-integer ``$EXPOKIT_THREADS``.
    """
    if threads is not None:
        if isinstance(threads, bool) or int(threads) != threads or threads < 1:
            raise InputError(f"threads must be >= 1 (a whole number), got {threads!r}")
        return int(threads)
    env = os.environ.get("EXPOKIT_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError as exc:
            raise InputError(f"EXPOKIT_THREADS must be an integer, got {env!r}") from exc
    return max(1, min(os.cpu_count() or 1, 8))


def row_strips(height: int, rows: int) -> list[tuple[int, int]]:
    """Row ranges ``[y0, y1)`` of at most ``rows`` rows covering ``height``."""
    return [(y, min(y + rows, height)) for y in range(0, height, rows)]


#: What :func:`check_negative` does with negative values in linear float data: ``"clip"``
#: sets them to 0 and logs one warning (count, minimum, file); ``"error"`` refuses them.
Negative = Literal["clip", "error"]
NEGATIVE_POLICIES: tuple[str, ...] = ("clip", "error")


def check_negative(img: np.ndarray, *, negative: Negative = "clip",
                   name: str = "image") -> np.ndarray:
    """Apply expokit's one policy for negative values in linear float data.

    Lossy EXR codecs (DWAA/DWAB, B44) and filtering leave small negative values near black,
    which are not radiance. With ``negative="clip"`` (the default everywhere) they are set to 0
    in a copy and one warning is logged saying how many values of ``name`` were changed and
    their minimum; with ``negative="error"`` they are refused. Arrays without negatives (and
    integer arrays) are returned as they are, not copied.

    Args:
        img: the float data (any shape); never modified.
        negative: ``"clip"`` or ``"error"``.
        name: the file or argument, for the warning and the error.

    Returns:
        ``img`` when it holds no negative value, else a copy with negatives set to 0.

    Raises:
        InputError: with ``negative="error"`` when ``img`` holds a negative value (naming
            ``name``, the count, the minimum and the option to use), or for an unknown policy.

    >>> check_negative(np.array([1.0, -0.5, -0.25]), name="x").tolist()
    [1.0, 0.0, 0.0]
    """
    if negative not in NEGATIVE_POLICIES:
        raise InputError(
            f"negative must be 'clip' (set negative values to 0 with a warning) or 'error' "
            f"(refuse them), got {negative!r}"
        )
    if img.dtype.kind != "f" or img.size == 0:
        return img
    flat = img.reshape(-1, img.shape[-1]) if img.ndim >= 2 else img.reshape(1, -1)
    lo = float(cv2.minMaxLoc(flat)[0]) if flat.dtype == np.float32 else float(img.min())
    if not lo < 0.0:  # also false for NaN: finiteness is checked elsewhere
        return img
    count = int(np.count_nonzero(img < 0))
    if negative == "error":
        raise InputError(
            f"{name}: {count} negative value(s), down to {lo:.4g}: float images must be >= 0; "
            "to set them to 0 pass negative='clip' (CLI: --negative clip), or fix the data"
        )
    _log.warning("%s: %d negative value(s) set to 0 (minimum %.4g)", name, count, lo)
    return np.maximum(img, img.dtype.type(0.0))


def check_radiance(radiance: object, *, name: str = "radiance", user: str = "this function",
                   hint: str = "", negative: Negative = "clip") -> np.ndarray:
    """Check linear radiance and return it as float32 ``(H, W, C)`` >= 0.

    Negative values follow :func:`check_negative`: by default they are set to 0 in a copy with
    one logged warning. The caller's array is never modified (a view is returned when it
    already is float32 and non-negative).

    Args:
        radiance: the array to check.
        name: how the message names it.
        user: what takes the radiance, for the message about integer (display-referred)
            data, e.g. ``"tone mapping"``.
        hint: how to get radiance instead, added to that message.
        negative: ``"clip"`` or ``"error"`` (see :func:`check_negative`).

    Raises:
        InputError: for non-arrays, wrong shapes, integer (display-referred) data, NaN/Inf, or
            negative values with ``negative="error"``.
    """
    img = check_image(radiance, name=name)
    if img.dtype.kind != "f":
        raise InputError(f"{name} is {img.dtype} code values, i.e. a display-referred image; "
                         f"{user} takes linear float radiance >= 0"
                         + (f" ({hint})" if hint else ""))
    img = img.astype(np.float32, copy=False)
    return check_negative(img, negative=negative, name=name)


def check_number(name: str, value: object, hint: str, *, allow_bool: bool = True) -> float:
    """``value`` as a float (not NaN; +-inf passes), else an InputError naming ``name`` with
    ``hint``. ``allow_bool=False`` refuses True/False, which ``float()`` would take as 1/0."""
    if not allow_bool and isinstance(value, bool):
        raise InputError(f"{name} must be a number ({hint}), got {value!r}")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number ({hint}), got {value!r}") from None
    if math.isnan(v):
        raise InputError(f"{name} must be a number ({hint}), got NaN")
    return v


def check_positive(name: str, value: object, hint: str, *, allow_inf: bool = False,
                   allow_bool: bool = True) -> float:
    """``value`` as a float > 0 (finite unless ``allow_inf``), else an InputError with ``hint``."""
    v = check_number(name, value, hint, allow_bool=allow_bool)
    if v <= 0.0 or (math.isinf(v) and not allow_inf):
        kind = "> 0" if allow_inf else "finite and > 0"
        raise InputError(f"{name} must be {kind} ({hint}), got {value!r}")
    return v
