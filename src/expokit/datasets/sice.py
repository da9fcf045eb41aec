"""The SICE multi-exposure data set of Cai, Gu & Zhang (2018): shots and reference images.

SICE is distributed as ``Part1`` and ``Part2``, each a folder of numbered scene folders and a
``Label`` folder beside them with one reference (the authors' chosen best fusion) per scene::

    Part1/
        1/  1.JPG 2.JPG 3.JPG ...      the multi-exposure shots of scene 1 (8-bit)
        2/  1.JPG 2.JPG ...
        ...
        Label/  1.JPG 2.JPG ...        one reference per scene, named after the scene folder

The shots' numbers follow exposure order in the published set, but nothing here relies on that:
:func:`read_sice_scene` orders the shots by mean brightness (Rec. 709 luma of the 8-bit code
values scaled to [0, 1], as :func:`expokit.metrics.extreme_pair` does), darkest first.
:func:`extreme_pair` gives the darkest and the brightest shot, the under-/over-exposed input
pair of two-input fusion methods and their benchmarks.

Some SICE scenes have shots whose size differs from the label's. :func:`read_sice_scene` reports
that as an error naming both sizes, unless asked to resize the shots to the label.

References:
    J. Cai, S. Gu and L. Zhang, "Learning a Deep Single Image Contrast Enhancer from
    Multi-Exposure Images", IEEE TIP 27(4), 2018.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np

from .._checks import to_float32
from ..color import luminance
from ..errors import InputError
from ..io import read_image

logger = logging.getLogger(__name__)

Resize = Literal["label"]

#: Name of the folder of reference images, beside the scene folders (matched ignoring case).
LABEL_FOLDER = "Label"

#: Image file extensions a scene or ``Label`` folder may hold (matched ignoring case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class SICEScene:
    """One SICE scene: where its files are, nothing read yet.

    Attributes:
        name: the scene folder's name (``"1"``, ``"10"``).
        folder: the scene folder.
        shot_paths: the multi-exposure shots, sorted by the number in the file name
            (``2.JPG`` before ``10.JPG``; names without a number after those, by name). This
            is file order, not brightness order: :func:`read_sice_scene` sorts by brightness.
        label_path: the reference image ``Label/<name>.<ext>``.
    """

    name: str
    folder: Path
    shot_paths: tuple[Path, ...]
    label_path: Path


class SICESample(NamedTuple):
    """The pixels of one :class:`SICEScene`.

    Attributes:
        shots: the shots as ``(H, W, C)`` uint8 display-referred code values, darkest first
            by mean Rec. 709 luma (shots of equal brightness keep file order).
        label: the reference, ``(H, W, C)`` uint8, the shots' size.
        order: for each entry of ``shots``, its 0-based index in
            :attr:`SICEScene.shot_paths`.
    """

    shots: list[np.ndarray]
    label: np.ndarray
    order: tuple[int, ...]


def load_sice_scenes(root: str | os.PathLike[str]) -> list[SICEScene]:
    """Find the scenes of a SICE part (files checked, not read).

    Args:
        root: a folder holding numbered scene folders and ``Label/`` (SICE's ``Part1`` or
            ``Part2``). Every sub-folder except ``Label`` is a scene; files and folders whose
            names start with ``.`` are skipped. A label without a scene folder is ignored with
            a logged warning (a part can be trimmed by deleting scene folders).

    Returns:
        The scenes, sorted by the number in the folder name (``2`` before ``10``).

    Raises:
        InputError: if ``root`` is not a folder or has no ``Label`` folder or no scene
            folder, a scene folder holds a file that is not an image (``.jpg .jpeg .png .tif
            .tiff``) or a folder, or fewer than 2 shots, a scene has no label or two, or
            ``Label`` holds a file that is not an image. The message names the folder or file.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> from expokit.io import write_image
        >>> tmp = Path(tempfile.mkdtemp())
        >>> for i, v in enumerate((200, 30, 90), start=1):   # file order is not brightness
        ...     _ = write_image(tmp / "1" / f"{i}.png", np.full((4, 6, 3), v, np.uint8))
        >>> _ = write_image(tmp / "Label" / "1.png", np.full((4, 6, 3), 120, np.uint8))
        >>> [scene] = load_sice_scenes(tmp)
        >>> scene.name, [p.name for p in scene.shot_paths], scene.label_path.name
        ('1', ['1.png', '2.png', '3.png'], '1.png')
        >>> sample = read_sice_scene(scene)
        >>> sample.order, [int(s[0, 0, 0]) for s in sample.shots], sample.label.shape
        ((1, 2, 0), [30, 90, 200], (4, 6, 3))
        >>> [int(s[0, 0, 0]) for s in extreme_pair(sample)]
        [30, 200]
        >>> import shutil; shutil.rmtree(tmp)
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"SICE folder {root} does not exist or is not a folder: pass the folder "
                         f"that holds the numbered scene folders and {LABEL_FOLDER}/ (e.g. Part1)")
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    label_dir = next((p for p in folders if p.name.lower() == LABEL_FOLDER.lower()), None)
    if label_dir is None:
        raise InputError(f"SICE folder {root} has no {LABEL_FOLDER}/ folder of reference images: "
                         f"pass the folder that holds both the scene folders and {LABEL_FOLDER}/ "
                         "(e.g. Part1)")
    scene_dirs = sorted((p for p in folders if p != label_dir), key=lambda p: _number_key(p.name))
    if not scene_dirs:
        raise InputError(f"SICE folder {root} holds no scene folder beside {LABEL_FOLDER}/: "
                         "expected numbered folders (1, 2, ...) of multi-exposure shots")
    labels = _find_labels(label_dir)
    names = {p.name for p in scene_dirs}
    for stem in sorted(set(labels) - names, key=_number_key):
        logger.warning("SICE folder %s: label %s has no scene folder %s; ignored", root,
                       labels[stem][0].name, stem)
    scenes = []
    for folder in scene_dirs:
        shots = _find_shots(folder)
        found = labels.get(folder.name, [])
        if not found:
            raise InputError(f"scene {folder}: no label {label_dir.name}/{folder.name}.JPG (or "
                             f"another image extension) in {label_dir}: add the reference image "
                             "or remove the scene folder")
        if len(found) > 1:
            listed = ", ".join(p.name for p in found)
            raise InputError(f"scene {folder}: {len(found)} labels in {label_dir} ({listed}): "
                             "keep one reference per scene")
        scenes.append(SICEScene(folder.name, folder, shots, found[0]))
    return scenes


