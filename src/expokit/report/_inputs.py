"""What the report reads: the batch manifest, the eval results, and the brackets among the items.

Only plain data here (dicts, dataclasses); the images are read in :mod:`._images` and the page
is written in :mod:`._page`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bench.evaluate import best_of, read_rows
from ..errors import InputError


@dataclass(frozen=True)
class EvalResults:
    """What ``expokit eval`` wrote for a batch folder, as the report shows it.

    Attributes:
        folder: the eval folder.
        metrics: the metric names, in the order of results.json.
        mean: ``{method: {metric: mean}}`` (NaN where results.json has null).
        best: ``{metric: method or None}``: the best mean per column.
        higher_is_better: ``{metric: True/False, or None when the metric is not expokit's}``.
        n: ``{metric: number of brackets the means are over}``.
        per_bracket: ``{bracket: {method: {metric: value}}}`` from results.csv (empty without).
    """

    folder: Path
    metrics: list[str]
    mean: dict[str, dict[str, float]]
    best: dict[str, str | None]
    higher_is_better: dict[str, bool | None]
    n: dict[str, int] = field(default_factory=dict)
    per_bracket: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def _direction(metric: str) -> bool | None:
    from ..metrics import get_metric

    try:
        return get_metric(metric).higher_is_better
    except InputError:  # a metric this expokit does not know: no best is marked
        return None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else math.nan


def read_eval(folder: Path) -> EvalResults:
    """``folder/results.json`` (and ``results.csv`` when present) as :class:`EvalResults`.

    The best per metric is results.json's ``best`` where it names a method with a mean, else
    the best finite mean by the metric's direction (``expokit.metrics``' ``higher_is_better``).

    Raises:
        InputError: when results.json is missing, not JSON or lacks ``metrics``/``mean``, or
            results.csv is not an expokit eval CSV.
    """
    path = folder / "results.json"
    if not path.is_file():
        raise InputError(f"{folder} holds no results.json: give the folder `expokit eval` "
                         "wrote (--eval DIR), or leave --eval out")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc}); rerun `expokit eval`") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list) \
            or not isinstance(data.get("mean"), dict):
        raise InputError(f"{path} is not an expokit eval result (no 'metrics' list and 'mean' "
                         "table); rerun `expokit eval`")
    metrics = [str(m) for m in data["metrics"]]
    mean = {str(k): {m: _number((v or {}).get(m)) for m in metrics}
            for k, v in data["mean"].items()}
    given: dict[str, Any] = data["best"] if isinstance(data.get("best"), dict) else {}
    direction = {m: _direction(m) for m in metrics}
    best: dict[str, str | None] = {}
    for m in metrics:
        named = given.get(m)
        if named in mean and math.isfinite(mean[named][m]):
            best[m] = named
        else:
            best[m] = best_of({k: v[m] for k, v in mean.items()}, direction[m])
    n = {str(m): int(v) for m, v in (data.get("n") or {}).items()
         if isinstance(v, int | float)}
    return EvalResults(folder, metrics, mean, best, direction, n,
                       _read_eval_csv(folder / "results.csv", metrics))


def _read_eval_csv(path: Path, metrics: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """``{bracket: {method: {metric: value}}}`` from results.csv; empty when there is none."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in read_rows(path):  # no file: no rows; not an eval CSV: InputError
        if r.metric in metrics:
            out.setdefault(r.image, {}).setdefault(r.method, {})[r.metric] = r.value
    return out


@dataclass
class Bracket:
    """The items of one bracket: its inputs (relative to SRC, first appearance order), its
    successful results and its failures."""

    name: str
    inputs: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def group_brackets(items: list[dict[str, Any]]) -> list[Bracket]:
    """The manifest's items grouped by ``bracket``, sorted by name; items by (op, method)."""
    groups: dict[str, Bracket] = {}
    for item in sorted(items, key=lambda it: (str(it["bracket"]), str(it["op"]),
                                              str(it["method"]))):
        b = groups.setdefault(str(item["bracket"]), Bracket(str(item["bracket"])))
        for inp in item.get("inputs") or []:
            p = inp.get("path") if isinstance(inp, dict) else inp
            if p is not None and str(p) not in b.inputs:
                b.inputs.append(str(p))
        (b.results if item["status"] == "ok" else b.failed).append(item)
    return [groups[k] for k in sorted(groups)]
