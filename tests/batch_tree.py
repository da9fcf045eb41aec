"""A small photo tree for the batch tests: brackets with EXIF times and capture times, a bracket
without EXIF, a bracket with a broken file, a single shot and a radiance file."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from expokit.io import write_image
from expokit.simulate import photograph, render_scene

TIMES = (Fraction(1, 64), Fraction(1, 8), Fraction(1, 1))


def save_shot(path: Path, img: np.ndarray, exposure: Fraction | None,
              when: datetime | None) -> Path:
    """A JPEG (or PNG) shot with ExposureTime and DateTimeOriginal when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    ifd = exif.get_ifd(0x8769)
    if exposure is not None:
        ifd[33434] = IFDRational(exposure.numerator, exposure.denominator)
    if when is not None:
        ifd[36867] = when.strftime("%Y:%m:%d %H:%M:%S")
    kwargs = {"quality": 95} if path.suffix == ".jpg" else {}
    Image.fromarray(img).save(path, exif=exif.tobytes(), **kwargs)
    return path


def bracket(folder: Path, stem: str, seed: int, start: datetime | None, *, size=(64, 96),
            ext: str = ".jpg", exif_times: bool = True) -> list[Path]:
    """Three shots of one synthetic scene, 1 s apart, 3 stops between them."""
    frames = photograph(render_scene(*size, seed=seed), [float(t) for t in TIMES])
    return [save_shot(folder / f"{stem}{i}{ext}", f, t if exif_times else None,
                      None if start is None else start + timedelta(seconds=i))
            for i, (f, t) in enumerate(zip(frames, TIMES, strict=True))]


def make_tree(root: Path, *, size=(64, 96)) -> dict[str, list[str]]:
    """Write the tree; return ``{bracket name: its inputs relative to root}`` for the good
    brackets, plus ``"bad"``: the bracket whose last file is truncated."""
    t0 = datetime(2026, 5, 1, 12, 0, 0)
    groups = {}
    # two brackets in one folder, 30 s apart: split by capture time as `info` does
    a = bracket(root / "trip" / "day1", "IMG_1", 1, t0, size=size)
    b = bracket(root / "trip" / "day1", "IMG_2", 2, t0 + timedelta(seconds=30), size=size)
    c = bracket(root / "trip" / "day2", "pano", 3, None, size=size, ext=".png", exif_times=False)
    d = bracket(root, "top", 4, t0, size=size)
    bad = bracket(root / "broken", "bad", 5, None, size=size, ext=".png", exif_times=False)
    data = bad[-1].read_bytes()
    bad[-1].write_bytes(data[: len(data) // 3])  # header intact, pixels cut off
    for g in (a, b, c, d, bad):
        rel = [p.relative_to(root).as_posix() for p in g]
        groups["bad" if g is bad else rel[0].rsplit(".", 1)[0]] = rel
    # a single shot and a radiance file: in no bracket
    save_shot(root / "trip" / "lonely.jpg", np.full((32, 48, 3), 128, np.uint8), None, None)
    write_image(root / "trip" / "day2" / "scene.exr", np.full((8, 8, 3), 0.5, np.float32))
    return groups
