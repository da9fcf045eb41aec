"""Method x image x metric evaluation with resumable CSV output and paper-style summaries.

Means that rank methods are taken over the same images: for each metric, only the images that
every compared method scored (finite value) count, and the images a method lacks are named
with the reason (no fused image, or the metric's error). See :func:`compare`.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .datasets import EvalItem

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

CSV_FIELDS = ("image", "method", "metric", "value", "note")
_CSV_FIELDS_V1 = ("image", "method", "metric", "value")  # before the note column; still read

#: ``Row.note`` of a two-source metric scored on a longer bracket (parsed by
#: :func:`source_pairs`).
_PAIR_NOTE = "darkest {}, brightest {}"
_PAIR_RE = re.compile(r"^darkest (.+), brightest (.+)$")


@dataclass(frozen=True)
class Row:
    """One score: ``metric`` of ``method``'s fused ``image``; NaN where it could not be computed.

    ``note`` says why a score is NaN (``"failed: <the metric's error>"``) or, for a two-source
    metric scored on a longer bracket, which shots it compared with
    (``"darkest a.png, brightest c.png"``); empty otherwise.
    """

    image: str
    method: str
    metric: str
    value: float
    note: str = ""


def read_rows(path: Path) -> list[Row]:
    """Rows of an earlier run's CSV (for resuming); an absent file gives none."""
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or tuple(reader.fieldnames) not in (CSV_FIELDS,
                                                                          _CSV_FIELDS_V1):
            raise InputError(f"{path} is not an expokit eval CSV (columns {reader.fieldnames}); "
                             "choose another --out folder")
        return [Row(r["image"], r["method"], r["metric"], float(r["value"]), r.get("note") or "")
                for r in reader]


