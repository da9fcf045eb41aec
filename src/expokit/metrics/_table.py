"""The table of metric facts: :class:`MetricInfo` and :data:`METRICS`.

Each metric module defines its own small ``INFO: dict[str, MetricInfo]``; :data:`METRICS`
merges the modules listed in :data:`_SOURCES`, in that order. Adding a module is one entry
in that tuple (no folder scanning, no string-to-class registry).

How :func:`expokit.metrics.score` calls a metric depends on its ``kind``:

* ``"full_reference"``: ``function(fused, reference, *, data_range=..., **options)``
* ``"hdr"``: ``function(hdr, reference, **options)`` (linear radiance; no ``data_range``)
* ``"fusion"``: ``function(fused, sources, *, data_range=..., **options)``; a metric defined
  for a fixed number of sources (``n_sources=2``: MEFB's edge metrics such as Qabf) gets the
  darkest and the brightest source when more are given (:func:`expokit.metrics.extreme_pair`)
* ``"blind"``: ``function(fused, *, data_range=..., **options)``; metrics with a
  ``checkpoint_env`` (MUSIQ, DBCNN) take their weights file as the ``checkpoint`` option

``data_range`` is passed only to functions that take a keyword of that name.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..errors import InputError

MetricKind = Literal["full_reference", "fusion", "hdr", "blind"]


@dataclass(frozen=True)
class MetricInfo:
    """The facts about one metric.

    Attributes:
        name: the key in :data:`METRICS` and the column name in result tables.
        function: the metric itself (see the module docstring for how each kind is called).
        higher_is_better: True when a larger value means a better image.
        kind: ``"full_reference"`` and ``"hdr"`` need a reference image, ``"fusion"`` needs the
            source exposures, ``"blind"`` needs only the image.
        range: nominal ``(lo, hi)`` of the value; None for an unbounded end.
        description: one line saying what is measured.
        reference: the paper that defines the metric (and the equation used).
        checkpoint_env: for metrics that need a user-supplied checkpoint (MUSIQ, DBCNN), the
            environment variable that holds its default path; the path itself is given as the
            ``checkpoint`` option. None for metrics that need none.
        n_sources: for fusion metrics defined for a fixed number of source exposures, that
            number (2 for MEFB's under/over-exposed pair metrics such as Qabf);
            :func:`expokit.metrics.score` then passes the darkest and the brightest of longer
            brackets. None for metrics that take any number.
    """

    name: str
    function: Callable[..., float]
    higher_is_better: bool
    kind: MetricKind
    range: tuple[float | None, float | None]
    description: str
    reference: str
    checkpoint_env: str | None = None
    n_sources: int | None = None

    @property
    def needs_checkpoint(self) -> bool:
        """True for learned metrics whose weights the user supplies (a checkpoint file)."""
        return self.checkpoint_env is not None

    @property
    def needs_reference(self) -> bool:
        """True for full-reference and HDR metrics."""
        return self.kind in ("full_reference", "hdr")

    @property
    def needs_sources(self) -> bool:
        """True for fusion metrics."""
        return self.kind == "fusion"


#: Modules of :mod:`expokit.metrics` whose ``INFO`` dicts make up :data:`METRICS`.
_SOURCES: tuple[str, ...] = (
    "fullref", "hdr", "mef", "mefb_info", "mefb_edge", "blind", "learned",
)


def _build() -> dict[str, MetricInfo]:
    table: dict[str, MetricInfo] = {}
    for module in _SOURCES:
        mod = importlib.import_module(f"expokit.metrics.{module}")
        info: dict[str, MetricInfo] | None = getattr(mod, "INFO", None)
        if not isinstance(info, dict):
            raise RuntimeError(
                f"expokit.metrics.{module} is listed in _SOURCES but defines no INFO dict"
            )
        for key, entry in info.items():
            if key in table:
                raise RuntimeError(f"metric {key!r} of module {module} is defined twice")
            if key != entry.name:
                raise RuntimeError(f"metric key {key!r} of module {module} names {entry.name!r}")
            table[key] = entry
    return table


_TABLE: dict[str, MetricInfo] | None = None


def metrics_table() -> dict[str, MetricInfo]:
    """:data:`METRICS`, built on first use (the metric modules import :class:`MetricInfo`
    from here, so the table cannot be built while this module is being imported)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _build()
    return _TABLE


#: Every metric expokit computes, by name (built on first access).
METRICS: dict[str, MetricInfo]


def __getattr__(name: str) -> object:
    if name == "METRICS":
        return metrics_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    table = metrics_table()
    try:
        return table[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name.lower(), list(table), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(
        f"unknown metric {name!r}{hint}; valid names: {', '.join(sorted(table))}"
    )
