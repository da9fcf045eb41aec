"""Benchmark harness: method x image x metric tables over MEF data sets (``expokit eval``)."""

from __future__ import annotations

from .datasets import LAYOUTS, EvalItem, detect_layout, load_dataset
from .evaluate import (
    Comparison,
    Row,
    compare,
    evaluate,
    fuse_items,
    markdown_table,
    mos_correlations,
    summarize,
)

__all__ = ["LAYOUTS", "Comparison", "EvalItem", "Row", "compare", "detect_layout", "evaluate",
           "fuse_items", "load_dataset", "markdown_table", "mos_correlations", "summarize"]
