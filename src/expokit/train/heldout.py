"""Training data that keep Ma 2015 held out: MEFB's input scenes minus every Ma 2015 copy.

Ma 2015's sequences are expokit's held-out test set for fusion and exposure correction, and
MEFB reuses many of them, some under other names (``TableLamp`` is Ma's ``Lamp``) or resized
(``tower``). A MEFB scene is dropped when its name matches a Ma 2015 sequence, or when any of
its files has the same decoded pixels as a Ma 2015 image or a thumbnail that correlates with
one (same aspect ratio). DeepFuse and UEC both train on what is left.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..color import REC601_LUMA
from ..errors import InputError, MissingResourceError
from ..io import read_image

__all__ = ["SceneList", "list_mefb_scenes", "ma2015_fingerprints"]

_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
#: Thumbnail correlation at or above which a source counts as a copy of a Ma 2015 image.
THUMB_CORRELATION = 0.97
#: Relative aspect-ratio difference below which two images may be copies.
ASPECT_TOLERANCE = 0.03


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def _images_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_EXTS),
                  key=lambda p: p.name.lower())


def _pixel_hash(img: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()


def _thumbnail(img: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-norm 32x32 grey thumbnail (a resize-invariant fingerprint)."""
    g = img.astype(np.float32)
    if g.shape[2] == 3:
        g = g @ np.array(REC601_LUMA, np.float32)
    else:
        g = g[..., 0]
    t = cv2.resize(g, (32, 32), interpolation=cv2.INTER_AREA).ravel()
    t -= t.mean()
    n = float(np.linalg.norm(t))
    return t / n if n > 0 else t


@dataclass(frozen=True)
class _Fingerprint:
    name: str
    aspect: float
    thumb: np.ndarray
    digest: str


def _fingerprint(path: Path, label: str) -> _Fingerprint:
    img = read_image(path)
    img = img if img.ndim == 3 else img[..., None]
    return _Fingerprint(label, img.shape[1] / img.shape[0], _thumbnail(img), _pixel_hash(img))


def ma2015_fingerprints(root: Path) -> list[_Fingerprint]:
    """Fingerprints of every Ma 2015 source image (``<root>/source image sequences``)."""
    seq_root = root / "source image sequences"
    if not seq_root.is_dir():
        raise MissingResourceError(
            f"{seq_root} is absent: the Ma 2015 folder is needed to exclude its scenes from "
            "training (set data.data_root or $EXPOKIT_DATA)"
        )
    out = []
    for folder in sorted(p for p in seq_root.iterdir() if p.is_dir()):
        for path in _images_in(folder):
            out.append(_fingerprint(path, f"{folder.name}/{path.name}"))
    return out


def _match(fp: _Fingerprint, refs: Sequence[_Fingerprint]) -> str | None:
    """The Ma 2015 image ``fp`` copies (identical pixels or a resized copy), else None."""
    for ref in refs:
        if ref.digest == fp.digest:
            return f"identical pixels to {ref.name}"
    for ref in refs:
        if abs(ref.aspect / fp.aspect - 1.0) <= ASPECT_TOLERANCE:
            corr = float(ref.thumb @ fp.thumb)
            if corr >= THUMB_CORRELATION:
                return f"thumbnail correlation {corr:.3f} with {ref.name}"
    return None


@dataclass(frozen=True)
class SceneList:
    """MEFB scenes split for training.

    Attributes:
        train: ``{scene: source files}`` used for training.
        val: ``{scene: source files}`` held out for validation.
        excluded: ``{scene: reason}`` for scenes dropped because they are also in Ma 2015.
        ma2015_images: how many Ma 2015 source images every file was checked against.
    """

    train: dict[str, tuple[Path, ...]]
    val: dict[str, tuple[Path, ...]]
    excluded: dict[str, str]
    ma2015_images: int = 0


def list_mefb_scenes(data_root: str | Path, val_scenes: Sequence[str] = ()) -> SceneList:
    """Split MEFB's input scenes into training, validation and excluded (also in Ma 2015).

    Args:
        data_root: folder holding ``mefb/input`` and ``ma2015``.
        val_scenes: scene names (case-insensitive) held out for validation.

    Returns:
        A :class:`SceneList`.

    Raises:
        MissingResourceError: ``mefb/input`` or ``ma2015`` is absent.
        InputError: a validation scene is not an MEFB scene or is a Ma 2015 scene.
    """
    root = Path(data_root)
    mefb = root / "mefb" / "input"
    if not mefb.is_dir():
        raise MissingResourceError(
            f"{mefb} is absent: training uses MEFB's input pairs (set data.data_root or "
            "$EXPOKIT_DATA to the shared data folder)"
        )
    refs = ma2015_fingerprints(root / "ma2015")
    ma_names = {_norm(r.name.split("/")[0].rsplit("_", 1)[0]) for r in refs}
    train_set: dict[str, tuple[Path, ...]] = {}
    excluded: dict[str, str] = {}
    for folder in sorted((p for p in mefb.iterdir() if p.is_dir()), key=lambda p: p.name.lower()):
        files = tuple(_images_in(folder))
        if len(files) < 2:
            continue
        if _norm(folder.name) in ma_names:
            excluded[folder.name] = "name matches a Ma 2015 sequence"
            continue
        for path in files:
            why = _match(_fingerprint(path, path.name), refs)
            if why is not None:
                excluded[folder.name] = f"{path.name}: {why}"
                break
        else:
            train_set[folder.name] = files
    by_norm = {_norm(k): k for k in train_set}
    val: dict[str, tuple[Path, ...]] = {}
    for name in val_scenes:
        key = by_norm.get(_norm(name))
        if key is None:
            where = "is a Ma 2015 scene" if any(_norm(e) == _norm(name) for e in excluded) \
                else "is not an MEFB input scene"
            raise InputError(f"data.val_scenes: {name!r} {where}; pick MEFB scenes such as "
                             f"{', '.join(list(train_set)[:5])}")
        val[key] = train_set.pop(key)
    return SceneList(train_set, val, excluded, len(refs))
