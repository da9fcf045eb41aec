"""Multi-frame HDR data sets on disk: Kalantari & Ramamoorthi 2017 and Tel et al. 2023.

Both sets store one folder per scene::

    Training/001/                     Test/PAPER/BarbequeDay/ (Kalantari), Test/<scene>/ (Tel)
        <a>.tif <b>.tif <c>.tif       three 16-bit LDR frames; sorted by name = short, medium, long
        exposure.txt                  one exposure value (EV, stops) per frame, e.g. -2 0 2
        HDRImg.hdr                    ground-truth radiance, aligned to the middle frame

Exposure times are ``2 ** EV`` in the file's relative units (the authors' loaders divide each
frame's linearised values by exactly this). Tel et al. publish their set for the same loader
(SCTNet's ``dataset_sig17.py``); its patch-cropping script writes the ground truth of each patch
as ``label.hdr``, which the ``"tel"`` layout accepts when ``HDRImg.hdr`` is absent.

References:
    N. K. Kalantari and R. Ramamoorthi, "Deep High Dynamic Range Imaging of Dynamic Scenes",
    ACM TOG (SIGGRAPH) 2017.
    S. Tel, Z. Wu, Y. Zhang, B. Heyrman, C. Demonceaux, R. Timofte and D. Ginhac,
    "Alignment-free HDR Deghosting with Semantics Consistent Transformer", ICCV 2023.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from .._checks import to_float32
from ..errors import InputError
from ..io import read_image

Layout = Literal["kalantari", "tel"]

#: Ground-truth file names each layout accepts, in order of preference.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "kalantari": ("HDRImg.hdr",),
    "tel": ("HDRImg.hdr", "label.hdr"),
}

#: Frames per scene in both sets (short, medium, long exposure).
FRAMES_PER_SCENE = 3

_EXPOSURE_FILE = "exposure.txt"
_FRAME_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class HDRScene:
    """One scene of a multi-frame HDR data set: where its files are, nothing read yet.

    Attributes:
        name: the scene folder's name (``"001"``, ``"BarbequeDay"``).
        folder: the scene folder.
        ldr_paths: the LDR frames, shortest exposure first (sorted by file name).
        evs: exposure values in stops from ``exposure.txt``, one per frame, increasing.
        gt_path: the ground-truth radiance file (``HDRImg.hdr``, or ``label.hdr`` for ``"tel"``).
        layout: the layout the scene was found with.
    """

    name: str
    folder: Path
    ldr_paths: tuple[Path, ...]
    evs: tuple[float, ...]
    gt_path: Path
    layout: Layout

    @property
    def exposure_times(self) -> np.ndarray:
        """Relative exposure times ``2 ** EV`` (float64), one per frame."""
        return np.exp2(np.asarray(self.evs, dtype=np.float64))

    @property
    def reference_index(self) -> int:
        """Index of the frame the ground truth is aligned to: the middle one."""
        return len(self.ldr_paths) // 2


class HDRSample(NamedTuple):
    """The pixels of one :class:`HDRScene`.

    Attributes:
        frames: ``(N, H, W, C)`` float32 display-referred code values in [0, 1]
            (``uint16 / 65535``), shortest exposure first.
        exposure_times: ``(N,)`` float64 relative exposure times ``2 ** EV``.
        radiance: ``(H, W, C)`` float32 linear ground-truth radiance >= 0.
    """

    frames: np.ndarray
    exposure_times: np.ndarray
    radiance: np.ndarray


def load_hdr_scenes(root: str | os.PathLike[str], *,
                    layout: Layout = "kalantari") -> list[HDRScene]:
    """Find the scenes of a Kalantari-2017 or Tel-2023 style folder (files checked, not read).

    Args:
        root: a folder of scene folders (``Training``, ``Test/PAPER``, ``Test/EXTRA``, Tel's
            ``Test``), or one scene folder (it holds ``exposure.txt``). Sub-folders whose
            names start with ``.`` are skipped.
        layout: ``"kalantari"`` (ground truth ``HDRImg.hdr``) or ``"tel"`` (``HDRImg.hdr``,
            else ``label.hdr`` as SCTNet's patch-cropping script writes it).

    Returns:
        The scenes, sorted by folder name.

    Raises:
        InputError: if ``root`` is not a folder or holds no scene folder, ``layout`` is
            unknown, or a scene lacks ``exposure.txt`` or its ground truth, has other than 3
            ``.tif`` frames, or its ``exposure.txt`` holds other than one number per frame or
            numbers that do not increase. The message names the scene folder and file.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> from expokit.io import write_image
        >>> tmp = Path(tempfile.mkdtemp())
        >>> for i in range(3):
        ...     frame = np.full((4, 6, 3), 1000 * (i + 1), np.uint16)
        ...     _ = write_image(tmp / "001" / f"{i}.tif", frame)
        >>> _ = (tmp / "001" / "exposure.txt").write_text("-2\\n0\\n2\\n")
        >>> _ = write_image(tmp / "001" / "HDRImg.hdr", np.ones((4, 6, 3), np.float32))
        >>> [scene] = load_hdr_scenes(tmp)
        >>> scene.name, scene.exposure_times.tolist(), scene.reference_index
        ('001', [0.25, 1.0, 4.0], 1)
        >>> sample = read_hdr_scene(scene)
        >>> sample.frames.shape, sample.radiance.shape
        ((3, 4, 6, 3), (4, 6, 3))
        >>> import shutil; shutil.rmtree(tmp)
    """
    if layout not in LAYOUTS:
        raise InputError(f"layout {layout!r} is unknown: use one of {', '.join(LAYOUTS)}")
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"data set folder {root} does not exist or is not a folder: pass the "
                         "folder that holds the scene folders (e.g. Training or Test/PAPER)")
    if (root / _EXPOSURE_FILE).is_file():
        return [_find_scene(root, layout)]
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise InputError(f"data set folder {root} holds no scene folder: expected one folder per "
                         f"scene with 3 .tif frames, {_EXPOSURE_FILE} and {LAYOUTS[layout][0]}")
    return [_find_scene(folder, layout) for folder in folders]


def read_hdr_scene(scene: HDRScene) -> HDRSample:
    """Read one scene's frames, exposure times and ground-truth radiance.

    Args:
        scene: a scene from :func:`load_hdr_scenes`.

    Returns:
        An :class:`HDRSample` ``(frames, exposure_times, radiance)``: frames ``(N, H, W, C)``
        float32 in [0, 1] (``uint16 / 65535``; the authors' loaders divide by 65536, 0.0015 %
        less), shortest first; relative times ``2 ** EV``; radiance ``(H, W, C)`` float32 >= 0.

    Raises:
        InputError: if a file cannot be read, a frame is not an 8- or 16-bit image, the frames
            differ in size or channels, or the radiance's size differs from the frames'.
    """
    frames = [read_image(p) for p in scene.ldr_paths]
    first = frames[0]
    for i, (path, frame) in enumerate(zip(scene.ldr_paths, frames, strict=True)):
        if frame.dtype not in (np.uint8, np.uint16):
            raise InputError(f"scene {scene.folder}: frame {path.name} holds {frame.dtype} "
                             "values, not 8- or 16-bit code values: LDR frames are integer TIFFs")
        if frame.shape != first.shape:
            raise InputError(
                f"scene {scene.folder}: frame {i + 1} ({path.name}) is {_size(frame)} but "
                f"frame 1 ({scene.ldr_paths[0].name}) is {_size(first)}: all frames of a scene "
                "must share one size")
    radiance = read_image(scene.gt_path)
    if radiance.shape != first.shape:
        raise InputError(
            f"scene {scene.folder}: ground truth {scene.gt_path.name} is {_size(radiance)} but "
            f"the frames are {_size(first)}: it must be aligned to the middle frame, pixel for "
            "pixel")
    stack = np.stack([to_float32(f) for f in frames])
    return HDRSample(stack, scene.exposure_times, radiance.astype(np.float32, copy=False))


def _size(img: np.ndarray) -> str:
    return f"{img.shape[1]}×{img.shape[0]} with {img.shape[2]} channel(s)"


def _find_scene(folder: Path, layout: Layout) -> HDRScene:
    exposure = folder / _EXPOSURE_FILE
    if not exposure.is_file():
        raise InputError(
            f"scene {folder}: no {_EXPOSURE_FILE} (one exposure value in stops per frame, e.g. "
            "-2, 0, 2): add it, or if this folder holds scene folders (like Kalantari's Test "
            "with PAPER and EXTRA) pass each of those as the data set folder")
    frames = tuple(sorted(p for p in folder.iterdir()
                          if p.is_file() and p.suffix.lower() in _FRAME_SUFFIXES))
    if len(frames) != FRAMES_PER_SCENE:
        names = ", ".join(p.name for p in frames) or "none"
        raise InputError(
            f"scene {folder}: {len(frames)} .tif frame(s) ({names}), expected "
            f"{FRAMES_PER_SCENE} (short, medium, long exposure): remove extra TIFFs or add the "
            "missing frames")
    evs = _read_evs(exposure, folder)
    gt = next((folder / n for n in LAYOUTS[layout] if (folder / n).is_file()), None)
    if gt is None:
        wanted = " or ".join(LAYOUTS[layout])
        raise InputError(f"scene {folder}: no {wanted} (the ground-truth radiance) for layout "
                         f"{layout!r}: add it or remove the scene folder")
    return HDRScene(folder.name, folder, frames, evs, gt, layout)


def _read_evs(path: Path, folder: Path) -> tuple[float, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"scene {folder}: cannot read {path.name} as text ({e})") from e
    evs: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for token in line.split():
            try:
                ev = float(token)
            except ValueError:
                ev = math.nan
            if not math.isfinite(ev):
                raise InputError(f"scene {folder}: {path.name} line {number}: {token!r} is not a "
                                 "finite number: write one exposure value in stops per line")
            evs.append(ev)
    if len(evs) != FRAMES_PER_SCENE:
        raise InputError(f"scene {folder}: {path.name} holds {len(evs)} exposure value(s), "
                         f"expected {FRAMES_PER_SCENE}: one per frame, shortest first")
    if any(b <= a for a, b in zip(evs, evs[1:], strict=False)):
        raise InputError(f"scene {folder}: {path.name} holds {evs}, which do not increase: the "
                         "frames sorted by name are short, medium, long, so their exposure "
                         "values must increase in that order")
    return tuple(evs)
