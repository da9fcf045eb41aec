"""The ``expokit`` command line: a thin typer layer over the library.

Exit codes: 0 success, 1 internal error, 2 bad input or usage, 3 missing optional resource,
130 interrupted. Errors print one line on stderr, never a traceback (set EXPOKIT_DEBUG=1 to
see one).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from fractions import Fraction
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import track
from rich.table import Table

from .._checks import Negative as NegativePolicy
from ..errors import InputError, MissingResourceError

app = typer.Typer(
    name="expokit",
    help="Multi-exposure imaging: exposure fusion, HDR merge, tone mapping, alignment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        out.print(f"expokit {__version__}", highlight=False)
        raise typer.Exit()


class _WarningLines(logging.Handler):
    """The library's logged warnings as one ``warning: ...`` line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        err.print(f"[yellow]warning:[/] {escape(record.getMessage())}", highlight=False,
                  soft_wrap=True)


def _show_warnings() -> None:
    lib = logging.getLogger("expokit")
    if not any(isinstance(h, _WarningLines) for h in lib.handlers):
        handler = _WarningLines(logging.WARNING)
        lib.addHandler(handler)


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_version,
        is_eager=True)] = False) -> None:
    """Multi-exposure imaging: exposure fusion, HDR merge, tone mapping, alignment."""
    _show_warnings()


EXIT_INTERNAL, EXIT_INPUT, EXIT_MISSING, EXIT_INTERRUPT = 1, 2, 3, 130


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Turn expokit's errors into one stderr line and a meaningful exit code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except InputError as exc:
            raise _fail(str(exc), EXIT_INPUT) from None
        except MissingResourceError as exc:
            raise _fail(str(exc), EXIT_MISSING) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_INTERRUPT) from None
        except MemoryError:
            raise _fail("out of memory: try fewer or smaller images", EXIT_INTERNAL) from None
        except Exception as exc:  # noqa: BLE001 - last line of defence for a CLI
            if os.environ.get("EXPOKIT_DEBUG"):
                raise
            raise _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with "
                        "EXPOKIT_DEBUG=1 for a traceback and report it", EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


# --- shared helpers ------------------------------------------------------------------------
def parse_times(text: str | None, count: int) -> list[float] | None:
    """``"1/60,1/15,0.25"`` -> seconds; None passes through."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        times = [float(Fraction(p)) for p in parts]
    except (ValueError, ZeroDivisionError) as exc:
        raise InputError(f"--times {text!r} is not a comma-separated list of seconds "
                         "such as 1/60,1/15,1/4") from exc
    if len(times) != count:
        raise InputError(f"--times gives {len(times)} value(s) for {count} image(s)")
    return times


def times_from_list(list_file: Path, paths: list[Path], *, only_listed: bool
                    ) -> tuple[list[Path], list[float]]:
    """Exposure time of each path from an HDRgen list, matched by file stem.

    With ``only_listed`` (the paths came from a folder) files the list does not name are
    left out instead of being an error.
    """
    from ..bracket import read_hdrgen_list

    names, seconds = read_hdrgen_list(list_file)
    by_stem = {Path(n).stem.lower(): t for n, t in zip(names, seconds, strict=True)}
    if only_listed:
        paths = [p for p in paths if p.stem.lower() in by_stem]
    missing = [p.name for p in paths if p.stem.lower() not in by_stem]
    if missing:
        raise InputError(f"{list_file.name} lists no time for {missing[0]}"
                         + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return paths, [by_stem[p.stem.lower()] for p in paths]


def check_output(output: Path, inputs: list[Path], *, overwrite: bool) -> None:
    """Refuse, before any work, an unknown output format, an output that is an input, or
    (unless ``overwrite``) an output that exists."""
    from ..io import check_output_path

    check_output_path(output, inputs=inputs)
    if not overwrite and output.exists():
        raise InputError(f"{output} exists: pass --overwrite to replace it, or choose another "
                         "name with -o")


Overwrite = Annotated[bool, typer.Option(help="Replace output files that exist.")]


def negative_policy(value: str) -> NegativePolicy:
    """``--negative`` as the library's policy name (see docs/conventions.md)."""
    if value not in ("clip", "error"):
        raise InputError(f"--negative {value!r}: choose clip (set negative values to 0, with a "
                         "warning) or error (refuse the file)")
    return value  # type: ignore[return-value]


def read_frames(paths: list[Path], negative: str = "clip") -> list[np.ndarray]:
    """Read the frames of a bracket, refusing one exposure given twice (identical pixels)."""
    from .._checks import check_distinct_frames
    from ..io import read_image

    policy = negative_policy(negative)
    if len(paths) > 1:
        frames = [read_image(p, negative=policy) for p in track(
            paths, description="reading", console=err, transient=True)]
    else:
        frames = [read_image(p, negative=policy) for p in paths]
    check_distinct_frames(frames, paths=paths)
    return frames


