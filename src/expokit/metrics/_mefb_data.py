"""Reading the MEFB benchmark folder: MATLAB scores, fused images and their sources.

The layout is the one of MEFB's repository (see ``../shared/data/README.md``)::

    mefb/input/<scene>/<two image files>[, ev.txt]
    mefb/output/fused_images/<scene>_<method>.<ext>
    mefb/output/evaluation_metrics/evaluationMetrics.mat   (resultsMetrics: 100 x 21 x 20)
    mefb/output/information.txt                            (image, method and metric order)
    mefb/column_mapping.json                               (which method each column holds)

Names are matched case-insensitively (folders ``garage``/``tower``, files ``tower_A.jpg``,
``Lighthouse_a.png``) and every image file of a scene folder is a source, in name order
(``_A`` before ``_B``, MEFB's order).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingResourceError

#: MEFB's metric order (the third axis of ``resultsMetrics``).
MEFB_METRIC_ORDER = (
    "CE", "EN", "FMI", "NMI", "PSNR", "QNCIE", "TE", "AG", "EI", "QABF",
    "QP", "SD", "SF", "QC", "QW", "QY", "MEF-SSIM", "QCB", "QCV", "VIF",
)  # fmt: skip

_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


@dataclass(frozen=True)
class MefbTable:
    """MEFB's stored MATLAB scores with the names of their axes.

    Attributes:
        values: ``(images, stored columns, metrics)`` array of ``resultsMetrics``.
        images: scene names in row order (``information.txt``).
        methods: for each stored column, the method whose fused files produced it
            (``column_mapping.json``; the columns are permuted against ``information.txt``).
        excluded: ``(scene, method)`` pairs whose stored scores do not belong to the stored
            fused files.
    """

    values: np.ndarray
    images: tuple[str, ...]
    methods: tuple[str, ...]
    excluded: frozenset[tuple[str, str]]

    def score(self, scene: str, method: str, metric: str) -> float:
        """The stored MATLAB score of ``metric`` (MEFB name, e.g. ``"EN"``) for one pair."""
        row = self.images.index(scene)
        col = self.methods.index(method)
        return float(self.values[row, col, MEFB_METRIC_ORDER.index(metric)])


def _information(path: Path) -> tuple[list[str], list[str], list[str]]:
    sections: list[list[str]] = [[], [], []]
    part = -1
    for line in path.read_text(encoding="latin-1").splitlines():
        text = line.strip()
        if text.startswith("The image pa"):
            part = 0
        elif text.startswith("The methods are"):
            part = 1
        elif text.startswith("The metrics are"):
            part = 2
        elif text and part >= 0:
            sections[part].append(text)
    return sections[0], sections[1], sections[2]


def _excluded(note: str, methods: list[str]) -> frozenset[tuple[str, str]]:
    """Parse ``"images A and B for columns 0-15 ..."`` into (scene, method) pairs."""
    m = re.search(r"images\s+(.+?)\s+for columns\s+(\d+)\s*-\s*(\d+)", note)
    if not m:
        return frozenset()
    scenes = [s.strip() for s in re.split(r",|\band\b", m.group(1)) if s.strip()]
    cols = range(int(m.group(2)), int(m.group(3)) + 1)
    return frozenset((s, methods[c]) for s in scenes for c in cols)


def load_table(root: Path) -> MefbTable:
    """Read MEFB's stored scores under ``root`` (the ``mefb`` folder).

    Raises:
        MissingResourceError: if a file of the layout is absent.
    """
    import scipy.io

    mat = root / "output" / "evaluation_metrics" / "evaluationMetrics.mat"
    info = root / "output" / "information.txt"
    mapping = root / "column_mapping.json"
    for p in (mat, info, mapping):
        if not p.is_file():
            raise MissingResourceError(f"MEFB file {p} is absent: point the data root at a "
                                       "copy of the MEFB benchmark folder")
    values = np.asarray(scipy.io.loadmat(str(mat))["resultsMetrics"], dtype=np.float64)
    images, _, _ = _information(info)
    spec = json.loads(mapping.read_text())
    methods = list(spec["stored_column_to_method"])
    if values.shape[:2] != (len(images), len(methods)):
        raise InputError(
            f"{mat.name} holds {values.shape[0]}x{values.shape[1]} (image, method) scores but "
            f"{info.name} lists {len(images)} images and {mapping.name} {len(methods)} columns"
        )
    return MefbTable(values, tuple(images), tuple(methods),
                     _excluded(str(spec.get("exclude_pairs", "")), methods))


def source_paths(root: Path, scene: str) -> list[Path]:
    """The source exposures of ``scene``: every image file of its folder, in name order."""
    folders = {p.name.lower(): p for p in (root / "input").iterdir() if p.is_dir()}
    folder = folders.get(scene.lower())
    if folder is None:
        raise MissingResourceError(f"MEFB scene folder input/{scene} is absent under {root}")
    files = [p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_EXTS]
    return sorted(files, key=lambda p: p.name.lower())


@dataclass(frozen=True)
class MefbPair:
    """One (scene, method) pair with a fused file on disk."""

    scene: str
    method: str
    fused_path: Path
    source_paths: tuple[Path, ...]


def iter_pairs(
    root: Path,
    table: MefbTable,
    *,
    scenes: set[str] | None = None,
    methods: set[str] | None = None,
) -> Iterator[MefbPair]:
    """Every (scene, method) pair with a fused image, a stored score and no exclusion.

    Pairs come in the table's order (scene rows, then stored columns).
    """
    fused_dir = root / "output" / "fused_images"
    files = {p.stem.lower(): p for p in fused_dir.iterdir() if p.suffix.lower() in _IMAGE_EXTS}
    for scene in table.images:
        if scenes is not None and scene not in scenes:
            continue
        for method in table.methods:
            if methods is not None and method not in methods:
                continue
            path = files.get(f"{scene}_{method}".lower())
            if path is None or (scene, method) in table.excluded:
                continue
            yield MefbPair(scene, method, path, tuple(source_paths(root, scene)))