def read_sice_scene(scene: SICEScene, *, resize: Resize | None = None,
                    max_side: int | None = None) -> SICESample:
    """Read one scene's shots, darkest first, and its label.

    Args:
        scene: a scene from :func:`load_sice_scenes`.
        resize: ``None`` (default): shots whose size differs from the label's are an error.
            ``"label"``: such shots are resized to the label's size with area averaging
            (``cv2.INTER_AREA``; for enlarging, OpenCV's INTER_AREA is bilinear). The aspect
            ratio is not kept, so check that the shots show the label's view.
        max_side: if given (>= 1), shots and label whose longer side exceeds it are then
            downscaled with ``cv2.INTER_AREA`` so that the longer side is ``max_side``.

    Returns:
        A :class:`SICESample` ``(shots, label, order)``: uint8 ``(H, W, C)`` shots sorted by
        mean Rec. 709 luma of ``uint8 / 255``, darkest first (ties keep file order), the uint8
        label, and each sorted shot's index in ``scene.shot_paths``.

    Raises:
        InputError: if ``resize`` or ``max_side`` is invalid, a file cannot be read or is not
            an 8-bit image, a shot's channels differ from the label's, or (without
            ``resize="label"``) a shot's size differs from the label's. The message names the
            scene folder, the file and both sizes.
    """
    if resize not in (None, "label"):
        raise InputError(f"resize must be None or 'label', got {resize!r}")
    if max_side is not None and (isinstance(max_side, bool)
                                 or not isinstance(max_side, (int, np.integer)) or max_side < 1):
        raise InputError(f"max_side must be None or a whole number >= 1, got {max_side!r}")
    label = _read_8bit(scene.label_path, scene)
    lh, lw = label.shape[:2]
    shots = []
    for path in scene.shot_paths:
        shot = _read_8bit(path, scene)
        if shot.shape[2] != label.shape[2]:
            raise InputError(f"scene {scene.folder}: shot {path.name} has {shot.shape[2]} "
                             f"channel(s) but label {scene.label_path.name} has "
                             f"{label.shape[2]}: shots and label must both be RGB or both grey")
        if shot.shape[:2] != label.shape[:2]:
            if resize is None:
                raise InputError(
                    f"scene {scene.folder}: shot {path.name} is {_size(shot)} but label "
                    f"{scene.label_path.name} is {_size(label)}: pass resize='label' to resize "
                    "the shots to the label (as some SICE scenes need), or remove the scene")
            shot = _resize(shot, lw, lh)
        shots.append(shot)
    if max_side is not None and max(lh, lw) > max_side:
        s = max_side / max(lh, lw)
        w, h = max(1, round(lw * s)), max(1, round(lh * s))
        label = _resize(label, w, h)
        shots = [_resize(shot, w, h) for shot in shots]
    means = [float(np.mean(luminance(to_float32(shot)), dtype=np.float64)) for shot in shots]
    order = tuple(sorted(range(len(shots)), key=means.__getitem__))  # stable: ties keep order
    return SICESample([shots[i] for i in order], label, order)


