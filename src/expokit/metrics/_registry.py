"""The table of every metric, :data:`METRICS`, and :func:`get_metric`.

:data:`METRICS` is the union of the ``INFO`` dicts the metric modules declare beside their
functions (see :mod:`expokit.metrics._table` for :class:`MetricInfo` and how each kind of
metric is called), in the order below.
"""

from __future__ import annotations

import difflib

from ..errors import InputError
from . import blind, features, fullref, hdr, information, learned, mef, perceptual, structural
from ._table import MetricInfo, merge_tables

#: Every metric expokit computes, by name.
METRICS: dict[str, MetricInfo] = merge_tables(
    fullref.INFO,
    hdr.INFO,
    mef.INFO,
    information.INFO,
    features.INFO,
    structural.INFO,
    perceptual.INFO,
    blind.INFO,
    learned.INFO,
)


def get_metric(name: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``name``.

    Raises:
        InputError: for an unknown name, listing the valid ones and the closest match.

    >>> get_metric("psnr").higher_is_better
    True
    >>> get_metric("pnsr")
    Traceback (most recent call last):
    ...
    expokit.errors.InputError: unknown metric 'pnsr' (did you mean 'psnr'?); valid names: ...
    """
    if not isinstance(name, str):
        raise InputError(f"metric names are strings, got {type(name).__name__} {name!r}")
    try:
        return METRICS[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name.lower(), list(METRICS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(
        f"unknown metric {name!r}{hint}; valid names: {', '.join(sorted(METRICS))}"
    )
