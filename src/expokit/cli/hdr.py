"""``expokit merge`` and ``expokit tonemap``: HDR radiance from a bracket, and back to display.

Calibrations, merges and tone-mapping operators come from the library's tables
(:data:`expokit.hdr.CALIBRATORS`, :data:`expokit.hdr.MERGERS`,
:data:`expokit.tonemap.TONEMAPPERS`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from .._methods import keyword_options
from ..align import ALIGNERS
from ..errors import InputError
from ..hdr import CALIBRATORS, MERGERS
from ..tonemap import TONEMAPPERS
from . import _common as common
from ._common import app, err, handle_errors

#: ``--calibrate`` choice that calibrates nothing: the camera is taken as linear.
NO_CALIBRATION = "linear"

#: ``merge``'s flags for merge options: {command parameter: the merge's keyword}. A flag given
#: for a merge that does not take its keyword is refused (``--deghost`` with ``ahdr``,
#: ``--model`` with ``debevec``); ``--calibrate`` and ``--curves`` make the ``response``.
FLAGS = {"calibrate": "response", "curves": "response", "weighting": "weighting",
         "deghost": "deghost", "mask_color": "mask", "model": "model", "tile": "tile"}


@app.command()
@handle_errors
def merge(
    ctx: typer.Context,
    images: common.Images,
    output: common.Output,
    times: Annotated[str | None, typer.Option(
        help="Exposure times in seconds, comma-separated (default: EXIF).")] = None,
    times_file: Annotated[Path | None, typer.Option(
        help="HDRgen-style list 'file seconds' per line (e.g. memorial.hdr_image_list.txt).")]
    = None,
    estimate_times: Annotated[bool, typer.Option(
        help="Estimate relative times from pixels when EXIF has none.")] = False,
    calibrate: Annotated[str, typer.Option(
        help=f"Camera response: {common.method_choices(CALIBRATORS, extra=(NO_CALIBRATION,))} "
        f"(no calibration: a linear camera); robertson needs ~1-stop steps.")] = "debevec",
    curves: Annotated[str, typer.Option(
        help="debevec calibration: shared (one curve for R, G, B; robust for JPEG brackets) or "
             "separate (one per channel, e.g. film scans such as Debevec's Memorial).")]
    = "shared",
    method: Annotated[str, typer.Option(
        help=f"Merge: {common.method_choices(MERGERS)} (debevec: log-domain average, robertson: "
        "linear, ahdr: a network for three frames of a moving scene, needs the torch extra and "
        "no calibration).")] = "debevec",
    model: Annotated[str | None, typer.Option(
        help="ahdr: shipped weights name (see expokit models; default ahdr_skt) or a .safetensors "
             "file.", show_default=False)] = None,
    tile: Annotated[int, typer.Option(help="ahdr: tile size in pixels (bounds memory).")] = 512,
    weighting: Annotated[str | None, typer.Option(
        help="Weighting: triangle, gaussian, uniform, tent_clipped (default: the method's, "
             "tent_clipped for debevec, gaussian for robertson).")]
    = None,
    deghost: Annotated[bool, typer.Option(help="Suppress moving content (ghosts).")] = False,
    align: Annotated[str, typer.Option(
        help=f"Align first: {common.method_choices({'none': None, **ALIGNERS})}.")] = "none",
    mask_color: Annotated[str | None, typer.Option(
        help="R,G,B code value marking invalid pixels, e.g. 0,0,255.")] = None,
    negative: common.Negative = "clip",
    overwrite: common.Overwrite = False,
) -> None:
    """Merge a bracket into a linear HDR radiance map (.exr, .hdr or float .tif).

    An option the chosen merge does not take is refused.

    Example: expokit merge shots/ -o scene.exr --calibrate debevec --deghost

    Learned: expokit merge a.jpg b.jpg c.jpg --times 1/400,1/100,1/25 --method ahdr -o x.exr
    """
    from ..bracket import Bracket, MissingExposureTimeError, parse_times, times_from_list
    from ..hdr import calibrate_and_merge, dynamic_range
    from ..io import write_image

    paths = common.bracket_paths(images)
    common.check_output(output, paths, overwrite=overwrite)
    if output.suffix.lower() not in (".exr", ".hdr", ".tif", ".tiff"):
        raise InputError(f"output {output.name}: HDR radiance needs .exr, .hdr or .tif")
    common.check_method("--calibrate", calibrate, CALIBRATORS, extra=(NO_CALIBRATION,))
    if curves not in ("shared", "separate"):
        raise InputError(f"--curves {curves!r}: choose shared or separate")
    common.check_method("--method", method, MERGERS)
    takes = set(keyword_options(MERGERS[method]) or ())
    merging = common.method_options(ctx, method, MERGERS[method], FLAGS)  # refuses given flags
    for keyword in ("response", "deghost", "mask"):  # set below from the flags' values
        merging.pop(keyword, None)
    calibration = common.method_options(ctx, calibrate, CALIBRATORS.get(calibrate),
                                 {"curves": "channels"})
    t = parse_times(times, len(paths), name="--times")
    if times_file is not None:
        if t is not None:
            raise InputError("give either --times or --times-file, not both")
        from_folder = len(images) == 1 and images[0].is_dir()
        paths, t = times_from_list(times_file, paths, only_listed=from_folder)
    if t is None:
        try:
            bracket = Bracket.from_files(paths, estimate=estimate_times,
                                         negative=common.negative_policy(negative))
        except MissingExposureTimeError as exc:  # the same message, with the CLI's options
            raise MissingExposureTimeError(
                exc.missing, "give the times in seconds (--times 1/60,1/15,1/4 or --times-file "
                "LIST) or let expokit estimate relative times (--estimate-times)") from None
        if estimate_times:
            _report_estimated_times(bracket)
    else:
        bracket = Bracket(common.read_frames(paths, negative), t, paths)
    frames = common.maybe_align(list(bracket.images), list(bracket.paths), align)  # type: ignore
    mask = common.parse_mask_color(mask_color, frames)
    # a tiled (learned) merge shows its own progress bar over tiles, which a spinner would hide
    busy = (contextlib.nullcontext() if "tile" in takes else err.status(
        f"merging ({method})" if "response" not in takes or calibrate == NO_CALIBRATION
        else f"calibrating ({calibrate}) and merging ({method})"))
    with busy:
        radiance = calibrate_and_merge(
            frames, bracket.exposure_times, method,  # type: ignore[arg-type]
            calibration=None if calibrate == NO_CALIBRATION else calibrate,  # type: ignore
            calibration_options=calibration, mask=mask, deghost=deghost, **merging)
    write_image(output, radiance, inputs=paths)
    dr = dynamic_range(radiance)
    err.print(f"wrote {output} ({radiance.shape[1]}x{radiance.shape[0]}, {len(paths)} "
              f"exposures, dynamic range {dr:,.0f}:1)")


def _report_estimated_times(bracket: Any) -> None:
    """One stderr line with the times ``--estimate-times`` found, if it found any (files with
    EXIF times keep them)."""
    if not bracket.times_estimated:
        return
    times = bracket.exposure_times / bracket.exposure_times[0]
    steps = np.diff(np.log2(times))
    listed = ", ".join(f"{p.name} {t:.3g}" for p, t in zip(bracket.paths, times, strict=True))
    err.print(f"estimated exposure times (relative to the shortest, sRGB response assumed; give "
              f"--times if known): {listed}; steps "
              + ", ".join(f"{v:+.2f}" for v in steps) + " EV", highlight=False, soft_wrap=True)



@app.command()
@handle_errors
def tonemap(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="Linear HDR image (.exr, .hdr, float .tif).")],
    output: common.Output,
    method: Annotated[str, typer.Option(
        help=f"Tone-mapping operator: {common.method_choices(TONEMAPPERS)}.")] = "reinhard",
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-p",
        help="Operator parameter NAME=VALUE (repeatable). " + common.method_help(
            TONEMAPPERS, exclude=("encoding",)))] = None,
    bit_depth: Annotated[int | None, typer.Option(
        help="8 or 16 bits for PNG/TIFF output (default 8; EXR/HDR are float).")] = None,
    negative: common.Negative = "clip",
    overwrite: common.Overwrite = False,
) -> None:
    """Tone-map a linear HDR image to a display-referred one.

    An option the operator does not take is refused.

    Example: expokit tonemap scene.exr -o scene.png --method drago -p bias=0.8
    """
    from ..io import read_image, write_image
    from ..tonemap import tonemap as run

    common.check_output(output, [image], overwrite=overwrite)
    common.check_method("--method", method, TONEMAPPERS)
    opts = common.method_options(ctx, method, TONEMAPPERS[method], {}, option)
    radiance = read_image(image, negative=common.negative_policy(negative))
    if radiance.dtype != np.float32:
        raise InputError(f"{image.name} is a {radiance.dtype} display image, not linear HDR "
                         "radiance: tone-map .exr, .hdr or float TIFF files")
    with err.status(f"tone mapping ({method})"):
        ldr = run(radiance, method=method, **opts)  # type: ignore[arg-type]
    write_image(output, ldr, bit_depth=bit_depth, inputs=[image])
    err.print(f"wrote {output} ({method})")