def extreme_pair(sample: SICESample) -> tuple[np.ndarray, np.ndarray]:
    """The most under- and the most over-exposed shot of a scene: the two-input fusion pair.

    Args:
        sample: a sample from :func:`read_sice_scene` (shots already darkest first).

    Returns:
        ``(darkest, brightest)`` uint8 ``(H, W, C)`` shots, by mean Rec. 709 luma.

    Raises:
        InputError: if the sample holds fewer than two shots.
    """
    if len(sample.shots) < 2:
        raise InputError(f"the sample holds {len(sample.shots)} shot(s); at least two are needed "
                         "to pick the darkest and the brightest")
    return sample.shots[0], sample.shots[-1]


def _number_key(name: str) -> tuple[int, int, str]:
    """Sort key: names with a number by that number (first one), then the rest by name."""
    stem = Path(name).stem
    match = _NUMBER.search(stem)
    return (0, int(match.group()), stem) if match else (1, 0, stem)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _listing(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError as e:
        raise InputError(f"cannot list folder {folder} ({e.strerror})") from e


def _find_shots(folder: Path) -> tuple[Path, ...]:
    shots = []
    for path in _listing(folder):
        if path.is_dir():
            raise InputError(f"scene {folder}: holds a folder {path.name}, expected only the "
                             "shots' image files: move it out of the scene folder")
        if not _is_image(path):
            raise InputError(f"scene {folder}: {path.name} is not an image file (expected "
                             f"{' '.join(IMAGE_SUFFIXES)}, any case): move it out of the scene "
                             "folder")
        shots.append(path)
    if len(shots) < 2:
        names = ", ".join(p.name for p in shots) or "none"
        raise InputError(f"scene {folder}: {len(shots)} shot(s) ({names}), expected at least 2 "
                         "exposures: add the shots or remove the scene folder")
    return tuple(sorted(shots, key=lambda p: _number_key(p.name)))


def _find_labels(label_dir: Path) -> dict[str, list[Path]]:
    labels: dict[str, list[Path]] = {}
    for path in sorted(_listing(label_dir)):
        if not path.is_file() or not _is_image(path):
            raise InputError(f"label folder {label_dir}: {path.name} is not an image file "
                             f"(expected one <scene>{'/'.join(IMAGE_SUFFIXES)} per scene, any "
                             "case): move it out of the label folder")
        labels.setdefault(path.stem, []).append(path)
    return labels


def _read_8bit(path: Path, scene: SICEScene) -> np.ndarray:
    img = read_image(path)
    if img.dtype != np.uint8:
        raise InputError(f"scene {scene.folder}: {path.name} holds {img.dtype} values, not 8-bit "
                         "code values: SICE shots and labels are 8-bit images")
    return img


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return out.reshape(h, w, img.shape[2])  # cv2 drops a single channel axis


def _size(img: np.ndarray) -> str:
    return f"{img.shape[1]}×{img.shape[0]}"
