"""Method x image x metric evaluation with resumable CSV output and paper-style summaries."""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from .datasets import EvalItem

log = logging.getLogger(__name__)

CSV_FIELDS = ("image", "method", "metric", "value")


@dataclass(frozen=True)
class Row:
    """One score: ``metric`` of ``method``'s fused ``image``; NaN where it could not be computed."""

    image: str
    method: str
    metric: str
    value: float


def read_rows(path: Path) -> list[Row]:
    """Rows of an earlier run's CSV (for resuming); an absent file gives none."""
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or tuple(reader.fieldnames) != CSV_FIELDS:
            raise InputError(f"{path} is not an expokit eval CSV (columns {reader.fieldnames}); "
                             "choose another --out folder")
        return [Row(r["image"], r["method"], r["metric"], float(r["value"])) for r in reader]


def write_rows(path: Path, rows: Iterable[Row]) -> None:
    """All rows to ``path``, atomically (a crash keeps the previous complete file)."""
    from ..io import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for r in rows:
            writer.writerow((r.image, r.method, r.metric, repr(r.value)))


def fuse_items(items: Sequence[EvalItem], methods: Sequence[str], cache: Path,
               progress: Callable[[str], None] | None = None) -> list[EvalItem]:
    """Run expokit's own fusion ``methods`` on every item (results cached in ``cache``)."""
    from ..fusion import FUSERS
    from ..io import read_image, write_image

    unknown = [m for m in methods if m not in FUSERS]
    if unknown:
        raise InputError(f"unknown fusion method {unknown[0]!r}; expokit has "
                         + ", ".join(sorted(FUSERS)))
    out = []
    for item in items:
        fused = dict(item.fused)
        for m in methods:
            target = cache / f"{item.name}_expokit-{m}.png"
            if not target.is_file():
                if progress:
                    progress(f"fusing {item.name} ({m})")
                frames = [read_image(p) for p in item.sources]
                write_image(target, FUSERS[m](frames, paths=item.sources), inputs=item.sources)
            fused[f"expokit-{m}"] = target
        out.append(replace(item, fused=fused))
    return out


def evaluate(
    items: Sequence[EvalItem],
    metrics: Sequence[str],
    csv_path: Path,
    *,
    advance: Callable[[], None] | None = None,
    options: Mapping[str, Mapping[str, object]] | None = None,
) -> list[Row]:
    """Score every fused image of every item with every metric; resume from ``csv_path``.

    ``options`` holds extra keyword arguments per metric, as for
    :func:`expokit.metrics.score` (e.g. ``{"musiq": {"checkpoint": path}}``).

    Each finished (image, method) pair is written to ``csv_path`` at once (atomically), so an
    interrupted run restarts where it stopped. A metric that cannot score a pair (for
    example a two-source MEFB metric on a 9-exposure bracket) gets NaN and a log message.

    Returns:
        All rows, earlier ones included.
    """
    from ..metrics import get_metric, score

    for m in metrics:  # unknown names and metrics these data cannot feed fail before any work
        if get_metric(m).needs_reference:
            raise InputError(f"{m} compares with a reference image, which exposure-fusion data "
                             "sets do not have: choose fusion or blind metrics "
                             "(expokit score --list)")
    rows = read_rows(csv_path)
    done = {(r.image, r.method, r.metric) for r in rows}
    failures: dict[str, list[str]] = {}
    for item in items:
        for method, fused in item.fused.items():
            todo = [m for m in metrics if (item.name, method, m) not in done]
            for m in todo:
                try:
                    value = score(fused, sources=list(item.sources), metrics=[m],
                                  options=options)[m]
                except InputError as exc:
                    failures.setdefault(m, []).append(f"{item.name}/{method}: {exc}")
                    value = math.nan
                rows.append(Row(item.name, method, m, float(value)))
            if todo:
                write_rows(csv_path, rows)
            if advance:
                advance()
    for m, why in failures.items():
        log.warning("%s could not score %d image(s), e.g. %s", m, len(why), why[0])
    return rows


def summarize(rows: Iterable[Row]) -> dict[str, dict[str, float]]:
    """``{method: {metric: mean over images}}`` (NaN scores left out of the mean)."""
    acc: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        acc.setdefault(r.method, {}).setdefault(r.metric, []).append(r.value)
    return {method: {m: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
                     for m, v in per.items()} for method, per in acc.items()}


