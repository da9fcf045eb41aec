"""``expokit align``: align a bracket with a method from :data:`expokit.align.ALIGNERS`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from ..align import ALIGNERS, frame_motion
from ..errors import InputError
from . import _common as common
from ._common import app, err, handle_errors


@app.command("align")
@handle_errors
def align_cmd(
    ctx: typer.Context,
    images: common.Images,
    out_dir: Annotated[Path, typer.Option("--out-dir", "-d", help="Folder for aligned frames.")],
    method: Annotated[str, typer.Option(
        help=f"Alignment method: {common.method_choices(ALIGNERS)} (mtb: translation).")] = "mtb",
    reference: Annotated[int | None, typer.Option(
        help="Index (0-based) of the reference frame; default the middle one.")] = None,
    edges: Annotated[str, typer.Option(
        help="crop: cut every frame to the area all frames cover (one size, no made-up "
        "pixels); replicate: keep the full size and fill the border a moved frame leaves "
        "uncovered by repeating its nearest pixel.")] = "crop",
    quality: Annotated[int | None, typer.Option(
        help="JPEG quality (1-100) of frames that must be re-encoded; default: each "
        "file's own quality, estimated from its quantisation table.")] = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-p", help="Method option NAME=VALUE (repeatable). " + common.method_help(
            ALIGNERS, exclude=("reference", "paths", "edges")), show_default=False)] = None,
    overwrite: common.Overwrite = False,
) -> None:
    """Align the frames of a bracket and write them with their original names.

    A frame that needs no change (the reference, and any frame that did not move when no crop
    is needed) is copied byte for byte. Moved or cropped frames are written in their own
    format with their EXIF (JPEG at the source's own quality unless --quality says otherwise).
    The residual is the mean absolute greyscale difference to the reference after exposure
    matching, as a fraction of full scale: the same unit for every method. An option the
    method does not take is refused.

    Example: expokit align IMG_*.jpg -d aligned/ --method homography
    """
    from ..align import align
    from ..io import copy_file, jpeg_quality, write_image

    common.check_method("--method", method, ALIGNERS)
    options = common.method_options(ctx, method, ALIGNERS[method], {}, option,
                             exclude=("reference", "paths", "edges"))
    if edges not in ("crop", "replicate"):
        raise InputError(f"--edges {edges!r}: choose crop or replicate")
    if quality is not None and not 1 <= quality <= 100:
        raise InputError(f"--quality {quality}: give a JPEG quality from 1 to 100")
    paths = common.bracket_paths(images)
    targets = [out_dir / p.name for p in paths]
    for t in targets:
        common.check_output(t, paths, overwrite=overwrite)
    frames = common.read_frames(paths)
    with err.status(f"aligning ({method})"):
        res = align(frames, method=method, reference=reference, paths=paths,  # type: ignore
                    edges="replicate" if edges == "replicate" else "zero", **options)
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
        dx, dy, move = frame_motion(m, w, h)
        moved = not np.array_equal(m, np.eye(3))
        largest = max(largest, move)
        copy.append(not moved and not cropped)
        fmt = p.suffix.lower().lstrip(".").upper().replace("JPEG", "JPG")
        q = quality or (jpeg_quality(p) if fmt == "JPG" and not copy[-1] else None) or 95
        qualities.append(q)
        if copy[-1]:
            action = "copied"
        else:
            action = "+".join((["moved"] if moved else []) + (["cropped"] if cropped else [])
                              ) + f", {fmt}" + (f" q{q}" if fmt == "JPG" else "")
        residual = "ref" if i == res.reference else "n/a" if np.isnan(r) else f"{r:.4f}"
        table.add_row(p.name, f"{dx:+.2f}", f"{dy:+.2f}", f"{move:.2f}", residual, action)
    common.out.print(table)

    def note(text: str) -> None:
        common.out.print(text, highlight=False, soft_wrap=True)

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
            copy_file(p, t)
        else:
            write_image(t, np.ascontiguousarray(im[top:bottom, left:right]),
                        exif=common.first_exif(p), quality=q, inputs=paths)
    copies = sum(copy)
    err.print(f"wrote {len(targets)} aligned frames to {out_dir} ({copies} copied unchanged, "
              f"{len(targets) - copies} re-encoded)")


