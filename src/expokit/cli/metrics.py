"""``expokit score`` and ``expokit eval``: quality metrics of one image or a data set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InputError
from ._common import Negative, app, err, handle_errors, negative_policy, out


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
    dataset: Annotated[Path, typer.Argument(help="Data set folder (ma2015, mefb, an expokit "
                                            "batch output or one folder per bracket).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")],
    metrics: Annotated[str, typer.Option(
        "--metrics", "-m", help="Comma-separated metric names.")] = "mef_ssim,mef_ms_ssim",
    layout: Annotated[str, typer.Option(help="auto, ma2015, mefb, batch or folders.")]
    = "auto",
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