def write_rows(path: Path, rows: Iterable[Row]) -> None:
    """All rows to ``path``, atomically (a crash keeps the previous complete file)."""
    from ..io import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for r in rows:
            writer.writerow((r.image, r.method, r.metric, repr(r.value), r.note))


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
    interrupted run restarts where it stopped; rows that failed (NaN) are computed again. A
    metric defined for two sources (Qabf, ...: :attr:`MetricInfo.n_sources`) gets the darkest
    and the brightest shot of a longer bracket (:func:`expokit.metrics.extreme_pair`), named in
    the row's ``note``. A metric that cannot score a pair gets NaN, ``note`` ``"failed: ..."``
    with its error, and a log warning.

    Returns:
        All rows, earlier ones included.
    """
    from ..io import read_image
    from ..metrics import extreme_pair, get_metric, score

    for m in metrics:  # unknown names and metrics these data cannot feed fail before any work
        if get_metric(m).needs_reference:
            raise InputError(f"{m} compares with a reference image, which exposure-fusion data "
                             "sets do not have: choose fusion or blind metrics "
                             "(expokit score --list)")
    table = {(r.image, r.method, r.metric): r for r in read_rows(csv_path)}
    pair_metrics = {m for m in metrics if get_metric(m).n_sources == 2}
    failures: dict[str, list[str]] = {}
    for item in items:
        sources: list[np.ndarray] | None = None
        pair_note = source_error = ""
        for method, fused_path in item.fused.items():
            todo = [m for m in metrics if not math.isfinite(
                table.get((item.name, method, m), Row("", "", "", math.nan)).value)]
            if todo and sources is None:
                try:
                    sources = [read_image(p) for p in item.sources]
                    if pair_metrics and len(sources) > 2:
                        dark, bright = extreme_pair(sources)
                        pair_note = _PAIR_NOTE.format(item.sources[dark].name,
                                                      item.sources[bright].name)
                except InputError as exc:
                    sources = []
                    source_error = str(exc)
            fused = None
            fused_error = ""
            if todo and sources:
                try:
                    fused = read_image(fused_path)
                except InputError as exc:
                    fused_error = str(exc)
            for m in todo:
                note = pair_note if m in pair_metrics else ""
                if not sources:
                    value, note = math.nan, f"failed: {source_error}"
                elif fused is None:
                    value, note = math.nan, f"failed: {fused_error}"
                else:
                    try:
                        value = score(fused, sources=sources, metrics=[m],
                                      options={m: options[m]} if options and m in options
                                      else None)[m]
                    except InputError as exc:
                        value, note = math.nan, f"failed: {exc}"
                if not math.isfinite(value):
                    note = note if note.startswith("failed:") else "failed: the metric gave NaN"
                    failures.setdefault(m, []).append(f"{item.name}/{method}: {note[8:]}")
                table[(item.name, method, m)] = Row(item.name, method, m, float(value), note)
            if todo:
                write_rows(csv_path, table.values())
            if advance:
                advance()
    for m, why in failures.items():
        log.warning("%s could not score %d image(s), e.g. %s", m, len(why), why[0])
    return list(table.values())


@dataclass(frozen=True)
class Comparison:
    """One metric's comparison of methods over the images that every method scored.

    Attributes:
        metric: the metric name.
        images: the images (bracket names) every method has a finite score for, the ones the
            means are taken over; ``len(images)`` is the ``n`` of the tables.
        total: how many images the data set (or the rows) holds.
        mean: ``{method: mean over images}``; NaN for every method when ``images`` is empty.
        sem: ``{method: standard error of that mean}`` (sample std / sqrt(n)); NaN for n < 2.
        mean_all: ``{method: mean over all the images it scored}``, which may be different
            images for different methods: informative, not for ranking.
        missing: ``{method: {image: reason}}`` for the images a method has no finite score
            for: ``"no fused image"``, ``"no score"`` or ``"failed: <the metric's error>"``.
        best: the method with the best ``mean`` (by the metric's direction); None when no
            image is common to all methods.
    """

    metric: str
    images: tuple[str, ...]
    total: int
    mean: dict[str, float]
    sem: dict[str, float]
    mean_all: dict[str, float]
    missing: dict[str, dict[str, str]]
    best: str | None


def compare(
    rows: Iterable[Row],
    metrics: Sequence[str] | None = None,
    *,
    items: Sequence[EvalItem] | None = None,
) -> dict[str, Comparison]:
    """Per metric, the methods' means over the images that every method scored.

    Args:
        rows: scores from :func:`evaluate` (or :func:`read_rows`).
        metrics: the metrics to compare; all metrics in ``rows`` by default.
        items: the data set. When given, its brackets are the images and its fused images the
            methods (rows of other images or methods are left out), and an image a method has
            no fused file for is reported as ``"no fused image"``. Otherwise the images and
            methods are those that appear in ``rows``.

    Returns:
        ``{metric: Comparison}`` in the order of ``metrics``.

    >>> rows = [Row("a", "X", "en", 7.0), Row("b", "X", "en", 5.0), Row("a", "Y", "en", 6.0)]
    >>> c = compare(rows)["en"]
    >>> c.images, c.mean, c.best, c.missing["Y"]
    (('a',), {'X': 7.0, 'Y': 6.0}, 'X', {'b': 'no score'})
    """
    from ..metrics import get_metric

    rows = list(rows)
    if metrics is None:
        metrics = list(dict.fromkeys(r.metric for r in rows))
    has: set[tuple[str, str]] | None = None
    if items is not None:
        images = [it.name for it in items]
        methods = sorted({k for it in items for k in it.fused})
        has = {(it.name, k) for it in items for k in it.fused}
        rows = [r for r in rows if (r.image, r.method) in has]
    else:
        images = sorted({r.image for r in rows})
        methods = sorted({r.method for r in rows})
    by = {(r.image, r.method, r.metric): r for r in rows}
    out = {}
    for m in metrics:
        scores: dict[str, dict[str, float]] = {k: {} for k in methods}
        missing: dict[str, dict[str, str]] = {k: {} for k in methods}
        for k in methods:
            for img in images:
                r = by.get((img, k, m))
                if r is not None and math.isfinite(r.value):
                    scores[k][img] = r.value
                elif r is not None:
                    missing[k][img] = r.note or "failed"
                elif has is not None and (img, k) not in has:
                    missing[k][img] = "no fused image"
                else:
                    missing[k][img] = "no score"
        common = tuple(img for img in images if methods and all(img in scores[k]
                                                                 for k in methods))
        mean, sem, mean_all = {}, {}, {}
        for k in methods:
            v = np.array([scores[k][i] for i in common], dtype=np.float64)
            mean[k] = float(v.mean()) if v.size else math.nan
            sem[k] = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size >= 2 else math.nan
            own = list(scores[k].values())
            mean_all[k] = float(np.mean(own)) if own else math.nan
        best = None
        if common:
            pick = max if get_metric(m).higher_is_better else min
            best = pick(methods, key=mean.__getitem__)
        out[m] = Comparison(m, common, len(images), mean, sem, mean_all, missing, best)
    return out


def summarize(rows: Iterable[Row], *, common: bool = True) -> dict[str, dict[str, float]]:
    """``{method: {metric: mean}}``.

    Args:
        rows: scores from :func:`evaluate`.
        common: True (default) to average each metric over the images that every method
            scored (:func:`compare`), so that the means can be compared; False for each
            method's mean over all the images it scored (NaN scores left out), which may be
            different images for different methods.
    """
    rows = list(rows)
    if common:
        cmp = compare(rows)
        methods = sorted({r.method for r in rows})
        return {k: {m: c.mean[k] for m, c in cmp.items()} for k in methods}
    acc: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        acc.setdefault(r.method, {}).setdefault(r.metric, []).append(r.value)
    return {method: {m: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
                     for m, v in per.items()} for method, per in acc.items()}


def source_pairs(rows: Iterable[Row]) -> dict[str, list[str]]:
    """``{image: [darkest, brightest]}``: the shots two-source metrics compared with, for the
    brackets of more than two shots (read from the rows' notes)."""
    out: dict[str, list[str]] = {}
    for r in rows:
        found = _PAIR_RE.match(r.note)
        if found:
            out.setdefault(r.image, [found[1], found[2]])
    return dict(sorted(out.items()))


def best_of(values: Mapping[str, float], higher_is_better: bool | None) -> str | None:
    """The key with the best finite value (ties: the first), None when none or no direction.

    >>> best_of({"a": 2.0, "b": 1.0, "c": float("nan")}, False)
    'b'
    """
    finite = {k: v for k, v in values.items() if math.isfinite(v)}
    if not finite or higher_is_better is None:
        return None
    pick = max if higher_is_better else min
    return pick(finite, key=finite.__getitem__)


def markdown_table(summary: dict[str, dict[str, float]], metrics: Sequence[str], *,
                   comparison: Mapping[str, Comparison] | None = None) -> str:
    """Mean per method and metric as a markdown table, the best of each column in bold.

    Args:
        summary: ``{method: {metric: mean}}`` (:func:`summarize`).
        metrics: the columns, in order.
        comparison: :func:`compare`'s result for these means. When given, a last row says over
            how many images each column's means are (``n of total``; ``not ranked`` and no bold
            where no image is common to all methods), the best is the one it names, and a list
            below the table names the images each method lacks, with the reason.
    """
    from ..metrics import get_metric

    methods = sorted(summary)
    best: dict[str, str | None] = {}
    for m in metrics:
        if comparison is not None and m in comparison:
            best[m] = comparison[m].best
            continue
        found = best_of({k: summary[k].get(m, math.nan) for k in methods},
                        get_metric(m).higher_is_better)
        if found is not None:
            best[m] = found
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
    if comparison is None:
        return "\n".join(lines) + "\n"
    cells = []
    for m in metrics:
        c = comparison.get(m)
        if c is None:
            cells.append("")
        else:
            cells.append(f"{len(c.images)} of {c.total}" + ("" if c.images else ": not ranked"))
    lines.append("| images (n) | " + " | ".join(cells) + " |")
    lines += ["", "Each column's means are over the n images that every method scored, so they "
              "compare like with like (`mean_all_images` in results.json has each method's "
              "mean over all its own images)."]
    lacks = _missing_by_method({m: comparison[m] for m in metrics if m in comparison})
    if lacks:
        lines += ["", "Missing or failed images (left out of every method's mean for that "
                  "metric):", ""]
        for k, entries in lacks.items():
            for (img, why), ms in entries.items():
                lines.append(f"- {k}, {img}: {_short(why, 200)} ({', '.join(ms)})")
    return "\n".join(lines) + "\n"


def _short(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _missing_by_method(
    comparison: Mapping[str, Comparison],
) -> dict[str, dict[tuple[str, str], list[str]]]:
    """``{method: {(image, reason): [metrics]}}`` for the methods that lack any image."""
    out: dict[str, dict[tuple[str, str], list[str]]] = {}
    for m, c in comparison.items():
        for k, per in c.missing.items():
            for img, why in per.items():
                out.setdefault(k, {}).setdefault((img, why), []).append(m)
    return dict(sorted(out.items()))


def missing_warnings(comparison: Mapping[str, Comparison], *, limit: int = 3) -> list[str]:
    """One line per method that lacks images, and one per metric no image is common to.

    For the CLI's warnings: ``"dark lacks 1 of 2 images: scene1 (no fused image) [mef_ssim]"``.
    """
    total = max((c.total for c in comparison.values()), default=0)
    lines = []
    for k, entries in _missing_by_method(comparison).items():
        images = sorted({img for img, _ in entries})
        shown = [f"{img} ({_short(why, 120)}) [{', '.join(ms)}]"
                 for (img, why), ms in list(entries.items())[:limit]]
        more = len(entries) - limit
        lines.append(f"{k} lacks {len(images)} of {total} images: " + "; ".join(shown)
                     + (f"; {more} more in results.json" if more > 0 else ""))
    for m, c in comparison.items():
        if not c.images:
            lines.append(f"{m}: no image was scored by every method, so its methods are not "
                         "ranked")
    return lines


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


def plot_means(comparison: Mapping[str, Comparison], metrics: Sequence[str]) -> Figure:
    """One panel per metric: each method's mean ± standard error, the best marked.

    The means are over the images every method scored (:func:`compare`). Each panel's y axis is
    zoomed to its data (means and error bars, plus a margin of 8 % of their span), not started
    at 0: differences of 0.01 between methods stay visible. Markers, not bars, since a bar's
    length from a cut axis would mislead.

    Returns:
        The matplotlib figure (not shown or saved; ``fig.axes`` holds one axes per metric).
    """
    from matplotlib.figure import Figure

    from ..metrics import get_metric

    methods = sorted({k for m in metrics for k in comparison[m].mean})
    fig = Figure(figsize=(max(6.0, 0.6 * len(methods)), 2.8 * len(metrics)))
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    x = np.arange(len(methods))
    for ax, m in zip(axes, metrics, strict=True):
        c = comparison[m]
        y = np.array([c.mean.get(k, math.nan) for k in methods])
        e = np.array([c.sem.get(k, math.nan) for k in methods])
        e = np.where(np.isfinite(e), e, 0.0)
        ok = np.isfinite(y)
        arrow = "↑" if get_metric(m).higher_is_better else "↓"
        ax.set_title(f"{m} {arrow}: mean ± s.e. over the n = {len(c.images)} of {c.total} "
                     "images every method scored", fontsize=9)
        if ok.any():
            ax.errorbar(x[ok], y[ok], yerr=e[ok], fmt="o", color="#4c72b0", capsize=3)
            if c.best is not None:
                i = methods.index(c.best)
                ax.errorbar([x[i]], [y[i]], yerr=[e[i]], fmt="D", markersize=8, capsize=4,
                            color="#dd8452", label=f"best: {c.best}")
                ax.legend(loc="best", fontsize=8)
            lo, hi = float(np.min((y - e)[ok])), float(np.max((y + e)[ok]))
            pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 1e-3, 1e-6)
            ax.set_ylim(lo - pad, hi + pad)
        else:
            ax.text(0.5, 0.5, "no image was scored by every method: not ranked",
                    transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks(x, methods, rotation=60, ha="right", fontsize=8)
        ax.set_xlim(-0.5, len(methods) - 0.5)
        ax.set_ylabel(m)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def save_plots(comparison: Mapping[str, Comparison], metrics: Sequence[str], rows: list[Row],
               items: Sequence[EvalItem], folder: Path) -> list[Path]:
    """``bars.png`` (:func:`plot_means`); metric-vs-MOS scatter where MOS exists."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    written = []
    fig = plot_means(comparison, metrics)
    target = folder / "bars.png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
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
    """results.json, table.md and plots for ``items`` and ``metrics``; returns what was written.

    Only the rows of these items' fused images and of these metrics are reported (a resumed
    CSV may hold more). results.json holds, per metric, ``n`` and the ``images`` the means are
    over (those every method scored), ``best``, per method ``mean`` (over those images),
    ``sem`` (its standard error), ``mean_all_images`` (over all the images the method scored:
    not comparable across methods) and ``missing`` (``{image: reason}``), ``source_pairs``
    (the darkest and brightest shot two-source metrics used, per bracket of more than two
    shots) and ``mos_correlation``.
    """
    from ..io import atomic_path
    from ..metrics import get_metric

    has = {(it.name, k) for it in items for k in it.fused}
    wanted = set(metrics)
    rows = [r for r in rows if r.metric in wanted and (r.image, r.method) in has]
    cmp = compare(rows, metrics, items=items)
    methods = sorted({k for it in items for k in it.fused})
    summary = {k: {m: cmp[m].mean[k] for m in metrics} for k in methods}
    table = markdown_table(summary, metrics, comparison=cmp)
    pairs = source_pairs(rows)
    two = [m for m in metrics if get_metric(m).n_sources == 2]
    if two and pairs:
        table += (f"\n{', '.join(two)}: defined for two sources; each bracket of more than two "
                  "shots gave its darkest and its brightest shot (by mean luma; "
                  "`source_pairs` in results.json).\n")
    corr = mos_correlations(rows, items)

    def clean(v: float) -> float | None:  # NaN (no score) becomes null: JSON has no NaN
        return v if math.isfinite(v) else None

    out = {}
    with atomic_path(folder / "table.md") as tmp:
        tmp.write_text(table)
    out["table"] = folder / "table.md"
    with atomic_path(folder / "results.json") as tmp:
        result = {
            "metrics": list(metrics),
            "n": {m: len(cmp[m].images) for m in metrics},
            "total_images": len(items),
            "images": {m: list(cmp[m].images) for m in metrics},
            "best": {m: cmp[m].best for m in metrics},
            "mean": {k: {m: clean(cmp[m].mean[k]) for m in metrics} for k in methods},
            "sem": {k: {m: clean(cmp[m].sem[k]) for m in metrics} for k in methods},
            "mean_all_images": {k: {m: clean(cmp[m].mean_all[k]) for m in metrics}
                                for k in methods},
            "missing": {k: {m: cmp[m].missing[k] for m in metrics if cmp[m].missing[k]}
                        for k in methods if any(cmp[m].missing[k] for m in metrics)},
            "source_pairs": pairs,
            "mos_correlation": corr,
        }
        tmp.write_text(json.dumps(result, indent=2))
    out["json"] = folder / "results.json"
    try:
        for p in save_plots(cmp, metrics, rows, items, folder):
            out[p.stem] = p
    except ImportError:
        log.warning("matplotlib is not installed: no plots (pip install matplotlib)")
    return out
