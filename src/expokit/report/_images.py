"""Images for the page: read, made displayable (8-bit sRGB), downscaled, base64 JPEG data URIs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

#: Files holding linear radiance (tone-mapped for display whatever the op).
RADIANCE_EXTS = frozenset({".exr", ".hdr", ".pic", ".rgbe"})


@dataclass(frozen=True)
class Shown:
    """One image as the page embeds it.

    Attributes:
        thumb: data URI of the thumbnail (long side at most ``thumb_side``).
        view: data URI of the view image (long side at most ``view_side``), for slider and zoom.
        width, height: the file's own size in pixels.
        view_size: ``(width, height)`` of the view image.
        thumb_size: ``(width, height)`` of the thumbnail.
        note: how it was made displayable ("tone-mapped (Reinhard)", "" for 8-bit files).
    """

    thumb: str
    view: str
    width: int
    height: int
    view_size: tuple[int, int]
    thumb_size: tuple[int, int]
    note: str


def fit(img: np.ndarray, side: int) -> np.ndarray:
    """``img`` downscaled (OpenCV INTER_AREA) so its long side is at most ``side``; never enlarged.

    >>> fit(np.zeros((300, 600, 3), np.float32), 200).shape
    (100, 200, 3)
    """
    h, w = img.shape[:2]
    if max(h, w) <= side:
        return img
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return out[..., None] if out.ndim == 2 else out


def to_display(img: np.ndarray, *, radiance: bool, linear: bool = False) -> tuple[np.ndarray, str]:
    """An image as 8-bit sRGB ``(H, W, 3)`` for the page, and a note saying how.

    Args:
        img: as :func:`expokit.io.read_image` returns it (uint8, uint16 or float32; C = 1 or 3).
        radiance: the float values are linear radiance (a merge result, EXR/HDR file):
            tone-mapped with Reinhard's global operator.
        linear: the float values are linear display light in [0, 1] (camera RAW): sRGB-encoded.
            Other float images are display-referred [0, 1] and only clipped.
    """
    note = ""
    if img.dtype == np.uint8:
        out = img
    elif img.dtype == np.uint16:
        out = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
        note = "16-bit shown as 8-bit"
    else:
        f = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if radiance:
            from ..tonemap import tonemap

            f = tonemap(np.maximum(f, 0.0), method="reinhard")
            note = "radiance, tone-mapped (Reinhard) for display"
        elif linear:
            from ..color import linear_to_srgb

            f = linear_to_srgb(np.clip(f, 0.0, 1.0))
            note = "linear, sRGB-encoded for display"
        out = (np.clip(f, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if out.ndim == 2:
        out = out[..., None]
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out[..., :3]), note


def data_uri(rgb: np.ndarray, *, quality: int) -> str:
    """An 8-bit RGB image as a ``data:image/jpeg;base64,...`` URI."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit 3-channel array
        raise InputError(f"could not encode a {rgb.shape} image as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def show(path: Path, *, radiance: bool, thumb_side: int, view_side: int,
         quality: int) -> Shown:
    """Read ``path`` and make its thumbnail and view image.

    Radiance is downscaled before tone-mapping (INTER_AREA averages light, as a smaller sensor
    would), so a large EXR costs one read and a view-sized tone-map.

    Raises:
        InputError: from :func:`expokit.io.read_image` (missing, unreadable file).
    """
    from ..io import READ_EXTS, read_image

    img = read_image(path)
    h, w = img.shape[:2]
    ext = path.suffix.lower()
    is_float = img.dtype.kind == "f"
    radiance = is_float and (radiance or ext in RADIANCE_EXTS)
    linear = is_float and not radiance and ext in READ_EXTS and ext not in {
        ".png", ".jpg", ".jpeg", ".tif", ".tiff"}  # camera RAW: linear [0, 1]
    view, note = to_display(fit(img, view_side), radiance=radiance, linear=linear)
    thumb = fit(view, thumb_side)
    return Shown(data_uri(thumb, quality=quality), data_uri(view, quality=quality), w, h,
                 (view.shape[1], view.shape[0]), (thumb.shape[1], thumb.shape[0]), note)
