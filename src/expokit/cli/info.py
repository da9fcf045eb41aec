"""``expokit info``: describe images and the brackets among them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import app, expand, handle_errors, out


@app.command()
@handle_errors
def info(
    paths: Annotated[list[Path], typer.Argument(help="Image files or one folder.")],
    max_gap: Annotated[float, typer.Option(
        help="Seconds between two shots (EXIF capture time) that start a new bracket.")] = 2.0,
    bracket_size: Annotated[int | None, typer.Option(
        help="Shots per bracket, when the camera shot several brackets in a row.",
        show_default=False)] = None,
) -> None:
    """Describe images: size, bit depth, exposure; brackets found among them.

    Shots of one kind and size form a bracket; a capture-time gap over --max-gap seconds or a
    repeated exposure time starts a new one. expokit batch groups the same way.

    Example: expokit info shots/

    Example: expokit info edited/ --max-gap inf
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
        found = find_brackets(files, max_gap=max_gap, size=bracket_size)
        if found.groups:
            out.print(f"{len(found.groups)} bracket(s): " + "; ".join(
                f"{g[0].name}..{g[-1].name} ({len(g)})" for g in found.groups),
                highlight=False, markup=False)
        else:
            out.print("no brackets: a bracket is two or more exposures of one size and kind",
                      highlight=False)
        for f, why in found.skipped:
            out.print(f"  not in a bracket: {f.name}: {why}", highlight=False, markup=False)

