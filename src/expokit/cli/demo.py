"""``expokit demo``: the whole pipeline on a built-in synthetic scene."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import app, err, handle_errors, out


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

