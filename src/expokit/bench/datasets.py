"""Data-set layouts for ``expokit eval``: which fused images belong to which source bracket.

Three layouts are understood:

* ``ma2015`` (Ma, Zeng & Wang, TIP 2015): ``source image sequences/<Scene>_<origin>/``,
  ``fused images/<Sequence>_<Method>.png``, ``MOS.mat`` (17 x 8) in ``imgName.mat`` order.
* ``mefb`` (Zhang 2021): ``input/<scene>/`` and ``output/fused_images/<scene>_<method>.*``.
* ``folders`` (generic): ``<root>/<bracket>/`` holds the source exposures and
  ``<root>/<bracket>/fused/<method>.<ext>`` the fused results to score.
* ``batch``: the output folder of ``expokit batch --op fuse`` (its ``manifest.json``): each
  bracket's sources in SRC and the fused result of every method run into that folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingResourceError

_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".exr", ".hdr"}


@dataclass(frozen=True)
class EvalItem:
    """One source bracket and the fused images of each method.

    Attributes:
        name: bracket (scene, sequence) name.
        sources: the exposures, in name order.
        fused: ``{method: fused image file}``.
        mos: ``{method: mean opinion score}`` where the data set has them, else empty.
    """

    name: str
    sources: tuple[Path, ...]
    fused: dict[str, Path] = field(default_factory=dict)
    mos: dict[str, float] = field(default_factory=dict)


def _images_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_EXTS),
                  key=lambda p: p.name.lower())


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


#: Ma 2015's fused-image methods, in ``MOS.mat`` column order.
MA2015_METHODS = ("Gu12", "Li12", "Li13", "Mertens07", "Raman09", "Shutao Li12", "gsaverage",
                  "lsaverage")


def ma2015_sequence_folders(root: Path, sequences: list[str]) -> dict[str, Path]:
    """Map each sequence name of ``imgName.mat`` to its folder ``<Scene>_<origin>``.

    Folder names carry the image's origin after the last underscore and are spelled
    differently ("Belgium House", "Cadik Lamp", "Chinese_garden"): a folder matches when its
    scene part, without spaces/underscores and case, equals the sequence name or starts with
    it; exact matches win; every sequence must get exactly one folder.
    """
    folders = [p for p in (root / "source image sequences").iterdir() if p.is_dir()]
    scene = {p: _norm(p.name.rsplit("_", 1)[0]) for p in folders}
    out: dict[str, Path] = {}
    for seq in sequences:
        key = _norm(seq)
        found = [p for p in folders if scene[p] == key] or [
            p for p in folders if scene[p].startswith(key)]
        if len(found) != 1:
            raise InputError(f"ma2015 sequence {seq!r} matches {len(found)} source folders "
                             f"({', '.join(p.name for p in found) or 'none'}); expected one")
        out[seq] = found[0]
    return out


def load_ma2015(root: Path) -> list[EvalItem]:
    """The 17 sequences of Ma et al. 2015 with the 8 fused images each and their MOS."""
    from scipy import io as sio

    for need in ("MOS.mat", "imgName.mat", "fused images", "source image sequences"):
        if not (root / need).exists():
            raise InputError(f"{root} is not the Ma 2015 database: {need} is missing")
    mos = np.asarray(sio.loadmat(str(root / "MOS.mat"))["MOS"], dtype=np.float64)
    names = sio.loadmat(str(root / "imgName.mat"))["imgName"]
    rows = [[str(names[i, j][0]) for j in range(names.shape[1])] for i in range(names.shape[0])]
    sequences = [row[0].rsplit("_", 1)[0] for row in rows]
    for seq, row in zip(sequences, rows, strict=True):
        if row != [f"{seq}_{m}.png" for m in MA2015_METHODS]:
            raise InputError(f"imgName.mat row for {seq} is {row}: not the known method order")
    folders = ma2015_sequence_folders(root, sequences)
    items = []
    for i, seq in enumerate(sequences):
        fused = {m: root / "fused images" / f"{seq}_{m}.png" for m in MA2015_METHODS}
        items.append(EvalItem(seq, tuple(_images_in(folders[seq])), fused,
                              {m: float(mos[i, j]) for j, m in enumerate(MA2015_METHODS)}))
    return items


def load_mefb(root: Path) -> list[EvalItem]:
    """MEFB's scenes that have fused images, with every method's result (no MOS)."""
    fused_dir = root / "output" / "fused_images"
    if not (root / "input").is_dir() or not fused_dir.is_dir():
        raise InputError(f"{root} is not the MEFB layout: input/ or output/fused_images/ missing")
    inputs = {p.name.lower(): p for p in (root / "input").iterdir() if p.is_dir()}
    by_scene: dict[str, dict[str, Path]] = {}
    # Scene names contain underscores too (ICCV_10_DEM): take the longest matching prefix.
    prefixes = sorted(inputs, key=len, reverse=True)
    for f in _images_in(fused_dir):
        stem = f.stem.lower()
        scene = next((s for s in prefixes if stem.startswith(s + "_")), None)
        if scene is not None:
            by_scene.setdefault(inputs[scene].name, {})[f.stem[len(scene) + 1:]] = f
    return [EvalItem(scene, tuple(_images_in(inputs[scene.lower()])), dict(sorted(fused.items())))
            for scene, fused in sorted(by_scene.items())]


def load_folders(root: Path) -> list[EvalItem]:
    """Generic layout: one folder per bracket, fused results in its ``fused/`` subfolder."""
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        sources = _images_in(folder)
        if len(sources) < 2:
            continue
        fused_dir = folder / "fused"
        fused = {p.stem: p for p in _images_in(fused_dir)} if fused_dir.is_dir() else {}
        items.append(EvalItem(folder.name, tuple(sources), fused))
    if not items:
        raise InputError(f"{root} holds no bracket folders (a folder with >= 2 images each)")
    return items


def load_batch(root: Path) -> list[EvalItem]:
    """The brackets of an ``expokit batch`` output folder with each method's fused image.

    Items are named by their bracket (``trip/day1/IMG_1``); only fuse items that finished are
    taken, so failed brackets are not scored.
    """
    from ..batch import read_manifest

    manifest = read_manifest(root)
    src = Path(manifest["src"])
    by_bracket: dict[str, tuple[tuple[Path, ...], dict[str, Path]]] = {}
    for row in manifest["items"]:
        if row.get("op") != "fuse" or row.get("status") != "ok":
            continue
        sources = tuple(src / i["path"] for i in row["inputs"])
        entry = by_bracket.setdefault(row["bracket"], (sources, {}))
        entry[1][row["method"]] = root / row["output"]
    if not by_bracket:
        raise InputError(f"{root}/manifest.json lists no fused bracket that finished: run "
                         "expokit batch --op fuse into it first")
    return [EvalItem(name, sources, dict(sorted(fused.items())))
            for name, (sources, fused) in sorted(by_bracket.items())]


LAYOUTS: dict[str, Callable[[Path], list[EvalItem]]] = {
    "ma2015": load_ma2015,
    "mefb": load_mefb,
    "folders": load_folders,
    "batch": load_batch,
}


def detect_layout(root: Path) -> str:
    """``ma2015`` when ``MOS.mat`` is there, ``batch`` for ``manifest.json``, ``mefb`` for
    ``input/`` + ``output/``, else ``folders``."""
    if not root.is_dir():
        raise MissingResourceError(f"data set folder {root} does not exist")
    if (root / "MOS.mat").is_file():
        return "ma2015"
    if (root / "manifest.json").is_file():
        return "batch"
    if (root / "input").is_dir() and (root / "output" / "fused_images").is_dir():
        return "mefb"
    return "folders"


def load_dataset(root: str | Path, layout: str = "auto") -> tuple[str, list[EvalItem]]:
    """Items of the data set at ``root`` and the layout used."""
    path = Path(root)
    name = detect_layout(path) if layout == "auto" else layout
    if name not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; choose auto, " + ", ".join(LAYOUTS))
    return name, LAYOUTS[name](path)