def markdown_table(summary: dict[str, dict[str, float]], metrics: Sequence[str]) -> str:
    """Mean per method and metric as a markdown table, the best of each column in bold."""
    from ..metrics import get_metric

    methods = sorted(summary)
    best = {}
    for m in metrics:
        vals = {k: summary[k].get(m, math.nan) for k in methods}
        finite = {k: v for k, v in vals.items() if math.isfinite(v)}
        if finite:
            pick = max if get_metric(m).higher_is_better else min
            best[m] = pick(finite, key=finite.__getitem__)
    arrows = ["↑" if get_metric(m).higher_is_better else "↓" for m in metrics]
    lines = ["| method | " + " | ".join(f"{m} {a}" for m, a in zip(metrics, arrows,
                                                                     strict=True)) + " |",
             "|---|" + "---:|" * len(metrics)]
    for k in methods:
        cells = []
        for m in metrics:
            v = summary[k].get(m, math.nan)
            text = "n/a" if not math.isfinite(v) else f"{v:.4f}"
            cells.append(f"**{text}**" if best.get(m) == k else text)
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def mos_correlations(rows: Iterable[Row], items: Sequence[EvalItem]) -> dict[str, dict[str, float]]:
    """Pearson and Spearman correlation of each metric with MOS over all scored images."""
    from scipy import stats

    mos = {(it.name, m): v for it in items for m, v in it.mos.items()}
    per: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        if (r.image, r.method) in mos and math.isfinite(r.value):
            xs, ys = per.setdefault(r.metric, ([], []))
            xs.append(r.value)
            ys.append(mos[(r.image, r.method)])
    out = {}
    for m, (x, y) in per.items():
        if len(x) >= 3 and np.std(x) > 0:
            out[m] = {"pearson": float(stats.pearsonr(x, y)[0]),
                      "spearman": float(stats.spearmanr(x, y)[0]), "n": len(x)}
    return out


def save_plots(summary: dict[str, dict[str, float]], metrics: Sequence[str], rows: list[Row],
               items: Sequence[EvalItem], folder: Path) -> list[Path]:
    """Bars of each metric's mean per method; metric-vs-MOS scatter where MOS exists."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    written = []
    methods = sorted(summary)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(6, 0.6 * len(methods)),
                                                       2.6 * len(metrics)), squeeze=False)
    for ax, m in zip(axes[:, 0], metrics, strict=True):
        ax.bar(methods, [summary[k].get(m, math.nan) for k in methods], color="#4c72b0")
        ax.set_ylabel(m)
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.tight_layout()
    target = folder / "bars.png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    written.append(target)
    mos = {(it.name, k): v for it in items for k, v in it.mos.items()}
    if mos:
        fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2),
                                 squeeze=False)
        for ax, m in zip(axes[0], metrics, strict=True):
            pts = [(r.value, mos[(r.image, r.method)]) for r in rows
                   if r.metric == m and (r.image, r.method) in mos and math.isfinite(r.value)]
            if pts:
                x, y = zip(*pts, strict=True)
                ax.scatter(x, y, s=8)
            ax.set_xlabel(m)
            ax.set_ylabel("MOS")
        fig.tight_layout()
        target = folder / "mos_scatter.png"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        written.append(target)
    return written


def write_report(rows: list[Row], items: Sequence[EvalItem], metrics: Sequence[str],
                 folder: Path) -> dict[str, Path]:
    """results.json (means, MOS correlations), table.md and plots; returns what was written."""
    from ..io import atomic_path

    summary = summarize(rows)
    table = markdown_table(summary, metrics)
    corr = mos_correlations(rows, items)
    out = {}
    with atomic_path(folder / "table.md") as tmp:
        tmp.write_text(table)
    out["table"] = folder / "table.md"
    with atomic_path(folder / "results.json") as tmp:
        # NaN (no score) becomes null: JSON has no NaN.
        clean = {k: {m: (v if math.isfinite(v) else None) for m, v in per.items()}
                 for k, per in summary.items()}
        tmp.write_text(json.dumps({"metrics": list(metrics), "mean": clean,
                                   "mos_correlation": corr}, indent=2))
    out["json"] = folder / "results.json"
    try:
        for p in save_plots(summary, metrics, rows, items, folder):
            out[p.stem] = p
    except ImportError:
        log.warning("matplotlib is not installed: no plots (pip install matplotlib)")
    return out
