"""What a batch run has to do: the items (one bracket or one photo each) found under SRC.

Brackets are grouped folder by folder exactly as ``expokit info`` groups the files it is given
(:func:`expokit.bracket.find_brackets` over the folder's images), so what ``info DIR`` lists as
brackets is what ``batch`` processes. Each item's output mirrors its folder under DST.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

#: The operations ``batch`` runs, one single-bracket command each.
OPS = ("fuse", "merge", "correct")

#: Output format per operation when none is chosen (correct keeps each photo's own format).
DEFAULT_FORMAT = {"fuse": "png", "merge": "exr"}


@dataclass(frozen=True)
class Item:
    """One unit of work: a bracket to fuse or merge, or a photo to correct.

    Attributes:
        key: the output's path relative to DST (posix separators); unique in a manifest.
        bracket: the item's name in reports: its folder relative to SRC and its first
            input's stem, e.g. ``trip/day1/IMG_0001``.
        op: ``fuse``, ``merge`` or ``correct``.
        method: the method's name (``mertens``, ``debevec``, ``uec``...).
        inputs: the input files relative to SRC, in shot order.
    """

    key: str
    bracket: str
    op: str
    method: str
    inputs: tuple[str, ...]

    @property
    def output(self) -> str:
        return self.key


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def walk_folders(src: Path, *, exclude: Path | None = None) -> list[Path]:
    """``src`` and every folder below it, sorted; hidden folders and ``exclude`` left out."""
    found = []
    skip = exclude.resolve() if exclude is not None else None
    for root, dirs, _files in os.walk(src):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip is None or (here / d).resolve() != skip))
        found.append(here)
    return found


def output_name(first: Path, op: str, method: str, fmt: str | None) -> str:
    """The output file name of an item whose first input is ``first``."""
    if op == "correct":
        return f"{first.stem}_corrected.{(fmt or first.suffix.lstrip('.')).lower()}"
    return f"{first.stem}_{method}.{(fmt or DEFAULT_FORMAT[op]).lower()}"


def plan_items(src: str | os.PathLike[str], op: str, method: str, *, fmt: str | None = None,
               exclude: str | os.PathLike[str] | None = None, max_gap: float = 2.0,
               bracket_size: int | None = None) -> tuple[list[Item], list[tuple[str, str]]]:
    """The items of a batch run over the tree at ``src``, and the files left out.

    Args:
        src: the root folder of the photos.
        op: one of :data:`OPS`.
        method: the method's name, part of each output name.
        fmt: output format (file suffix without the dot); default :data:`DEFAULT_FORMAT`.
        exclude: a folder not to walk (DST, when it lies inside SRC).
        max_gap, bracket_size: as ``max_gap`` and ``size`` of
            :func:`expokit.bracket.find_brackets` (and ``expokit info``'s options).

    Returns:
        ``(items, skipped)``: items in folder and name order; ``(path relative to SRC,
        reason)`` for every image file in no item.

    Raises:
        InputError: if ``src`` is not a folder or ``op`` is unknown.
    """
    from ..bracket import find_brackets, frame_kind, list_images
    from ..errors import ExpokitError
    from ..io import image_info

    root = Path(src)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder: give the folder that holds the photos")
    if op not in OPS:
        raise InputError(f"--op {op!r} is not known: use " + ", ".join(OPS))
    items: list[Item] = []
    skipped: list[tuple[str, str]] = []
    for folder in walk_folders(root, exclude=Path(exclude) if exclude is not None else None):
        files = list_images(folder)
        if not files:
            continue
        if op == "correct":
            groups = []
            for f in files:
                try:
                    kind = frame_kind(image_info(f))
                except ExpokitError as exc:
                    skipped.append((_rel(f, root), f"not readable: {exc}"))
                    continue
                if kind is None:
                    skipped.append((_rel(f, root), "radiance file: correct takes photos"))
                else:
                    groups.append([f])
        else:
            found = find_brackets(files, max_gap=max_gap, size=bracket_size)
            groups = found.groups
            skipped += [(_rel(f, root), why) for f, why in found.skipped]
        taken: dict[str, list[Path]] = {}
        for g in groups:
            name = output_name(g[0], op, method, fmt)
            if name in taken:  # IMG_1.jpg and IMG_1.png both first of a bracket
                skipped += [(_rel(f, root), f"its output {name} would overwrite that of "
                             f"{taken[name][0].name}'s bracket: rename one") for f in g]
                continue
            taken[name] = g
            folder_rel = _rel(folder, root)
            prefix = "" if folder_rel == "." else folder_rel + "/"
            items.append(Item(key=prefix + name, bracket=prefix + g[0].stem, op=op,
                              method=method, inputs=tuple(_rel(f, root) for f in g)))
    return items, skipped
