"""One item of a batch run, start to end: what a worker process runs.

:func:`run_task` reads the item's inputs, runs the operation with the same library calls, in
the same order, as the single-bracket command (``expokit fuse``, ``merge``, ``correct``), so
both give identical pixels (tests/test_batch.py compares them), writes the output atomically,
then its record, and returns the record. It never raises for a bad bracket: the error becomes
the record's ``error``, so one bad bracket never stops the others.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExpokitError
from .manifest import input_stats, now, record_path, write_json


def _aligned(frames: list[np.ndarray], paths: list[Path], method: str) -> list[np.ndarray]:
    """The frames aligned by ``method`` and cropped to the area all of them cover (as the
    ``--align`` option of the commands)."""
    if method == "none":
        return frames
    from ..align import align

    return align(frames, method=method, paths=paths).common_area()  # type: ignore[arg-type]


def _masks(mask_color: str | None, frames: list[np.ndarray]) -> list[np.ndarray] | None:
    if mask_color is None:
        return None
    from ..hdr import invalid_mask, parse_marker

    marker = parse_marker(mask_color)
    return [invalid_mask(f, marker=marker) for f in frames]


def _read_frames(paths: list[Path], negative: Any) -> list[np.ndarray]:
    from .._checks import check_distinct_frames
    from ..io import read_image

    frames = [read_image(p, negative=negative) for p in paths]
    check_distinct_frames(frames, paths=paths)
    return frames


def _exif(path: Path) -> bytes | None:
    from ..io import read_exif

    return read_exif(path).exif_bytes


def do_fuse(paths: list[Path], output: Path, params: dict[str, Any]) -> None:
    """``expokit fuse``'s steps: read, align, fill masked pixels, fuse, write."""
    from ..fusion import fuse
    from ..io import write_image

    frames = _aligned(_read_frames(paths, params["negative"]), paths, params["align"])
    masks = _masks(params["mask_color"], frames)
    if masks is not None:
        from ..fusion.masks import fill_masked

        frames = fill_masked(frames, masks)
    fused = fuse(frames, params["method"], paths=paths, **params["options"])
    write_image(output, fused, bit_depth=params["bit_depth"], exif=_exif(paths[0]), inputs=paths)


def do_merge(paths: list[Path], output: Path, params: dict[str, Any]) -> None:
    """``expokit merge``'s steps (exposure times from EXIF or estimated): read, align,
    calibrate, merge, write."""
    from ..bracket import Bracket, MissingExposureTimeError
    from ..hdr import calibrate_and_merge
    from ..io import write_image

    try:
        bracket = Bracket.from_files(paths, estimate=params["estimate_times"],
                                     negative=params["negative"])
    except MissingExposureTimeError as exc:
        raise MissingExposureTimeError(
            exc.missing, "rerun with --estimate-times to estimate relative times, or merge "
            "this bracket alone with expokit merge --times") from None
    shots = [Path(p) for p in bracket.paths if p is not None]  # from_files sorts the shots
    frames = _aligned(list(bracket.images), shots, params["align"])
    calibrate = params["calibrate"]
    radiance = calibrate_and_merge(
        frames, list(bracket.exposure_times), params["method"],
        calibration=None if calibrate == "linear" else calibrate,
        calibration_options=params["calibration"], mask=_masks(params["mask_color"], frames),
        deghost=params["deghost"], **params["options"])
    write_image(output, radiance, inputs=paths)


def do_correct(paths: list[Path], output: Path, params: dict[str, Any]) -> None:
    """``expokit correct``'s steps for one photo: read, correct, write at the input's depth."""
    from ..correct import correct_exposure
    from ..io import read_image, write_image

    (path,) = paths
    img = read_image(path)
    ref = read_image(params["reference"]) if params["reference"] is not None else None
    fixed = correct_exposure(img, reference=ref, ev=params["ev"], weights=params["weights"])
    depth = 16 if img.dtype == np.uint16 else 8
    write_image(output, fixed, bit_depth=depth if output.suffix.lower() in (
        ".png", ".tif", ".tiff") else None, exif=_exif(path), inputs=paths)


OPERATIONS = {"fuse": do_fuse, "merge": do_merge, "correct": do_correct}


def _where() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"local pid {os.getpid()}"


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Bound the methods' threads (``$EXPOKIT_THREADS``) and OpenCV's to ``n`` for one item,
    and put both back afterwards (a serial run happens in the caller's process)."""
    if n is None:
        yield
        return
    import cv2

    old_env, old_cv = os.environ.get("EXPOKIT_THREADS"), cv2.getNumThreads()
    os.environ["EXPOKIT_THREADS"] = str(n)
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(old_cv)
        if old_env is None:
            os.environ.pop("EXPOKIT_THREADS", None)
        else:
            os.environ["EXPOKIT_THREADS"] = old_env


def error_line(exc: BaseException) -> str:
    """An exception as the one line a manifest row and the end-of-run summary show."""
    text = str(exc) if isinstance(exc, ExpokitError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def blank_row(task: dict[str, Any]) -> dict[str, Any]:
    """The manifest row of ``task`` before it has run: no inputs read, no output, failed."""
    return {"key": task["key"], "bracket": task["bracket"], "op": task["op"],
            "method": task["method"], "params": task["params"], "inputs": [],
            "output": None, "output_size": None, "output_sha256": None,
            "status": "failed", "error": None}


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Do one item and return its manifest row (also written to its record file first).

    Args:
        task: ``src``, ``dst`` (absolute folders), ``key``, ``bracket``, ``op``, ``method``,
            ``inputs`` (relative to src), ``params``, ``threads`` (or None) and ``known``
            (earlier input entries, to skip re-hashing unchanged files).
    """
    from .. import __version__

    start = time.perf_counter()
    src, dst = Path(task["src"]), Path(task["dst"])
    row = blank_row(task)
    try:
        known = {i["path"]: i for i in task.get("known") or []}
        row["inputs"] = input_stats(src, task["inputs"], hashes=known)
        out = dst / task["key"]
        out.parent.mkdir(parents=True, exist_ok=True)
        with _threads(task.get("threads")):
            OPERATIONS[task["op"]]([src / p for p in task["inputs"]], out, task["params"])
        from ..nn.runtime import file_sha256

        row.update(output=task["key"], output_size=out.stat().st_size,
                   output_sha256=file_sha256(out), status="ok")
    except MemoryError:
        row["error"] = "out of memory: give the workers more memory or use fewer of them"
    except Exception as exc:  # noqa: BLE001 - a bad bracket is reported, never raised
        row["error"] = error_line(exc)
    row.update(seconds=round(time.perf_counter() - start, 3), worker=_where(),
               finished=now(), expokit=__version__)
    write_json(record_path(dst, task["key"]), row)
    return row