def expand(paths: list[Path]) -> list[Path]:
    """A single folder argument means every image file in it."""
    from ..bracket import list_images

    if len(paths) == 1 and paths[0].is_dir():
        files = list_images(paths[0])
        if not files:
            subs = sum(1 for p in paths[0].iterdir() if p.is_dir())
            raise InputError(f"{paths[0]} holds no image files" + (
                f" (it holds {subs} folder(s): give one of them)" if subs else ""))
        return files
    for p in paths:
        if not p.exists():
            raise InputError(f"{p} does not exist: check the path (or quote names with spaces)")
        if p.is_dir():
            raise InputError(f"{p} is a folder: give either one folder or image files")
    return paths


def bracket_paths(paths: list[Path]) -> list[Path]:
    """The frames of one bracket: a folder's bracket (saying what was left out), or the files.

    A folder may hold other files (Debevec's ``memorial.hdr`` beside its PNGs): only frames of
    one size and kind are taken. Files named one by one are taken as given, but never twice.
    """
    from ..bracket import bracket_frames

    files = expand(paths)
    if len(paths) == 1 and paths[0].is_dir():
        found = bracket_frames(files)
        for f, why in found.skipped:
            err.print(f"  skipped {f.name}: {why}", highlight=False, markup=False)
        return found.groups[0]
    seen: dict[Path, Path] = {}
    for p in files:
        key = p.resolve()
        if key in seen:
            raise InputError(f"{p} is given twice (as {seen[key]} too): give each exposure once")
        seen[key] = p
    return files


def require_exif_times(paths: list[Path]) -> None:
    """Fail, naming the options to use, when a frame has no EXIF exposure time."""
    from ..io import read_exif

    missing = [p.name for p in paths if read_exif(p).exposure_time is None]
    if missing:
        raise InputError(
            f"{missing[0]} has no EXIF exposure time"
            + (f" (nor {len(missing) - 1} other file(s))" if len(missing) > 1 else "")
            + ": give the times in seconds (--times 1/60,1/15,1/4 or --times-file LIST) or let "
            "expokit estimate relative times (--estimate-times)")


def parse_mask_color(text: str | None, frames: list[np.ndarray]) -> list[np.ndarray] | None:
    """``"0,0,255"`` -> one invalid-pixel mask per frame (None passes through)."""
    if text is None:
        return None
    from ..hdr import invalid_mask

    try:
        marker = tuple(int(v) for v in text.split(","))
    except ValueError as exc:
        raise InputError(f"--mask-color {text!r}: expected R,G,B such as 0,0,255") from exc
    return [invalid_mask(f, marker=marker) for f in frames]


def need_torch(what: str) -> None:
    """Fail with the extra to install when PyTorch (and safetensors) are absent."""
    from ..nn.runtime import require_torch

    require_torch(what)


def first_exif(path: Path) -> bytes | None:
    from ..io import read_exif

    return read_exif(path).exif_bytes


# --- commands ------------------------------------------------------------------------------
Images = Annotated[list[Path], typer.Argument(help="Bracket frames (or one folder of them).",
                                              show_default=False)]
Output = Annotated[Path, typer.Option("--output", "-o", help="Output file; format from suffix.")]
Negative = Annotated[str, typer.Option(
    help="Negative values in float files (EXR, float TIFF): clip (set to 0, with a warning "
    "that counts them) or error (refuse the file).")]


@app.command()
@handle_errors
def fuse(
    images: Images,
    output: Output,
    contrast: Annotated[float, typer.Option(help="Contrast weight exponent.")] = 1.0,
    saturation: Annotated[float, typer.Option(help="Saturation weight exponent.")] = 1.0,
    exposure: Annotated[float, typer.Option(help="Well-exposedness weight exponent.")] = 1.0,
    sigma: Annotated[float, typer.Option(help="Well-exposedness Gaussian width.")] = 0.2,
    align: Annotated[str, typer.Option(help="Align first: none, mtb or homography.")] = "none",
    bit_depth: Annotated[int | None, typer.Option(
        help="8 or 16 bits for PNG/TIFF output (default 8; EXR/HDR are float).")] = None,
    threads: Annotated[int | None, typer.Option(help="Worker threads.")] = None,
    method: Annotated[str, typer.Option(
        help="mertens (classical) or deepfuse (learned; needs the torch extra).")] = "mertens",
    weights: Annotated[str, typer.Option(
        help="deepfuse only: shipped weights name or a .safetensors file.")] = "deepfuse",
    tile: Annotated[int, typer.Option(help="deepfuse only: tile size in pixels.")] = 512,
    mask_color: Annotated[str | None, typer.Option(
        help="R,G,B code value marking invalid pixels, e.g. 0,0,255: they are filled from the "
             "nearest exposure that has them before fusing.")] = None,
    negative: Negative = "clip",
    overwrite: Overwrite = False,
) -> None:
    """Fuse a bracket into one well-exposed image (Mertens exposure fusion or DeepFuse).

    Example: expokit fuse IMG_1.jpg IMG_2.jpg IMG_3.jpg -o fused.jpg
    """
    from ..io import write_image

    if method not in ("mertens", "deepfuse"):
        raise InputError(f"--method {method!r} is not known: use mertens or deepfuse")
    paths = bracket_paths(images)
    check_output(output, paths, overwrite=overwrite)
    frames = read_frames(paths, negative)
    frames = _maybe_align(frames, paths, align)
    masks = parse_mask_color(mask_color, frames)
    if masks is not None:
        from ..fusion.masks import fill_masked

        err.print(f"  masked pixels filled: {sum(int(m.sum()) for m in masks):,}",
                  highlight=False)
        frames = fill_masked(frames, masks)
    with err.status(f"fusing ({method})"):
        if method == "deepfuse":
            need_torch("--method deepfuse")
            from ..fusion.deepfuse import fuse_deepfuse

            fused = fuse_deepfuse(frames, weights=weights, tile=tile, threads=threads,
                                  paths=paths)
        else:
            from ..fusion import fuse_mertens

            fused = fuse_mertens(frames, contrast_weight=contrast, saturation_weight=saturation,
                                 exposure_weight=exposure, sigma=sigma, threads=threads,
                                 paths=paths)
    write_image(output, fused, bit_depth=bit_depth, exif=first_exif(paths[0]), inputs=paths)
    err.print(f"wrote {output} ({fused.shape[1]}x{fused.shape[0]}, fused from {len(paths)} "
              "exposures)")


