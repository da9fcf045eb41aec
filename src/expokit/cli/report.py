"""``expokit report``: one static HTML page showing a batch output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ._common import Overwrite, app, err, handle_errors


@app.command()
@handle_errors
def report(
    dst: Annotated[Path, typer.Argument(help="The folder `expokit batch` wrote (holds "
                                        "manifest.json).", show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The page to write (.html). Default: DST/report.html.",
        show_default=False)] = None,
    eval_dir: Annotated[Path | None, typer.Option(
        "--eval", help="The folder `expokit eval` wrote for DST (results.json, results.csv). "
        "Default: DST/eval when it holds results.json.", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        help="Show only the first N brackets (sorted by name); the page grows by each "
        "bracket's images.", min=1, show_default=False)] = None,
    view_side: Annotated[int, typer.Option(
        help="Long side in pixels of the images in the slider and the zoom.", min=16,
        max=8192)] = 1024,
    overwrite: Overwrite = False,
) -> None:
    """Write one self-contained HTML page of a batch run: thumbnails, a before/after slider,
    zoom, the eval metrics with the best marked, a summary chart. It loads nothing and opens
    from file://.

    Example: expokit report out/ -o out/report.html --eval out/eval
    """
    from ..report import write_report_html

    target = output if output is not None else dst / "report.html"
    if target.suffix.lower() != ".html":
        raise InputError(f"-o {target}: the report is an HTML page; give a name ending in .html")
    if target.is_dir():
        raise InputError(f"-o {target} is a folder; give a file name inside it")
    if target.exists() and not overwrite:
        raise InputError(f"{target} exists: pass --overwrite to replace it, or choose another "
                         "name with -o")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    # started at the first bracket, so that a bad folder's error is the only line printed
    bar = Progress("brackets", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err, transient=True)
    task = bar.add_task("brackets", total=None)

    def advance(done: int, total: int) -> None:
        if done == 1:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        path = write_report_html(dst, target, eval_dir=eval_dir, limit=limit,
                                 view_side=view_side, overwrite=True, on_bracket=advance)
    finally:
        if bar.live.is_started:  # stop() on a bar never started prints an empty line
            bar.stop()
    size = path.stat().st_size / 1e6
    err.print(f"wrote {path} ({size:.1f} MB); open it in a browser", highlight=False,
              markup=False)
