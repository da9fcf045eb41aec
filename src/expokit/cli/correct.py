"""``expokit correct``: exposure correction of single photos (UEC)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..errors import InputError
from ._common import (
    Overwrite,
    app,
    check_output,
    err,
    expand,
    first_exif,
    handle_errors,
    need_torch,
    progress,
)


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
    from ..io import output_paths, read_image, write_image

    if reference is not None and ev is not None:
        raise InputError("give --reference or --ev, not both")
    need_torch("expokit correct")
    from ..correct import correct_exposure

    paths = expand(images)
    targets = output_paths(paths, output, several=len(images) > 1 or images[0].is_dir())
    for t in targets:
        check_output(t, paths, overwrite=overwrite)
    if len(set(targets)) < len(targets):
        raise InputError("two inputs share a file name, so their outputs would collide: "
                         "correct them in separate runs")
    for folder in {t.parent for t in targets}:
        folder.mkdir(parents=True, exist_ok=True)
    ref = read_image(reference) if reference is not None else None
    with progress(list(zip(paths, targets, strict=True)), "correcting",
                  disable=len(paths) < 2) as bar:
        for path, target in bar:
            img = read_image(path)
            fixed = correct_exposure(img, reference=ref, ev=ev, weights=weights, threads=threads)
            depth = 16 if img.dtype == np.uint16 else 8
            write_image(target, fixed, bit_depth=depth if target.suffix.lower() in (
                ".png", ".tif", ".tiff") else None, exif=first_exif(path), inputs=paths)
            err.print(f"wrote {target}", markup=False, highlight=False)

