"""``expokit fuse``: exposure fusion with a method from :data:`expokit.fusion.FUSERS`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..align import ALIGNERS
from ..fusion import FUSERS
from . import _common as common
from ._common import app, err, handle_errors

#: ``fuse``'s own flags for method options: {command parameter: the method's keyword}.
FLAGS = {"contrast": "contrast_weight", "saturation": "saturation_weight",
         "exposure": "exposure_weight", "sigma": "sigma", "weights": "weights", "tile": "tile",
         "threads": "threads", "model": "model"}


@app.command()
@handle_errors
def fuse(
    ctx: typer.Context,
    images: common.Images,
    output: common.Output,
    contrast: Annotated[float, typer.Option(help="mertens: contrast weight exponent.")] = 1.0,
    saturation: Annotated[float, typer.Option(
        help="mertens: saturation weight exponent.")] = 1.0,
    exposure: Annotated[float, typer.Option(
        help="mertens: well-exposedness weight exponent.")] = 1.0,
    sigma: Annotated[float, typer.Option(help="mertens: well-exposedness Gaussian width.")]
    = 0.2,
    align: Annotated[str, typer.Option(
        help=f"Align first: {common.method_choices({'none': None, **ALIGNERS})}.")] = "none",
    bit_depth: Annotated[int | None, typer.Option(
        help="8 or 16 bits for PNG/TIFF output (default 8; EXR/HDR are float).")] = None,
    threads: Annotated[int | None, typer.Option(help="Worker threads.")] = None,
    method: Annotated[str, typer.Option(
        help=f"Fusion method: {common.method_choices(FUSERS)} (deepfuse and hcmef need the "
             "torch extra; hcmef fuses the darkest and the brightest shot; lut is the learned "
             "look-up-table fusion, faster than mertens).")]
    = "mertens",
    weights: Annotated[str | None, typer.Option(
        help="deepfuse, lut: shipped weights name (default deepfuse, lut) or a .safetensors "
             "file.", show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        help="hcmef: shipped student weights name (see expokit models; default hcmef) or a "
             ".safetensors file.", show_default=False)] = None,
    tile: Annotated[int, typer.Option(help="deepfuse, hcmef: tile size in pixels.")] = 512,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-p", help="Method option NAME=VALUE (repeatable). "
        + common.method_help(FUSERS, exclude=("paths",)), show_default=False)] = None,
    mask_color: Annotated[str | None, typer.Option(
        help="R,G,B code value marking invalid pixels, e.g. 0,0,255: they are filled from the "
             "nearest exposure that has them before fusing.")] = None,
    negative: common.Negative = "clip",
    overwrite: common.Overwrite = False,
) -> None:
    """Fuse a bracket into one well-exposed image (Mertens, DeepFuse, HC-MEF, learned LUT).

    An option the chosen method does not take is refused.

    Example: expokit fuse IMG_1.jpg IMG_2.jpg IMG_3.jpg -o fused.jpg

    Example: expokit fuse under.jpg over.jpg --method hcmef --model hcmef -o fused.png

    Example: expokit fuse IMG_1.jpg IMG_2.jpg IMG_3.jpg --method lut -o fused.jpg
    """
    from ..fusion import fuse as run
    from ..io import write_image

    common.check_method("--method", method, FUSERS)
    options = common.method_options(ctx, method, FUSERS[method], FLAGS, option, exclude=("paths",))
    paths = common.bracket_paths(images)
    common.check_output(output, paths, overwrite=overwrite)
    frames = common.read_frames(paths, negative)
    frames = common.maybe_align(frames, paths, align)
    masks = common.parse_mask_color(mask_color, frames)
    if masks is not None:
        from ..fusion.masks import fill_masked

        err.print(f"  masked pixels filled: {sum(int(m.sum()) for m in masks):,}",
                  highlight=False)
        frames = fill_masked(frames, masks)
    with err.status(f"fusing ({method})"):
        fused = run(frames, method, paths=paths, **options)  # type: ignore[arg-type]
    write_image(output, fused, bit_depth=bit_depth, exif=common.first_exif(paths[0]), inputs=paths)
    used = ("the darkest and the brightest of " if method == "hcmef" and len(paths) > 2 else "")
    err.print(f"wrote {output} ({fused.shape[1]}x{fused.shape[0]}, fused from {used}"
              f"{len(paths)} exposures)")
