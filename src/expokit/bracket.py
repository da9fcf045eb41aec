"""Exposure brackets: images of one scene with their exposure times, validated and sorted.

A :class:`Bracket` is what the HDR merge needs (images + times in seconds); the fusion path
needs only the images. :func:`group_brackets` splits a folder of shots into brackets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._checks import (
    Negative,
    check_distinct_frames,
    check_exposure_times,
    check_stack,
    to_float32,
)
from .color import srgb_to_linear
from .errors import InputError

if TYPE_CHECKING:
    from .io import ImageInfo

log = logging.getLogger(__name__)


class MissingExposureTimeError(InputError):
    """Files without an EXIF exposure time, with how to give the times.

    Attributes:
        missing: the files' names.
    """

    def __init__(self, missing: Sequence[str], how: str) -> None:
        self.missing = list(missing)
        more = f" (nor {len(missing) - 1} other file(s))" if len(missing) > 1 else ""
        super().__init__(f"{missing[0]} has no EXIF exposure time{more}: {how}")


@dataclass(frozen=True)
class Bracket:
    """A validated exposure stack, sorted from the shortest to the longest exposure.

    Attributes:
        images: ``(H, W, C)`` arrays of one size and dtype (see docs/conventions.md).
        exposure_times: float64 seconds, one per image, > 0 and distinct.
        paths: source file of each image (``None`` for arrays made in memory).
        times_estimated: True when :meth:`from_files` estimated the times from the pixels
            (some file had no EXIF time); the times are then relative, not seconds.

    Raises:
        InputError: fewer than two images, mixed sizes or bit depths, one frame given twice
            (same file or identical pixels), missing, zero or duplicate exposure times.

    >>> import numpy as np
    >>> b = Bracket([np.zeros((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8)], [0.5, 0.01])
    >>> b.exposure_times.tolist(), len(b)
    ([0.01, 0.5], 2)
    """

    images: Sequence[np.ndarray]
    exposure_times: Sequence[float] | np.ndarray
    paths: Sequence[Path | None] = field(default=())
    times_estimated: bool = False

    def __post_init__(self) -> None:
        paths = list(self.paths) if self.paths else [None] * len(self.images)
        if len(paths) != len(self.images):
            raise InputError(f"paths has {len(paths)} entries for {len(self.images)} images")
        names = [p if p is not None else f"#{i + 1}" for i, p in enumerate(paths)]
        images = check_stack(self.images, paths=names)
        check_distinct_frames(images, paths=names)
        times = check_exposure_times(self.exposure_times, len(images))
        order = np.argsort(times, kind="stable")
        object.__setattr__(self, "images", tuple(images[i] for i in order))
        object.__setattr__(self, "exposure_times", times[order])
        object.__setattr__(self, "paths", tuple(paths[i] for i in order))

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        return iter(zip(self.images, self.exposure_times.tolist(), strict=True))

    @property
    def exposure_values(self) -> np.ndarray:
        """Stops relative to the shortest exposure: ``log2(t / t_min)``."""
        return np.log2(self.exposure_times / self.exposure_times[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of every frame."""
        return tuple(self.images[0].shape)  # type: ignore[return-value]

    @classmethod
    def from_files(
        cls,
        paths: Sequence[str | os.PathLike[str]],
        exposure_times: Sequence[float] | None = None,
        *,
        estimate: bool = False,
        negative: Negative = "clip",
    ) -> Bracket:
        """Read a bracket from image files, with times from EXIF unless given.

        Args:
            paths: the frames, any order.
            exposure_times: seconds per path; default: EXIF ``ExposureTime``.
            estimate: when EXIF has no time, estimate relative times from the pixels
                (:func:`estimate_exposure_times`) instead of failing.
            negative: negative values in float files: ``"clip"`` (set to 0, with a warning) or
                ``"error"`` (see :func:`expokit.io.read_image`).

        Raises:
            InputError: unreadable file.
            MissingExposureTimeError: a file without an exposure time when neither
                ``exposure_times`` nor ``estimate`` is given (an :class:`InputError`).
        """
        from .io import read_exif, read_image

        files = [Path(p) for p in paths]
        if len(files) < 2:
            raise InputError(
                f"a bracket needs at least 2 images, got {len(files)}"
                + (f" ({files[0].name})" if files else "")
            )
        times = [read_exif(f).exposure_time for f in files] if exposure_times is None else []
        missing = [f.name for f, t in zip(files, times, strict=False) if t is None]
        if missing and not estimate:  # before any pixel is decoded
            raise MissingExposureTimeError(
                missing, "pass exposure_times (seconds, one per file) or estimate=True to "
                "estimate relative times from the pixels")
        images = [read_image(f, negative=negative) for f in files]
        estimated = exposure_times is None and bool(missing)
        if exposure_times is None:
            if missing:
                log.info("estimating exposure times from pixel values for %d files", len(files))
                exposure_times = estimate_exposure_times(images).tolist()
            else:
                exposure_times = [float(t) for t in times]  # type: ignore[arg-type]
        return cls(images, exposure_times, files, times_estimated=estimated)


#: Code range (normalised) whose pixels :func:`estimate_exposure_times` compares: away from the
#: noisy, quantised and sRGB-toe dark end and from the JPEG-compressed, soft-clipped top.
_ESTIMATE_RANGE = (0.1, 0.9)
#: Pixel-channel values two frames must share for their ratio to be measured.
_ESTIMATE_MIN_SHARED = 64


def estimate_exposure_times(images: Sequence[np.ndarray]) -> np.ndarray:
    """Estimate relative exposure times from pixel values alone.

    Frames are linearised with the sRGB curve (a guess where the camera response is unknown:
    an S-shaped camera tone curve makes the steps look larger, and no pixel statistic can
    tell them apart, see Grossberg & Nayar), channel by channel. For every pair of frames
    the log exposure ratio is the median of ``ln(lin_b / lin_a)`` over the pixel channels
    that both frames saw at codes 0.1..0.9; the log times are then the weighted least-squares
    fit to all pairs (weight ``sqrt(shared count)``), so that a pair with little overlap
    (3-stop steps) is supported by the others.

    Returns:
        float64 times relative to the darkest frame (which gets 1.0), in input order.

    Raises:
        InputError: when some frame shares no well-exposed pixels with any other (its ratio
            is unknowable).

    References:
        M. D. Grossberg and S. K. Nayar, "Determining the camera response from images: what
        is knowable?", IEEE TPAMI 25(11), 2003 (the exponential ambiguity).

    >>> from expokit.simulate import photograph, render_scene
    >>> est = estimate_exposure_times(photograph(render_scene(96, 128), [0.5, 0.125, 2]))
    >>> [round(float(v), 2) for v in np.log2(est)]
    [2.0, 0.0, 4.0]
    """
    imgs = check_stack(images)
    n = len(imgs)
    lo, hi = _ESTIMATE_RANGE
    small, logs = [], []
    for im in imgs:
        step = max(1, max(im.shape[:2]) // 512)
        f = to_float32(im[::step, ::step])
        small.append((f >= lo) & (f <= hi))
        logs.append(np.log(np.maximum(srgb_to_linear(f), 1e-12)))
    order = np.argsort([float(np.mean(lg)) for lg in logs])
    rows, rhs, weights = [], [], []
    for i in range(n):
        for j in range(i + 1, n):
            a, b = int(order[i]), int(order[j])
            both = small[a] & small[b]
            count = int(np.count_nonzero(both))
            if count < _ESTIMATE_MIN_SHARED:
                continue
            row = np.zeros(n)
            row[a], row[b] = -1.0, 1.0
            rows.append(row)
            rhs.append(float(np.median(logs[b][both] - logs[a][both])))
            weights.append(np.sqrt(count))
    _check_estimate_graph(rows, n)
    w = np.asarray(weights)
    lhs = np.vstack(rows + [np.eye(n)[order[0]]]) * np.append(w, w.max())[:, None]
    y = np.append(rhs, 0.0) * np.append(w, w.max())
    log_t = np.linalg.lstsq(lhs, y, rcond=None)[0]
    return np.exp(log_t - log_t[order[0]])


def _check_estimate_graph(rows: list[np.ndarray], n: int) -> None:
    """Raise InputError unless the measured frame pairs link every frame to every other."""
    group = list(range(n))  # union-find over frames

    def root(k: int) -> int:
        while group[k] != k:
            k = group[k]
        return k

    for row in rows:
        a, b = (int(k) for k in np.flatnonzero(row))
        group[root(a)] = root(b)
    parts: dict[int, list[int]] = {}
    for k in range(n):
        parts.setdefault(root(k), []).append(k + 1)
    if len(parts) > 1:
        listed = "; ".join(", ".join(map(str, p)) for p in sorted(parts.values()))
        raise InputError(
            f"the frames fall into {len(parts)} groups that share too few well-exposed pixels "
            f"(images {listed}), so their exposure ratio cannot be estimated: give the "
            "exposure times explicitly (--times) or drop the frames that are black or white"
        )


@dataclass(frozen=True)
class BracketSearch:
    """What :func:`find_brackets` found among a set of files.

    Attributes:
        groups: the brackets, each a list of paths in shot order.
        skipped: ``(path, reason)`` for every file that is in no bracket.
    """

    groups: list[list[Path]]
    skipped: list[tuple[Path, str]]


def frame_kind(info: ImageInfo) -> str | None:
    """The kind of bracket frame an :class:`~expokit.io.ImageInfo` describes, or None.

    ``"8-bit"`` / ``"16-bit"`` display-referred frames (PNG, JPEG, TIFF), ``"raw"`` camera
    files; ``None`` for radiance files (EXR, Radiance .hdr, float TIFF), which are results of
    a merge, not exposures of a bracket.
    """
    fmt, dtype = info.format, info.dtype
    if fmt == "raw":
        return "raw"
    if fmt in ("exr", "hdr") or dtype.startswith("float"):
        return None
    return "16-bit" if dtype == "uint16" else "8-bit"


def find_brackets(
    paths: Sequence[str | os.PathLike[str]],
    *,
    max_gap: float = 2.0,
    size: int | None = None,
) -> BracketSearch:
    """Split files into brackets: frames of one kind and size, then by capture time.

    A bracket is frames of one kind (8-bit, 16-bit or RAW; radiance files such as EXR and
    ``.hdr`` are never frames), one size and one channel count. Within such a set, shots are
    ordered by EXIF capture time (file name where it is missing) and a new bracket starts when
    the gap to the previous shot exceeds ``max_gap`` seconds, when an exposure time repeats
    within the current bracket, or when it already holds ``size`` shots.

    Args:
        paths: image files (headers are read, pixels are not decoded).
        max_gap: seconds between two shots beyond which they belong to different brackets.
        size: shots per bracket when the camera shot several brackets in a row.

    Returns:
        The brackets and, with a reason each, the files left out (radiance files, single
        shots, unreadable files).

    Raises:
        InputError: if ``size`` < 2.
    """
    from .errors import ExpokitError
    from .io import image_info

    if size is not None and size < 2:
        raise InputError(f"size must be >= 2 shots per bracket, got {size}")
    skipped: list[tuple[Path, str]] = []
    sets: dict[tuple[str, int, int, int], list[Path]] = {}
    for f in (Path(p) for p in paths):
        try:
            info = image_info(f)
        except ExpokitError as exc:
            skipped.append((f, f"not readable: {exc}"))
            continue
        kind = frame_kind(info)
        if kind is None:
            fmt = info.format.upper() if info.format in ("exr", "hdr") else "float TIFF"
            skipped.append((f, f"{fmt} radiance file, not an exposure"))
            continue
        sets.setdefault((kind, info.width, info.height, info.channels), []).append(f)
    groups: list[list[Path]] = []
    for (kind, width, height, _), files in sets.items():
        for g in _split_by_time(files, max_gap=max_gap, size=size):
            if len(g) < 2:
                skipped.append((g[0], f"single {kind} {width}x{height} shot: a bracket needs "
                                      "two or more exposures of one size and kind"))
            else:
                groups.append(g)
    groups.sort(key=lambda g: g[0].name)
    return BracketSearch(groups, skipped)


def _split_by_time(files: list[Path], *, max_gap: float, size: int | None
                   ) -> list[list[Path]]:
    from .io import read_exif

    info = []
    for f in files:
        ex = read_exif(f)
        stamp = ex.datetime_original
        info.append((None if stamp is None else stamp.timestamp(), f, ex.exposure_time))
    info.sort(key=lambda r: (r[0] if r[0] is not None else float("inf"), r[1].name))
    groups: list[list[tuple[float | None, Path, float | None]]] = []
    for rec in info:
        cur = groups[-1] if groups else None
        new = cur is None
        if cur is not None:
            prev_stamp = cur[-1][0]
            if rec[0] is not None and prev_stamp is not None and rec[0] - prev_stamp > max_gap:
                new = True
            if rec[2] is not None and any(r[2] == rec[2] for r in cur):
                new = True
            if size is not None and len(cur) >= size:
                new = True
        if new:
            groups.append([rec])
        else:
            cur.append(rec)  # type: ignore[union-attr]
    return [[r[1] for r in g] for g in groups]


def group_brackets(
    paths: Sequence[str | os.PathLike[str]],
    *,
    max_gap: float = 2.0,
    size: int | None = None,
) -> list[list[Path]]:
    """Split a series of shots into brackets (the groups of :func:`find_brackets`).

    Returns:
        Lists of paths, one per bracket, each in shot order; files in no bracket (single
        shots, radiance files) are dropped with a log message.
    """
    found = find_brackets(paths, max_gap=max_gap, size=size)
    for f, why in found.skipped:
        log.info("%s skipped: %s", f.name, why)
    return found.groups


def bracket_frames(paths: Sequence[str | os.PathLike[str]]) -> BracketSearch:
    """The one bracket among ``paths`` (e.g. a folder's files), with what was left out.

    Radiance files (``memorial.hdr`` beside Debevec's PNGs) and frames of another size or kind
    are left out with their reason.

    Raises:
        InputError: if the files hold no bracket, or several (name them so the caller can pick).
    """
    found = find_brackets(paths, max_gap=float("inf"))
    if not found.groups:
        why = "; ".join(f"{f.name}: {r}" for f, r in found.skipped[:3])
        raise InputError(f"no bracket among {len(paths)} file(s) ({why}): a bracket is two or "
                         "more exposures of one size and kind")
    if len(found.groups) > 1:
        listed = "; ".join(f"{g[0].name}..{g[-1].name} ({len(g)} frames)" for g in found.groups)
        raise InputError(f"the files hold {len(found.groups)} brackets ({listed}): give the "
                         "frames of one bracket")
    return found


def read_hdrgen_list(path: str | os.PathLike[str]) -> tuple[list[str], list[float]]:
    r"""File names and shutter times of an HDRgen-style list (``name seconds`` per line).

    Lines starting with ``#`` are comments; times may be fractions such as ``1/250``. This is
    the format of Debevec's ``memorial.hdr_image_list.txt``.

    Raises:
        InputError: a line that is not ``name time`` or a time that is not a number.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "list.txt"
    >>> _ = p.write_text("# shots\na.ppm 1/4\nb.ppm 2\n")
    >>> read_hdrgen_list(p)
    (['a.ppm', 'b.ppm'], [0.25, 2.0])
    """
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise InputError(f"{file} cannot be read: {exc.strerror}") from exc
    names, times = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            if len(parts) < 2:
                raise ValueError
            times.append(float(Fraction(parts[1])))
        except (ValueError, ZeroDivisionError) as exc:
            raise InputError(f"{file.name} line {number}: expected 'file seconds' such as "
                             f"'img1.png 1/60', got {line!r}") from exc
        names.append(parts[0])
    return names, times


def parse_times(text: str | None, count: int, *, name: str = "times") -> list[float] | None:
    """Exposure times from text such as ``"1/60,1/15,0.25"``, in seconds.

    Args:
        text: comma-separated seconds, fractions allowed; ``None`` passes through.
        count: how many images the times are for.
        name: how messages name the text (the CLI passes ``"--times"``).

    Returns:
        One time per image, or ``None`` when ``text`` is ``None``.

    Raises:
        InputError: for a value that is not a number, or a count that does not match.

    >>> parse_times("1/60, 1/15,0.25", 3)
    [0.016666666666666666, 0.06666666666666667, 0.25]
    """
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        times = [float(Fraction(p)) for p in parts]
    except (ValueError, ZeroDivisionError) as exc:
        raise InputError(f"{name} {text!r} is not a comma-separated list of seconds "
                         "such as 1/60,1/15,1/4") from exc
    if len(times) != count:
        raise InputError(f"{name} gives {len(times)} value(s) for {count} image(s)")
    return times


def times_from_list(list_file: str | os.PathLike[str], paths: Sequence[Path], *,
                    only_listed: bool = False) -> tuple[list[Path], list[float]]:
    """The exposure time of each path from an HDRgen list (:func:`read_hdrgen_list`).

    Files are matched by stem, case-insensitively, so ``memorial0061.png`` takes the time of
    the list's ``memorial0061.ppm``.

    Args:
        list_file: the list, ``name seconds`` per line.
        paths: the image files.
        only_listed: leave out files the list does not name (the paths came from a folder)
            instead of refusing them.

    Returns:
        The paths kept and their times in seconds, in the order of ``paths``.

    Raises:
        InputError: for a file the list gives no time for (unless ``only_listed``).
    """
    list_path = Path(list_file)
    names, seconds = read_hdrgen_list(list_path)
    by_stem = {Path(n).stem.lower(): t for n, t in zip(names, seconds, strict=True)}
    files = [Path(p) for p in paths]
    if only_listed:
        files = [p for p in files if p.stem.lower() in by_stem]
    missing = [p.name for p in files if p.stem.lower() not in by_stem]
    if missing:
        raise InputError(f"{list_path.name} lists no time for {missing[0]}"
                         + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return files, [by_stem[p.stem.lower()] for p in files]


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    from .io import READ_EXTS

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder")
    return sorted(p for p in root.iterdir() if p.suffix.lower() in READ_EXTS and p.is_file())