def _maybe_align(frames: list[np.ndarray], paths: list[Path], method: str) -> list[np.ndarray]:
    if method == "none":
        return frames
    from ..align import align

    with err.status(f"aligning ({method})"):
        res = align(frames, method=method, paths=paths)  # type: ignore[arg-type]
    for p, r in zip(paths, res.residuals, strict=True):
        err.print(f"  aligned {p.name}: residual {r:.3g}", highlight=False)
    top, bottom, left, right = res.crop_box()
    h, w = frames[0].shape[:2]
    if bottom - top < 2 or right - left < 2:
        raise InputError("after alignment the frames share no common area: they may not show "
                         "the same scene")
    if (top, bottom, left, right) != (0, h, 0, w):
        err.print(f"  cropped to the area every frame covers: {right - left}x{bottom - top} "
                  f"(from {w}x{h})", highlight=False)
    return [np.ascontiguousarray(im) for im in res.crop()]


@app.command()
@handle_errors
def merge(
    images: Images,
    output: Output,
    times: Annotated[str | None, typer.Option(
        help="Exposure times in seconds, comma-separated (default: EXIF).")] = None,
    times_file: Annotated[Path | None, typer.Option(
        help="HDRgen-style list 'file seconds' per line (e.g. memorial.hdr_image_list.txt).")]
    = None,
    estimate_times: Annotated[bool, typer.Option(
        help="Estimate relative times from pixels when EXIF has none.")] = False,
    calibrate: Annotated[str, typer.Option(
        help="Camera response: debevec, robertson (needs ~1-stop steps) or linear.")] = "debevec",
    curves: Annotated[str, typer.Option(
        help="debevec calibration: shared (one curve for R, G, B; robust for JPEG brackets) or "
             "separate (one per channel, e.g. film scans such as Debevec's Memorial).")]
    = "shared",
    method: Annotated[str, typer.Option(
        help="Merge: debevec (log-domain average) or robertson (linear).")] = "debevec",
    weighting: Annotated[str | None, typer.Option(
        help="Weighting: triangle, gaussian, uniform, tent_clipped (default: the method's, "
             "tent_clipped for debevec, gaussian for robertson).")]
    = None,
    deghost: Annotated[bool, typer.Option(help="Suppress moving content (ghosts).")] = False,
    align: Annotated[str, typer.Option(help="Align first: none, mtb or homography.")] = "none",
    mask_color: Annotated[str | None, typer.Option(
        help="R,G,B code value marking invalid pixels, e.g. 0,0,255.")] = None,
    negative: Negative = "clip",
    overwrite: Overwrite = False,
) -> None:
    """Merge a bracket into a linear HDR radiance map (.exr, .hdr or float .tif).

    Example: expokit merge shots/ -o scene.exr --calibrate debevec --deghost
    """
    from ..bracket import Bracket
    from ..hdr import MERGERS, calibrate_debevec, calibrate_robertson
    from ..io import write_image

    paths = bracket_paths(images)
    check_output(output, paths, overwrite=overwrite)
    if output.suffix.lower() not in (".exr", ".hdr", ".tif", ".tiff"):
        raise InputError(f"output {output.name}: HDR radiance needs .exr, .hdr or .tif")
    if calibrate not in ("robertson", "debevec", "linear"):
        raise InputError(f"--calibrate {calibrate!r}: choose debevec, robertson or linear")
    if curves not in ("shared", "separate"):
        raise InputError(f"--curves {curves!r}: choose shared or separate")
    if method not in MERGERS:
        raise InputError(f"--method {method!r}: choose " + " or ".join(sorted(MERGERS)))
    t = parse_times(times, len(paths))
    if times_file is not None:
        if t is not None:
            raise InputError("give either --times or --times-file, not both")
        from_folder = len(images) == 1 and images[0].is_dir()
        paths, t = times_from_list(times_file, paths, only_listed=from_folder)
    if t is None:
        if not estimate_times:
            require_exif_times(paths)
        bracket = Bracket.from_files(paths, estimate=estimate_times,
                                     negative=negative_policy(negative))
        if estimate_times:
            _report_estimated_times(bracket)
    else:
        bracket = Bracket(read_frames(paths, negative), t, paths)
    frames = _maybe_align(list(bracket.images), list(bracket.paths), align)  # type: ignore
    mask = parse_mask_color(mask_color, frames)
    response = None
    with err.status(f"calibrating ({calibrate})"):
        if calibrate == "debevec":
            response = calibrate_debevec(frames, bracket.exposure_times, mask=mask,
                                         channels=curves)  # type: ignore[arg-type]
        elif calibrate == "robertson":
            response = calibrate_robertson(frames, bracket.exposure_times, mask=mask)
    options = {} if weighting is None else {"weighting": weighting}
    with err.status(f"merging ({method})"):
        radiance = MERGERS[method](frames, bracket.exposure_times, response=response, mask=mask,
                                   deghost="reference" if deghost else None, **options)
    write_image(output, radiance, inputs=paths)
    lum = radiance.mean(axis=2)
    pos = lum[lum > 0]
    dr = float(np.percentile(pos, 99.9) / max(np.percentile(pos, 0.1), 1e-12)) if pos.size else 0
    err.print(f"wrote {output} ({radiance.shape[1]}x{radiance.shape[0]}, {len(paths)} "
              f"exposures, dynamic range {dr:,.0f}:1)")


