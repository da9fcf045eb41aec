"""``expokit batch``: fuse, merge or correct every bracket of a folder tree, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..align import ALIGNERS
from ..errors import InputError
from ..fusion import FUSERS
from ..hdr import MERGERS
from . import _common as common
from ._common import EXIT_INPUT, app, err, handle_errors, out


@app.command()
@handle_errors
def batch(
    src: Annotated[Path, typer.Argument(help="Folder tree of photos (searched recursively).",
                                        show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Output folder: mirrors SRC's folders, holds manifest.json.")],
    op: Annotated[str, typer.Option(help="fuse, merge or correct (one task per bracket; "
                                    "correct: per photo).")] = "fuse",
    method: Annotated[str | None, typer.Option(
        help=f"fuse: {common.method_choices(FUSERS)} (default mertens); merge: "
             f"{common.method_choices(MERGERS)} (default debevec).", show_default=False)]
    = None,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-p", help="Method option NAME=VALUE (repeatable), as for fuse and merge.",
        show_default=False)] = None,
    weights: Annotated[str | None, typer.Option(
        help="fuse deepfuse/lut: weights name or .safetensors file; correct: UEC weights "
             "(default uec).", show_default=False)] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="Output format: png, jpg, tif (fuse, correct), exr, hdr, tif "
        "(merge); default png for fuse, exr for merge, the photo's own for correct.",
        show_default=False)] = None,
    bit_depth: Annotated[int | None, typer.Option(
        help="fuse: 8 or 16 bits for PNG/TIFF output (default 8).")] = None,
    align: Annotated[str, typer.Option(
        help=f"fuse, merge: align first: {common.method_choices({'none': None, **ALIGNERS})}.")]
    = "none",
    calibrate: Annotated[str, typer.Option(
        help="merge: camera response (debevec, robertson, linear).")] = "debevec",
    curves: Annotated[str | None, typer.Option(
        help="merge with debevec calibration: shared or separate.", show_default=False)]
    = None,
    estimate_times: Annotated[bool, typer.Option(
        help="merge: estimate relative times where EXIF has none.")] = False,
    deghost: Annotated[bool, typer.Option(help="merge: suppress moving content.")] = False,
    ev: Annotated[float | None, typer.Option(help="correct: target shift in stops.")] = None,
    reference: Annotated[Path | None, typer.Option(
        help="correct: the photo whose exposure to match.")] = None,
    mask_color: Annotated[str | None, typer.Option(
        help="fuse, merge: R,G,B code value marking invalid pixels.")] = None,
    max_gap: Annotated[float, typer.Option(
        help="Seconds between two shots (EXIF capture time) that start a new bracket, as for "
             "expokit info; inf: only size, kind and repeated exposure times split.")] = 2.0,
    bracket_size: Annotated[int | None, typer.Option(
        help="Shots per bracket, when the camera shot several brackets in a row.",
        show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: one per CPU core; 0: run here, one item after "
             "another).", show_default=False)] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (workers must see "
             "SRC and the output folder at the same paths).", show_default=False)] = None,
    threads: Annotated[int | None, typer.Option(
        help="Threads per item (default: CPU cores over local workers).",
        show_default=False)] = None,
    redo: Annotated[bool, typer.Option(help="Run every item again, even those done.")] = False,
    dry_run: Annotated[bool, typer.Option(
        help="Only list what would run and why (new, failed before, changed); write nothing.")]
    = False,
) -> None:
    """Fuse, merge or correct every bracket under SRC; rerun to resume.

    Brackets are grouped as expokit info groups them. One task per bracket runs on Dask
    distributed (pip install 'expokit[batch]'; without it, here, one after another). The
    manifest (OUTPUT/manifest.json) records each item's inputs and their SHA-256, parameters,
    output, status and error: a rerun skips what is done and redoes what changed or failed. A
    bad bracket never stops the others; the exit code is 2 when any failed.

    Example: expokit batch photos/ -o fused/ --op fuse --method mertens --workers 2

    Example: expokit batch shoots/ -o hdr/ --op merge --estimate-times --scheduler tcp://h:8786
    """
    from .._methods import parse_assignments
    from ..batch import BatchConfig, run_batch

    options = {k.replace("-", "_"): v for k, v in parse_assignments(
        option, flag="-p", example="sigma=0.2").items()}
    if weights is not None:
        if op == "fuse":
            options["weights"] = weights
        elif op != "correct":
            raise InputError("--weights is for fuse (deepfuse, lut) and correct; for merge "
                             "ahdr use -p model=NAME")
    config = BatchConfig(
        op=op, method=method, options=options if op != "correct" else {}, fmt=fmt,
        bit_depth=bit_depth, align=align, mask_color=mask_color, calibrate=calibrate,
        curves=curves, estimate_times=estimate_times, deghost=deghost,
        weights=weights if op == "correct" and weights is not None else "uec", ev=ev,
        reference=None if reference is None else str(reference), max_gap=max_gap,
        bracket_size=bracket_size)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=err, transient=True)
    task = None

    def planned(todo: int, done: int) -> None:
        nonlocal task
        err.print(f"{todo} item(s) to run, {done} up to date", highlight=False)
        if todo:
            bar.start()
            task = bar.add_task(f"{op}", total=todo)

    def finished(row: dict) -> None:
        if task is not None:
            bar.advance(task)
        if row["status"] != "ok":
            bar.console.print(f"[yellow]failed:[/] {escape(row['key'])}: "
                              f"{escape(str(row['error']))}", highlight=False)

    if dry_run:
        from collections import Counter

        summary = run_batch(src, output, config, workers=workers, scheduler=scheduler,
                            redo=redo, dry_run=True)
        for key, why in summary.to_run:
            out.print(f"would run {key}: {why}", highlight=False, markup=False)
        reasons = Counter(why for _, why in summary.to_run)
        err.print(f"{len(summary.to_run)} item(s) would run ("
                  + ", ".join(f"{n} {why}" for why, n in reasons.most_common())
                  + f"), {summary.up_to_date} up to date; {len(summary.skipped)} file(s) in no "
                  "item; nothing written", highlight=False)
        return
    try:
        summary = run_batch(src, output, config, workers=workers, scheduler=scheduler,
                            threads=threads, redo=redo, on_plan=planned, on_result=finished)
    finally:
        if bar.live.is_started:  # stop() on a bar never started prints an empty line
            bar.stop()
    if summary.runner:
        err.print(f"ran on: {summary.runner}", highlight=False)
    for path, why in summary.skipped:
        err.print(f"  not in an item: {path}: {why}", highlight=False, markup=False)
    err.print(f"{summary.done} done, {len(summary.failed)} failed, {summary.up_to_date} up to "
              f"date; manifest: {output / 'manifest.json'}", highlight=False)
    if summary.failed:
        for key, why in summary.failed:
            err.print(f"[bold red]failed:[/] {escape(key)}: {escape(why)}", highlight=False)
        raise typer.Exit(EXIT_INPUT)