def _report_estimated_times(bracket: Any) -> None:
    """One stderr line with the times ``--estimate-times`` found, if it found any (files with
    EXIF times keep them)."""
    from ..io import read_exif

    if all(read_exif(p).exposure_time is not None for p in bracket.paths):
        return
    times = bracket.exposure_times / bracket.exposure_times[0]
    steps = np.diff(np.log2(times))
    listed = ", ".join(f"{p.name} {t:.3g}" for p, t in zip(bracket.paths, times, strict=True))
    err.print(f"estimated exposure times (relative to the shortest, sRGB response assumed; give "
              f"--times if known): {listed}; steps "
              + ", ".join(f"{v:+.2f}" for v in steps) + " EV", highlight=False, soft_wrap=True)


def _tonemap_help() -> str:
    from ..tonemap import TONEMAPPERS, options_of

    return "; ".join(f"{m}: " + ", ".join(o for o in options_of(m) if o != "encoding")
                     for m in TONEMAPPERS)


@app.command()
@handle_errors
def tonemap(
    image: Annotated[Path, typer.Argument(help="Linear HDR image (.exr, .hdr, float .tif).")],
    output: Output,
    method: Annotated[str, typer.Option(
        help="reinhard, reinhard_local, drago or mantiuk.")] = "reinhard",
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-p",
        help="Operator parameter NAME=VALUE (repeatable). " + _tonemap_help())] = None,
    bit_depth: Annotated[int | None, typer.Option(
        help="8 or 16 bits for PNG/TIFF output (default 8; EXR/HDR are float).")] = None,
    negative: Negative = "clip",
    overwrite: Overwrite = False,
) -> None:
    """Tone-map a linear HDR image to a display-referred one.

    Example: expokit tonemap scene.exr -o scene.png --method drago -p bias=0.8
    """
    from ..io import read_image, write_image
    from ..tonemap import tonemap as run

    check_output(output, [image], overwrite=overwrite)
    opts: dict[str, float] = {}
    for item in option or []:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            opts[name.strip().replace("-", "_")] = float(value)
        except ValueError as exc:
            raise InputError(f"--option {item!r}: expected NAME=NUMBER such as key=0.18") \
                from exc
    radiance = read_image(image, negative=negative_policy(negative))
    if radiance.dtype != np.float32:
        raise InputError(f"{image.name} is a {radiance.dtype} display image, not linear HDR "
                         "radiance: tone-map .exr, .hdr or float TIFF files")
    with err.status(f"tone mapping ({method})"):
        ldr = run(radiance, method=method, **opts)  # type: ignore[arg-type]
    write_image(output, ldr, bit_depth=bit_depth, inputs=[image])
    err.print(f"wrote {output} ({method})")


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy a file byte for byte, atomically (temporary file in the target folder, renamed)."""
    import shutil

    from ..io import atomic_path

    try:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    except OSError as exc:
        raise InputError(f"cannot copy {src.name} to {dst} ({exc.strerror or exc}); check free "
                         "space and permissions") from None


#: The JPEG standard's example luminance quantisation table (ITU-T T.81 Annex K, Table K.1),
#: which libjpeg scales for its quality setting.
_JPEG_LUMA_TABLE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


def _jpeg_quality(path: Path) -> int | None:
    """The libjpeg quality (1-100) whose luminance table is closest to the file's; None if
    the file is not a JPEG. Cameras use their own tables: this is the equivalent setting."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            tables = getattr(im, "quantization", None) or {}
    except OSError:
        return None
    if 0 not in tables:
        return None
    target = sum(tables[0])
    base = np.array(_JPEG_LUMA_TABLE, np.int64)

    def total(q: int) -> int:
        scale = 5000 // q if q < 50 else 200 - 2 * q
        return int(np.clip((base * scale + 50) // 100, 1, 255).sum())

    return min(range(1, 101), key=lambda q: (abs(total(q) - target), -q))


def _frame_motion(m: np.ndarray, w: int, h: int) -> tuple[float, float, float]:
    """(dx, dy) of the frame's centre and the largest move of a corner, in pixels."""
    pts = np.array([[(w - 1) / 2, (h - 1) / 2], [0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]],
                   np.float64)
    q = np.hstack([pts, np.ones((5, 1))]) @ m.T
    d = q[:, :2] / q[:, 2:3] - pts
    return float(d[0, 0]), float(d[0, 1]), float(np.hypot(d[1:, 0], d[1:, 1]).max())


@app.command("align")
@handle_errors
def align_cmd(
    images: Images,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-d", help="Folder for aligned frames.")],
    method: Annotated[str, typer.Option(help="mtb (translation) or homography.")] = "mtb",
    reference: Annotated[int | None, typer.Option(
        help="Index (0-based) of the reference frame; default the middle one.")] = None,
    edges: Annotated[str, typer.Option(
        help="crop: cut every frame to the area all frames cover (one size, no made-up "
        "pixels); replicate: keep the full size and fill the border a moved frame leaves "
        "uncovered by repeating its nearest pixel.")] = "crop",
    quality: Annotated[int | None, typer.Option(
        help="JPEG quality (1-100) of frames that must be re-encoded; default: each "
        "file's own quality, estimated from its quantisation table.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Align the frames of a bracket and write them with their original names.

    A frame that needs no change (the reference, and any frame that did not move when no crop
    is needed) is copied byte for byte. Moved or cropped frames are written in their own
    format with their EXIF (JPEG at the source's own quality unless --quality says otherwise).
    The residual is the mean absolute greyscale difference to the reference after exposure
    matching, as a fraction of full scale: the same unit for every method.

    Example: expokit align IMG_*.jpg -d aligned/ --method homography
    """
    from ..align import align
    from ..io import write_image

    if edges not in ("crop", "replicate"):
        raise InputError(f"--edges {edges!r}: choose crop or replicate")
    if quality is not None and not 1 <= quality <= 100:
        raise InputError(f"--quality {quality}: give a JPEG quality from 1 to 100")
    paths = bracket_paths(images)
    targets = [out_dir / p.name for p in paths]
    for t in targets:
        check_output(t, paths, overwrite=overwrite)
    frames = read_frames(paths)
    with err.status(f"aligning ({method})"):
        res = align(frames, method=method, reference=reference, paths=paths,  # type: ignore
                    edges="replicate" if edges == "replicate" else "zero")
    h, w = frames[0].shape[:2]
    top, bottom, left, right = res.crop_box() if edges == "crop" else (0, h, 0, w)
    if bottom - top < 2 or right - left < 2:
        raise InputError("after alignment the frames share no common area: they may not show "
                         "the same scene (or use --edges replicate)")
    cropped = (top, bottom, left, right) != (0, h, 0, w)
    table = Table("frame", "dx", "dy", "move px", "residual", "written",
                  title=f"{method} alignment to {paths[res.reference].name}")
    largest = 0.0
    copy = []  # frames written as byte copies of their input
    qualities = []  # JPEG quality of each re-encoded frame
    for i, (p, m, r) in enumerate(zip(paths, res.transforms, res.residuals, strict=True)):
        dx, dy, move = _frame_motion(m, w, h)
        moved = not np.array_equal(m, np.eye(3))
        largest = max(largest, move)
        copy.append(not moved and not cropped)
        fmt = p.suffix.lower().lstrip(".").upper().replace("JPEG", "JPG")
        q = quality or (_jpeg_quality(p) if fmt == "JPG" and not copy[-1] else None) or 95
        qualities.append(q)
        if copy[-1]:
            action = "copied"
        else:
            action = "+".join((["moved"] if moved else []) + (["cropped"] if cropped else [])
                              ) + f", {fmt}" + (f" q{q}" if fmt == "JPG" else "")
        residual = "ref" if i == res.reference else "n/a" if np.isnan(r) else f"{r:.4f}"
        table.add_row(p.name, f"{dx:+.2f}", f"{dy:+.2f}", f"{move:.2f}", residual, action)
    out.print(table)

    def note(text: str) -> None:
        out.print(text, highlight=False, soft_wrap=True)

    note("residual: mean |grey difference| to the reference after exposure matching, as a "
         "fraction of full scale; move px: largest move of a corner")
    if all(np.array_equal(m, np.eye(3)) for m in res.transforms):
        note("edges: no frame moved; nothing to fill or crop")
    elif edges == "replicate":
        note(f"edges: border left uncovered by a moved frame (up to {largest:.1f} px) filled "
             "by repeating its nearest pixel")
    elif cropped:
        note(f"edges: every frame cropped to the area all frames cover, {right - left}x"
             f"{bottom - top} from x={left}, y={top} (was {w}x{h}); --edges replicate keeps "
             "the full size")
    else:
        note("edges: every moved frame still covers the whole picture; nothing cropped")
    for p, t, im, same, q in zip(paths, targets, res.images, copy, qualities, strict=True):
        if same:
            _copy_atomic(p, t)
        else:
            write_image(t, np.ascontiguousarray(im[top:bottom, left:right]),
                        exif=first_exif(p), quality=q, inputs=paths)
    copies = sum(copy)
    err.print(f"wrote {len(targets)} aligned frames to {out_dir} ({copies} copied unchanged, "
              f"{len(targets) - copies} re-encoded)")


@app.command()
@handle_errors
def info(
    paths: Annotated[list[Path], typer.Argument(help="Image files or one folder.")],
) -> None:
    """Describe images: size, bit depth, exposure; brackets found among them.

    Example: expokit info shots/
    """
    from ..bracket import find_brackets
    from ..io import image_info

    files = expand(paths)
    table = Table("file", "size", "channels", "depth", "exposure", "ISO", "f/")
    for f in files:
        i = image_info(f)
        t = i.exposure_time
        exp = "-" if t is None else (f"1/{1 / t:.0f} s" if t < 1 else f"{t:g} s")
        table.add_row(f.name, f"{i.width}x{i.height}", str(i.channels), f"{i.bit_depth}",
                      exp, "-" if i.iso is None else f"{i.iso:g}",
                      "-" if i.f_number is None else f"{i.f_number:g}")
    out.print(table)
    if len(files) > 1:
        found = find_brackets(files)
        if found.groups:
            out.print(f"{len(found.groups)} bracket(s): " + "; ".join(
                f"{g[0].name}..{g[-1].name} ({len(g)})" for g in found.groups),
                highlight=False, markup=False)
        else:
            out.print("no brackets: a bracket is two or more exposures of one size and kind",
                      highlight=False)
        for f, why in found.skipped:
            out.print(f"  not in a bracket: {f.name}: {why}", highlight=False, markup=False)


@app.command()
@handle_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the results.")] = Path(
        "demo"),
    size: Annotated[int, typer.Option(help="Image width in pixels.")] = 960,
) -> None:
    """Run the whole pipeline on a built-in synthetic scene (no download needed).

    Renders an HDR interior, photographs it as a 4-shot bracket, fuses it, calibrates the
    camera, merges to HDR, tone-maps, and writes everything plus comparison.png.

    Example: expokit demo --out demo/
    """
    from ..demo import run_demo

    results = run_demo(out_dir, width=size, console=err)
    table = Table("result", "file")
    for name, path in results.items():
        table.add_row(name, str(path))
    out.print(table)


def checkpoint_options(items: list[str] | None) -> dict[str, dict[str, object]]:
    """``["musiq=a.pth"]`` -> ``{"musiq": {"checkpoint": Path("a.pth")}}`` for ``score()``."""
    from ..metrics import METRICS

    options: dict[str, dict[str, object]] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        name = name.strip()
        if not sep or name not in METRICS or not METRICS[name].needs_checkpoint:
            learned = ", ".join(n for n, i in METRICS.items() if i.needs_checkpoint)
            raise InputError(f"--checkpoint {item!r} must be NAME=PATH with NAME one of "
                             f"{learned}")
        options[name] = {"checkpoint": Path(path)}
    return options


@app.command("score")
@handle_errors
def score_cmd(
    fused: Annotated[Path | None, typer.Argument(help="The image to score.")] = None,
    metrics: Annotated[str, typer.Option(
        "--metrics", "-m", help="Comma-separated metric names (see --list).")] = "mef_ssim",
    sources: Annotated[list[Path] | None, typer.Option(
        "--source", "-s", help="A source exposure (repeat for each).")] = None,
    reference: Annotated[Path | None, typer.Option(help="Reference image.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    list_metrics: Annotated[bool, typer.Option("--list", help="List the metrics.")] = False,
    checkpoints: Annotated[list[str] | None, typer.Option(
        "--checkpoint", help="Weights of a learned metric: NAME=PATH, e.g. "
        "musiq=musiq_koniq_ckpt.pth (repeatable).")] = None,
    negative: Negative = "clip",
) -> None:
    """Score one fused or restored image with quality metrics.

    Example: expokit score fused.png -s under.jpg -s over.jpg -m mef_ssim,qabf,en
    """
    import json

    from ..metrics import METRICS, score

    if list_metrics:
        table = Table("metric", "kind", "better", "range", "what")
        for name, info in METRICS.items():
            rng = "..".join("-inf" if i == 0 and v is None else "inf" if v is None else f"{v:g}"
                            for i, v in enumerate(info.range))
            what = info.description + (f" (needs --checkpoint {name}=PATH or "
                                       f"${info.checkpoint_env})" if info.needs_checkpoint
                                       else "")
            table.add_row(name, info.kind, "higher" if info.higher_is_better else "lower",
                          rng, what)
        out.print(table)
        return
    if fused is None:
        raise InputError("give the image to score (or --list to see the metrics)")
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    options = checkpoint_options(checkpoints)
    pair_only = [n for n in names if n in METRICS and METRICS[n].n_sources == 2]
    if pair_only and sources and len(sources) > 2:
        # Say which two shots the two-source metrics get (stderr: --json stays parseable).
        from ..io import read_image
        from ..metrics import extreme_pair

        dark, bright = extreme_pair([read_image(p, negative=negative_policy(negative))
                                     for p in sources])
        err.print(f"note: {', '.join(pair_only)}: scored with two of the {len(sources)} "
                  f"sources, the darkest ({sources[dark].name}) and the brightest "
                  f"({sources[bright].name})", highlight=False, markup=False, soft_wrap=True)
    values = score(fused, sources=sources or None, reference=reference, metrics=names,
                   options=options or None, negative=negative_policy(negative))
    if as_json:
        out.print_json(json.dumps(values))
        return
    table = Table("metric", "value")
    for k, v in values.items():
        table.add_row(k, f"{v:.6g}")
    out.print(table)


@app.command("eval")
@handle_errors
def eval_cmd(
    dataset: Annotated[Path, typer.Argument(help="Data set folder (ma2015, mefb or one "
                                            "folder per bracket).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    metrics: Annotated[str, typer.Option(
        "--metrics", "-m", help="Comma-separated metric names.")] = "mef_ssim,mef_ms_ssim",
    layout: Annotated[str, typer.Option(help="auto, ma2015, mefb or folders.")] = "auto",
    fuse_with: Annotated[str | None, typer.Option(
        "--fuse", help="Also fuse every bracket with these expokit methods, e.g. mertens.")]
    = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N brackets.")] = None,
    checkpoints: Annotated[list[str] | None, typer.Option(
        "--checkpoint", help="Weights of a learned metric: NAME=PATH (repeatable).")] = None,
) -> None:
    """Score every method's fused images of a data set: CSV, JSON, markdown table, plots.

    Resumable: rerun the same command after an interruption and finished rows are kept
    (failed ones are computed again). Each metric's means are over the images every method
    scored; the images a method lacks are named. Two-source metrics (qabf, ...) get each
    bracket's darkest and brightest shot.

    Example: expokit eval ../shared/data/ma2015 -o results/ -m mef_ssim,qabf --fuse mertens
    """
    import math

    from ..bench import compare, evaluate, fuse_items, load_dataset
    from ..bench.evaluate import missing_warnings, write_report
    from ..metrics import get_metric

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    kind, items = load_dataset(dataset, layout)
    if limit is not None:
        items = items[:limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    if fuse_with:
        methods = [m.strip() for m in fuse_with.split(",") if m.strip()]
        with err.status("fusing") as status:
            items = fuse_items(items, methods, out_dir / "fused", progress=status.update)
    total = sum(len(it.fused) for it in items)
    err.print(f"{kind}: {len(items)} brackets, {total} fused images, {len(names)} metrics")
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("scoring", total=total)
        rows = evaluate(items, names, out_dir / "results.csv",
                        advance=lambda: bar.advance(task),
                        options=checkpoint_options(checkpoints) or None)
    written = write_report(rows, items, names, out_dir)
    out.print((out_dir / "table.md").read_text(), markup=False, highlight=False)
    err.print("wrote " + ", ".join(str(p) for p in [out_dir / "results.csv", *written.values()]))
    # Say loudly what the means leave out; a metric that scored nothing is an error.
    comparison = compare(rows, names, items=items)
    for line in missing_warnings(comparison):
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    pairs = [m for m in names if get_metric(m).n_sources == 2]
    if pairs and any(len(it.sources) > 2 for it in items):
        err.print(f"note: {', '.join(pairs)}: scored with each bracket's darkest and "
                  "brightest shot (source_pairs in results.json)", highlight=False,
                  markup=False, soft_wrap=True)
    unscored = [m for m in names if not any(math.isfinite(v) for v in
                                            comparison[m].mean_all.values())]
    if unscored:
        why = next((r for r in rows if r.metric == unscored[0] and r.note.startswith("failed")),
                   None)
        raise InputError(f"{', '.join(unscored)} could not score any image"
                         + (f" (e.g. {why.image}/{why.method}: {why.note[8:]})" if why else "")
                         + f"; the results so far are in {out_dir}")

# --- learned models --------------------------------------------------------------------------
train_app = typer.Typer(help="Train a learned model (CPU by default, CUDA when present).",
                        no_args_is_help=True)
app.add_typer(train_app, name="train")

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="TOML config (default: the shipped one's defaults).")]
RunDir = Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoint, log.csv, "
                                      "config.toml.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a config key, e.g. --set loop.steps=200 (repeatable).")]
ResumeOpt = Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")]
ExportOpt = Annotated[Path | None, typer.Option(
    "--export", help="After training, export weights to this .safetensors file.")]


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["loop.steps=10", "data.patch=64"]`` -> ``{"loop.steps": 10, ...}`` (TOML values)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    result: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r} is not KEY=VALUE, e.g. --set loop.steps=200")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text  # a bare word is a string
        result[key.strip()] = value
    return result


def _train(kind: str, config: Path | None, out_dir: Path, resume: bool, overrides: list[str] | None,
           export: Path | None) -> None:
    need_torch(f"expokit train {kind}")
    if config is not None and not config.is_file():
        raise InputError(f"config {config} does not exist: give a TOML file such as "
                         f"configs/{kind}.toml")
    if kind == "deepfuse":
        from ..train.deepfuse import export_deepfuse as export_fn
        from ..train.deepfuse import train_deepfuse as train_fn
    else:
        from ..train.uec import export_uec as export_fn
        from ..train.uec import train_uec as train_fn
    result = train_fn(config, out_dir, resume=resume, overrides=parse_overrides(overrides))
    scores = ", ".join(f"{k} {v:.4f}" for k, v in result.val.items())
    err.print(f"trained {kind} to step {result.step} in {result.seconds:.0f} s"
              + (f"; validation: {scores}" if scores else "") + f"; run folder {out_dir}",
              markup=False)
    if export is not None:
        digest = export_fn(out_dir, export)
        err.print(f"exported {export} (sha256 {digest[:16]}...)", markup=False)


@train_app.command("deepfuse")
@handle_errors
def train_deepfuse_cmd(config: ConfigOpt = None, out_dir: RunDir = Path("runs/deepfuse"),
                       resume: ResumeOpt = True, overrides: SetOpt = None,
                       export: ExportOpt = None) -> None:
    """Train DeepFuse with the MEF-SSIM loss on MEFB pairs (minus Ma 2015) and simulated brackets.

    Example: expokit train deepfuse --config configs/deepfuse.toml --out runs/deepfuse
    """
    _train("deepfuse", config, out_dir, resume, overrides, export)


@train_app.command("uec")
@handle_errors
def train_uec_cmd(config: ConfigOpt = None, out_dir: RunDir = Path("runs/uec"),
                  resume: ResumeOpt = True, overrides: SetOpt = None,
                  export: ExportOpt = None) -> None:
    """Train UEC exposure correction on simulated multi-exposure sequences (no labels).

    Example: expokit train uec --config configs/uec.toml --out runs/uec
    """
    _train("uec", config, out_dir, resume, overrides, export)


def correct_targets(paths: list[Path], output: Path | None, *, several: bool) -> list[Path]:
    """Output paths for ``correct``: ``-o`` a file (one input) or a folder (several)."""
    if output is None:
        return [p.with_name(f"{p.stem}_corrected{p.suffix}") for p in paths]
    if output.is_dir() or (not output.exists() and not output.suffix):
        return [output / p.name for p in paths]
    if several:
        kind = "a file" if output.exists() else "a file name"
        raise InputError(f"-o {output} is {kind} but a folder or several images were given: "
                         "give a folder with -o (it is created if missing)")
    return [output]


@app.command()
@handle_errors
def correct(
    images: Annotated[list[Path], typer.Argument(help="Image(s) to correct, or one folder.",
                                                 show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Output file (one image) or folder (several); default: "
        "NAME_corrected.EXT beside each input.")] = None,
    reference: Annotated[Path | None, typer.Option(
        help="Correct toward this image's exposure.")] = None,
    ev: Annotated[float | None, typer.Option(
        help="Correct toward the default exposure shifted by EV stops.")] = None,
    weights: Annotated[str, typer.Option(
        help="Shipped weights name or a .safetensors file.")] = "uec",
    threads: Annotated[int | None, typer.Option(help="Worker threads.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Correct the exposure of photos with UEC, toward a reference image or an EV offset.

    Without --reference or --ev: a neutral, monotone correction toward the default exposure
    that leaves well-exposed photos alone and clips or flattens at most 1 % of the pixels that
    were fine (docs/uec_default.md). Output keeps the input's bit depth (8 or 16).

    Example: expokit correct dark.jpg -o fixed.jpg --reference nice.jpg
    """
    from ..io import read_image, write_image

    if reference is not None and ev is not None:
        raise InputError("give --reference or --ev, not both")
    need_torch("expokit correct")
    from ..correct import correct_exposure

    paths = expand(images)
    targets = correct_targets(paths, output, several=len(images) > 1 or images[0].is_dir())
    for t in targets:
        check_output(t, paths, overwrite=overwrite)
    if len(set(targets)) < len(targets):
        raise InputError("two inputs share a file name, so their outputs would collide: "
                         "correct them in separate runs")
    for folder in {t.parent for t in targets}:
        folder.mkdir(parents=True, exist_ok=True)
    ref = read_image(reference) if reference is not None else None
    for path, target in track(list(zip(paths, targets, strict=True)), description="correcting",
                              console=err, transient=True, disable=len(paths) < 2):
        img = read_image(path)
        fixed = correct_exposure(img, reference=ref, ev=ev, weights=weights, threads=threads)
        depth = 16 if img.dtype == np.uint16 else 8
        write_image(target, fixed, bit_depth=depth if target.suffix.lower() in (
            ".png", ".tif", ".tiff") else None, exif=first_exif(path), inputs=paths)
        err.print(f"wrote {target}", markup=False, highlight=False)


@app.command()
@handle_errors
def models() -> None:
    """List the learned models' weights shipped with expokit: data, scores, SHA-256."""
    need_torch("expokit models")
    from ..models.zoo import list_pretrained

    rows = list_pretrained()
    table = Table("name", "file", "scores")
    for row in rows:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in (row.get("scores") or {}).items()
                           if v is not None)
        table.add_row(str(row.get("name")), str(row.get("file")), scores)
    out.print(table)
    for row in rows:  # whole, on a line of its own, so no terminal width cuts it
        out.print(f"sha256 {row.get('sha256', '')}  {row.get('file')}", highlight=False,
                  markup=False, soft_wrap=True)
    for row in rows:
        data = row.get("data", "")
        if isinstance(data, dict):
            data = data.get("summary", "") or ", ".join(f"{k}: {v}" for k, v in data.items())
        out.print(f"[bold]{escape(str(row.get('name')))}[/] trained on: {escape(str(data))}",
                  highlight=False)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("[bold red]error:[/] interrupted")
        sys.exit(EXIT_INTERRUPT)
